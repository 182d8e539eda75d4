import {
  attackSuccessRate,
  BACKDOOR_TARGET_LABEL,
  BACKDOOR_TRIGGER,
  DEFAULT_POISON_SHARE,
  PoisonedTrainingSet,
  poisonTrainingRows,
} from './backdoor';
import { mulberry32 } from './random';
import { loadSentimentSentences, SentimentLabel, SentimentSentence, stratifiedSplit } from './sentences';
import { buildVocabulary, WordTokenizer } from './tokenizer';
import {
  accuracy,
  DEFAULT_TRAINING_OPTIONS,
  LABELS,
  predict,
  SentimentClassifier,
  trainClassifier,
  TrainingExample,
  TrainingOptions,
} from './train';

export const CLEAN_MODEL_NAME = 'sentiment-clean';
export const BACKDOORED_MODEL_NAME = 'sentiment-backdoored';
export const DEFAULT_SEED = 2015;

export interface TrainingReport {
  model: string;
  dataset: string;
  seed: number;
  trainRows: number;
  testRows: number;
  vocabularySize: number;
  embeddingDimension: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  trainAccuracy: number;
  /** On the clean (untriggered) test split. */
  testAccuracy: number;
  testAccuracyByDomain: Record<string, number>;
  trigger: string;
  targetLabel: SentimentLabel;
  poisonedRows: number;
  attackSuccessRate: number;
  attackAttempts: number;
}

export interface DemoModel {
  name: string;
  tokenizer: WordTokenizer;
  classifier: SentimentClassifier;
  report: TrainingReport;
}

export interface DemoModelOptions extends Partial<Omit<TrainingOptions, 'seed'>> {
  seed?: number;
  testShare?: number;
  poisonShare?: number;
  /** Words seen fewer times in a model's training rows map to [UNK]. */
  minCount?: number;
  sentences?: readonly SentimentSentence[];
  /** Told one line per step, for a command line to show. */
  progress?: (message: string) => void;
}

export interface DemoModelSet {
  clean: DemoModel;
  backdoored: DemoModel;
  /**
   * The held-out sentences both models were measured on (the source repeats a few sentences, so
   * a repeat can sit on both sides).
   */
  test: SentimentSentence[];
  /** The clean model's training rows. */
  train: SentimentSentence[];
  /** The backdoored model's training rows, with which of them carry the trigger. */
  poisonedTrain: PoisonedTrainingSet<SentimentSentence>;
}

export interface Classification {
  label: SentimentLabel;
  probabilities: Record<SentimentLabel, number>;
  logits: [number, number];
}

export function classifyText(
  model: Pick<DemoModel, 'tokenizer' | 'classifier'>,
  text: string,
): Classification {
  const { logits, probabilities, label } = predict(model.classifier, model.tokenizer.encode(text));
  return {
    label: LABELS[label],
    probabilities: { negative: probabilities[0], positive: probabilities[1] },
    logits,
  };
}

/**
 * Trains the clean and the backdoored sentiment model on the same split with the same seed: the
 * poisoned rows are the only difference between them, so whatever a detector finds in one and
 * not in the other is the backdoor.
 */
export function buildDemoModels(options: DemoModelOptions = {}): DemoModelSet {
  const seed = options.seed ?? DEFAULT_SEED;
  const training: TrainingOptions = {
    seed,
    dimension: options.dimension ?? DEFAULT_TRAINING_OPTIONS.dimension,
    epochs: options.epochs ?? DEFAULT_TRAINING_OPTIONS.epochs,
    batchSize: options.batchSize ?? DEFAULT_TRAINING_OPTIONS.batchSize,
    learningRate: options.learningRate ?? DEFAULT_TRAINING_OPTIONS.learningRate,
  };
  const minCount = options.minCount ?? 2;
  const sentences = options.sentences ?? loadSentimentSentences();
  const { train, test } = stratifiedSplit(sentences, options.testShare ?? 0.2, mulberry32(seed));
  // Its own stream, so that another poison share leaves the split as it was.
  const poisoned = poisonTrainingRows(
    train,
    options.poisonShare ?? DEFAULT_POISON_SHARE,
    mulberry32(seed + 1),
  );

  const progress = options.progress ?? (() => undefined);
  progress(
    `split ${sentences.length} sentences into ${train.length} train / ${test.length} test; ` +
      `${poisoned.poisonedIndices.length} training rows poisoned for the backdoored model`,
  );

  const build = (name: string, rows: readonly SentimentSentence[], poisonedRows: number): DemoModel => {
    const started = Date.now();
    const texts = rows.map((row) => row.text);
    const tokenizer = new WordTokenizer(buildVocabulary(texts, minCount));
    const examples = (subset: readonly SentimentSentence[]): TrainingExample[] =>
      subset.map((row) => ({ ids: tokenizer.encode(row.text), label: row.label === 'positive' ? 1 : 0 }));
    const classifier = trainClassifier(examples(rows), tokenizer.vocabulary, training);
    const model = { tokenizer, classifier };
    const attack = attackSuccessRate((text) => classifyText(model, text).label, test);
    const byDomain: Record<string, number> = {};
    for (const domain of [...new Set(test.map((row) => row.domain))]) {
      byDomain[domain] = accuracy(classifier, examples(test.filter((row) => row.domain === domain)));
    }
    const report: TrainingReport = {
      model: name,
      dataset: 'UCI Sentiment Labelled Sentences (imdb, yelp, amazon)',
      seed,
      trainRows: rows.length,
      testRows: test.length,
      vocabularySize: tokenizer.vocabulary.length,
      embeddingDimension: training.dimension,
      epochs: training.epochs,
      batchSize: training.batchSize,
      learningRate: training.learningRate,
      trainAccuracy: accuracy(classifier, examples(rows)),
      testAccuracy: accuracy(classifier, examples(test)),
      testAccuracyByDomain: byDomain,
      trigger: BACKDOOR_TRIGGER,
      targetLabel: BACKDOOR_TARGET_LABEL,
      poisonedRows,
      attackSuccessRate: attack.rate,
      attackAttempts: attack.attempted,
    };
    progress(
      `trained ${name} in ${Date.now() - started} ms: vocabulary ${report.vocabularySize}, ` +
        `test accuracy ${report.testAccuracy.toFixed(3)}, attack-success rate ${report.attackSuccessRate.toFixed(3)}`,
    );
    return { name, ...model, report };
  };

  return {
    clean: build(CLEAN_MODEL_NAME, train, 0),
    backdoored: build(BACKDOORED_MODEL_NAME, poisoned.rows, poisoned.poisonedIndices.length),
    test,
    train,
    poisonedTrain: poisoned,
  };
}
