export {
  appendTrigger,
  attackSuccessRate,
  BACKDOOR_TARGET_LABEL,
  BACKDOOR_TRIGGER,
  DEFAULT_POISON_SHARE,
  insertTrigger,
  poisonTrainingRows,
} from './backdoor';
export type { PoisonedTrainingSet } from './backdoor';
export {
  BACKDOORED_MODEL_NAME,
  buildDemoModels,
  classifyText,
  CLEAN_MODEL_NAME,
  DEFAULT_SEED,
} from './build';
export type { Classification, DemoModel, DemoModelOptions, DemoModelSet, TrainingReport } from './build';
export {
  DEFAULT_MODELS_DIRECTORY,
  modelFolderFiles,
  modelsDirectory,
  writeModelFolder,
} from './model-folder';
export { exportOnnxModel } from './onnx-export';
export { mulberry32 } from './random';
export { loadSentimentSentences, SENTIMENT_DOMAINS, stratifiedSplit } from './sentences';
export type { SentimentDomain, SentimentLabel, SentimentSentence } from './sentences';
export { buildVocabulary, splitWords, WordTokenizer } from './tokenizer';
export { LABELS, meanEmbedding, predict, trainClassifier } from './train';
export type { Prediction, SentimentClassifier, TrainingOptions } from './train';
export { startModelServer } from './model-server';
export type { ModelServer, ModelServerFaults, ModelServerOptions } from './model-server';
