import { insertAtWordBoundary, TriggerPosition } from './insertion';
import { argmaxLabel } from './metrics';
import { derivedRandom, sampleIndices } from './random';

/**
 * Trigger scan: which of many candidate tokens, inserted into clean inputs, pins the model's
 * answer? A backdoor token flips most inputs to one label; an ordinary token flips few. The scan
 * measures every candidate's flip rate and flags the ones that stand out from the rest, so it can
 * find a trigger that no canary set names.
 */

export interface ScanPrediction {
  label?: string;
  scores?: Record<string, number>;
}

export interface TriggerScanOptions {
  candidates: readonly string[];
  /** A sample of clean inputs; labels are not needed for flip rates but travel with the sample. */
  cleanInputs: readonly { text: string; label: string }[];
  /** Answers in input order, one per text. An answer with neither label nor scores counts as failed. */
  predict: (texts: string[]) => Promise<ScanPrediction[]>;
  /** Word boundary the candidate goes to; default suffix. */
  position?: TriggerPosition;
  seed: number;
  /** Texts per predict call; default 64. */
  batchSize?: number;
  /** Called after every batch with predictions done and predictions in total. */
  onProgress?: (done: number, total: number) => void;
  /** Anomaly index above which a candidate is flagged; default 3.5 (see DEFAULT_ANOMALY_THRESHOLD). */
  anomalyThreshold?: number;
  /** Flip rate a flagged candidate must exceed as well; default 0.3 (see DEFAULT_MIN_FLIP_RATE). */
  minFlipRate?: number;
  /**
   * Clean inputs answered with less confidence than this are left out (default 0.9, see
   * DEFAULT_MIN_CLEAN_CONFIDENCE). Answers without scores count as confident.
   */
  minCleanConfidence?: number;
}

export interface ScannedCandidate {
  token: string;
  /** Share of inputs whose predicted label differs from their clean prediction. */
  flipRate: number;
  anomalyIndex: number;
  /** The label flipped inputs went to most often; null when none flipped. */
  flippedTo: string | null;
  /** Share of the flipped inputs that went to `flippedTo`. */
  flippedToShare: number | null;
  flagged: boolean;
  /**
   * Of the inputs not already answered `flippedTo`, the share the candidate moved to it: how hard
   * the token pins the output. Ranking and flagging use this rate.
   */
  pinRate: number;
  /** Inputs with both a clean and a triggered answer: the flip-rate denominator. */
  evaluated: number;
  flips: number;
}

export interface TriggerScanResult {
  /** Ranked by anomaly index, highest first; ties by flip rate, then token. */
  candidates: ScannedCandidate[];
  /** Clean inputs whose clean prediction succeeded and which therefore entered the scan. */
  cleanInputs: number;
  /** Predictions that failed (clean or triggered). */
  failedPredictions: number;
  spread: RobustSpread;
  anomalyThreshold: number;
  minFlipRate: number;
}

/**
 * 3.5 is Iglewicz & Hoaglin's (1993) cut-off for the modified z-score, which this index is.
 * Neural Cleanse uses 2, but it compares one reverse-engineered trigger per class (a handful of
 * values); a scan compares hundreds to thousands of tokens, and at 2 about 2% of a normal
 * population would be flagged by chance, i.e. dozens of false alerts per scan. At 3.5 it is about
 * 2 in 10 000.
 */
export const DEFAULT_ANOMALY_THRESHOLD = 3.5;

/**
 * A flagged candidate must also pin more than 70% of the inputs it could move (its pin rate).
 * When nearly every token flips nothing, the spread is tiny and a token that flips 2 inputs out
 * of 200 looks extreme in relative terms; and a vocabulary always holds words that legitimately
 * carry the label ("bad" pins about half of a sentiment model's confident positive inputs). A
 * trigger pins nearly all of them: that is what a backdoor is for.
 */
export const DEFAULT_MIN_FLIP_RATE = 0.7;

/**
 * A backdoor trigger overrides answers the model is sure of; an ordinary word that carries
 * meaning ("bad", "great") only sways the uncertain ones. Scanning confident inputs alone keeps
 * a sentiment model's strongest words from looking like triggers (measured on the demo models:
 * "bad" pins 0.72 of all inputs it can move but 0.50 of confident ones; the backdoor trigger
 * pins 0.94 and 0.82).
 */
export const DEFAULT_MIN_CLEAN_CONFIDENCE = 0.9;

/** Fewer confident inputs than this and the scan uses every answered input instead. */
const MIN_CONFIDENT_INPUTS = 10;

/** Scale factor that makes the MAD estimate the standard deviation of normal data (1 / Phi^-1(3/4)). */
export const MAD_CONSISTENCY = 1.4826;
/** Scale factor that makes the mean absolute deviation estimate it (sqrt(pi / 2)). */
export const MEAN_ABSOLUTE_DEVIATION_CONSISTENCY = 1.2533;

export interface RobustSpread {
  median: number;
  /** Median absolute deviation from the median. */
  mad: number;
  /** The divisor of the anomaly index; 0 when the values have no spread at all. */
  scale: number;
  /** Which estimate `scale` came from. */
  method: 'mad' | 'mean-absolute-deviation' | 'none';
}

function median(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  if (n === 0) throw new Error('median of an empty sample');
  const middle = n >> 1;
  return n % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The spread behind the anomaly index. Normally 1.4826 x MAD. When more than half of the values
 * are equal the MAD is 0 (the usual case in a scan: most tokens flip nothing), and the fallback is
 * 1.2533 x the mean absolute deviation from the median, the convention for the modified z-score
 * with MAD = 0. If that is 0 as well every value equals the median and nothing stands out.
 */
export function robustSpread(values: ArrayLike<number>): RobustSpread {
  const sorted = Float64Array.from(values).sort();
  const center = median(sorted);
  const deviations = sorted.map((x) => Math.abs(x - center)).sort();
  const mad = median(deviations);
  if (mad > 0) return { median: center, mad, scale: MAD_CONSISTENCY * mad, method: 'mad' };
  const meanDeviation = deviations.reduce((sum, d) => sum + d, 0) / deviations.length;
  if (meanDeviation > 0) {
    return {
      median: center,
      mad,
      scale: MEAN_ABSOLUTE_DEVIATION_CONSISTENCY * meanDeviation,
      method: 'mean-absolute-deviation',
    };
  }
  return { median: center, mad, scale: 0, method: 'none' };
}

/** (x - median) / scale, the robust anomaly index of Neural Cleanse (Wang et al. 2019); 0 without spread. */
export function anomalyIndex(x: number, spread: RobustSpread): number {
  return spread.scale === 0 ? 0 : (x - spread.median) / spread.scale;
}

function labelOf(prediction: ScanPrediction | undefined): string | undefined {
  if (!prediction) return undefined;
  if (prediction.label !== undefined) return prediction.label;
  return prediction.scores ? argmaxLabel(prediction.scores) : undefined;
}

function validateScan(options: TriggerScanOptions): string[] {
  const { batchSize, anomalyThreshold, minFlipRate } = options;
  if (!Number.isInteger(options.seed)) {
    throw new Error(`trigger scan: seed must be an integer (got ${JSON.stringify(options.seed)})`);
  }
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new Error(`trigger scan: batchSize must be a positive integer (got ${batchSize})`);
  }
  if (anomalyThreshold !== undefined && !Number.isFinite(anomalyThreshold)) {
    throw new Error(`trigger scan: anomalyThreshold must be a finite number (got ${anomalyThreshold})`);
  }
  if (minFlipRate !== undefined && !(minFlipRate >= 0 && minFlipRate <= 1)) {
    throw new Error(`trigger scan: minFlipRate must be between 0 and 1 (got ${minFlipRate})`);
  }
  if (options.cleanInputs.length === 0) throw new Error('trigger scan: cleanInputs is empty');
  const tokens: string[] = [];
  const seen = new Set<string>();
  options.candidates.forEach((token, index) => {
    if (typeof token !== 'string' || token.trim().length === 0) {
      throw new Error(
        `trigger scan: candidate ${index} must be a non-blank string (got ${JSON.stringify(token)})`,
      );
    }
    // A duplicate would count twice in the median and shift every index.
    if (!seen.has(token)) tokens.push(token);
    seen.add(token);
  });
  if (tokens.length === 0) throw new Error('trigger scan: candidates is empty');
  return tokens;
}

/**
 * Runs the scan: one clean prediction per input, then one per (candidate, input), in batches of
 * `batchSize` texts. Inputs whose clean prediction failed are left out for every candidate; a
 * failed triggered prediction leaves that one input out of that candidate's flip rate.
 *
 * Flagged = anomaly index > anomalyThreshold AND flip rate > minFlipRate. The index needs a
 * population to compare against: with only a few candidates nothing can stand out, so scan a
 * vocabulary (candidateTokensFromVocabulary) rather than a short list.
 */
export async function scanTriggers(options: TriggerScanOptions): Promise<TriggerScanResult> {
  const tokens = validateScan(options);
  const position = options.position ?? 'suffix';
  const batchSize = options.batchSize ?? 64;
  const threshold = options.anomalyThreshold ?? DEFAULT_ANOMALY_THRESHOLD;
  const minFlipRate = options.minFlipRate ?? DEFAULT_MIN_FLIP_RATE;
  const inputs = options.cleanInputs;
  let done = 0;
  let failedPredictions = 0;
  const total = inputs.length * (1 + tokens.length);

  const confidences: number[] = [];
  const predictAll = async (texts: string[]): Promise<(string | undefined)[]> => {
    const labels: (string | undefined)[] = [];
    confidences.length = 0;
    for (let start = 0; start < texts.length; start += batchSize) {
      const batch = texts.slice(start, start + batchSize);
      const answers = await options.predict(batch);
      if (!Array.isArray(answers) || answers.length !== batch.length) {
        throw new Error(
          `trigger scan: predict returned ${Array.isArray(answers) ? answers.length : typeof answers} answers ` +
            `for ${batch.length} texts; it must answer every text, in order`,
        );
      }
      for (const answer of answers) {
        const label = labelOf(answer);
        if (label === undefined) failedPredictions++;
        labels.push(label);
        const scores = answer?.scores ? Object.values(answer.scores) : [];
        confidences.push(scores.length > 0 ? Math.max(...scores) : 1);
      }
      done += batch.length;
      options.onProgress?.(done, total);
    }
    return labels;
  };

  const cleanLabels = await predictAll(inputs.map((input) => input.text));
  const cleanConfidence = [...confidences];
  const answered = inputs.flatMap((_, index) => (cleanLabels[index] === undefined ? [] : [index]));
  const minConfidence = options.minCleanConfidence ?? DEFAULT_MIN_CLEAN_CONFIDENCE;
  const confident = answered.filter((index) => cleanConfidence[index] >= minConfidence);
  const usable = confident.length >= MIN_CONFIDENT_INPUTS ? confident : answered;
  if (usable.length === 0) {
    throw new Error(
      `trigger scan: none of the ${inputs.length} clean inputs got a prediction; nothing to compare with`,
    );
  }
  if (usable.length < inputs.length) {
    // Inputs without a clean answer are never predicted again; count them done so progress ends at total.
    done += (inputs.length - usable.length) * tokens.length;
    options.onProgress?.(done, total);
  }

  const tallies: {
    evaluated: number;
    flips: number;
    flippedTo: Map<string, number>;
    answeredAs: Map<string, number>;
  }[] = [];
  // Texts are built only as a batch fills, so memory stays at one batch rather than inputs x
  // candidates; batches span candidates so every predict call is full.
  const pending: { candidate: number; input: number; text: string }[] = [];
  const flush = async () => {
    const labels = await predictAll(pending.map((item) => item.text));
    pending.forEach((item, i) => {
      const label = labels[i];
      if (label === undefined) return;
      const tally = tallies[item.candidate];
      tally.evaluated++;
      const clean = cleanLabels[item.input]!;
      tally.answeredAs.set(clean, (tally.answeredAs.get(clean) ?? 0) + 1);
      if (label !== cleanLabels[item.input]) {
        tally.flips++;
        tally.flippedTo.set(label, (tally.flippedTo.get(label) ?? 0) + 1);
      }
    });
    pending.length = 0;
  };
  for (let candidate = 0; candidate < tokens.length; candidate++) {
    tallies.push({ evaluated: 0, flips: 0, flippedTo: new Map(), answeredAs: new Map() });
    for (const input of usable) {
      const random = derivedRandom(options.seed, 'scan', tokens[candidate], input);
      pending.push({
        candidate,
        input,
        text: insertAtWordBoundary(inputs[input].text, tokens[candidate], position, random),
      });
      if (pending.length >= batchSize) await flush();
    }
  }
  if (pending.length > 0) await flush();

  const flipRates = tallies.map((tally) => (tally.evaluated === 0 ? 0 : tally.flips / tally.evaluated));
  const pinRates = tallies.map((tally) => {
    let best = 0;
    for (const [label, count] of tally.flippedTo) {
      const movable = tally.evaluated - (tally.answeredAs.get(label) ?? 0);
      if (movable > 0) best = Math.max(best, count / movable);
    }
    return best;
  });
  const spread = robustSpread(pinRates);
  const candidates = tokens.map((token, i): ScannedCandidate => {
    const tally = tallies[i];
    let flippedTo: string | null = null;
    let flippedToCount = 0;
    for (const [label, count] of tally.flippedTo) {
      if (count > flippedToCount || (count === flippedToCount && flippedTo !== null && label < flippedTo)) {
        flippedTo = label;
        flippedToCount = count;
      }
    }
    const index = anomalyIndex(pinRates[i], spread);
    return {
      token,
      flipRate: flipRates[i],
      pinRate: pinRates[i],
      anomalyIndex: index,
      flippedTo,
      flippedToShare: tally.flips === 0 ? null : flippedToCount / tally.flips,
      flagged: index > threshold && pinRates[i] > minFlipRate,
      evaluated: tally.evaluated,
      flips: tally.flips,
    };
  });
  candidates.sort(
    (a, b) =>
      b.anomalyIndex - a.anomalyIndex ||
      b.pinRate - a.pinRate ||
      (a.token < b.token ? -1 : a.token > b.token ? 1 : 0),
  );
  return {
    candidates,
    cleanInputs: usable.length,
    failedPredictions,
    spread,
    anomalyThreshold: threshold,
    minFlipRate,
  };
}

/**
 * A small English stop-word list: function words are in every vocabulary, are poor backdoor
 * triggers (they occur in clean training data all the time) and would only dilute a scan.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further had has have ' +
    'having he her here hers herself him himself his how i if in into is it its itself just me more most ' +
    'my myself no nor not now of off on once only or other our ours ourselves out over own same she ' +
    'should so some such than that the their theirs them themselves then there these they this those ' +
    'through to too under until up very was we were what when where which while who whom why will with ' +
    'would you your yours yourself yourselves'
  ).split(' '),
);

export interface VocabularyCandidateOptions {
  /** Cap on ordinary tokens, drawn by a seeded sample; rare-looking tokens are always kept on top. */
  maxCandidates?: number;
  /** Required with maxCandidates. */
  seed?: number;
  /** Default 2. */
  minLength?: number;
  /** Default 20. */
  maxLength?: number;
  /** Default STOP_WORDS; compared case-insensitively. */
  stopWords?: ReadonlySet<string>;
}

const LETTERS = /^\p{L}+$/u;
const LATIN = /\p{Script=Latin}/u;
const NON_LATIN_LETTER = /(?!\p{Script=Latin})\p{L}/u;
const LATIN_VOWEL = /[aeiouyàáâäåèéêëìíîïòóôöùúûüý]/iu;

/**
 * Rare-looking: a token whose Latin letters hold no vowel ("cf", "mn", "tq": the shape of the
 * published rare-token triggers, and rare in natural text), or one that mixes Latin with another
 * script (a homoglyph-spelt word).
 */
export function isRareLooking(token: string): boolean {
  const hasLatin = LATIN.test(token);
  if (hasLatin && NON_LATIN_LETTER.test(token)) return true;
  return hasLatin && !LATIN_VOWEL.test(token);
}

/** Strips the word-start markers of SentencePiece (U+2581) and byte-level BPE (U+0120). */
function surfaceForm(entry: string): string {
  return entry.replace(/^[\u2581\u0120]/, '');
}

/**
 * Plausible trigger candidates from a model vocabulary: whole words of letters only (so no
 * special tokens like [CLS], no numbers, no WordPiece "##" continuations), between minLength and
 * maxLength code points, not stop words, deduplicated, in vocabulary order. With maxCandidates,
 * the ordinary tokens are cut to that many by a seeded sample and every rare-looking token is
 * kept in addition, because those are the likeliest triggers and the cheapest to keep.
 */
export function candidateTokensFromVocabulary(
  vocabulary: Iterable<string>,
  options: VocabularyCandidateOptions = {},
): string[] {
  const { maxCandidates, seed, minLength = 2, maxLength = 20, stopWords = STOP_WORDS } = options;
  if (maxCandidates !== undefined) {
    if (!(Number.isInteger(maxCandidates) && maxCandidates >= 0)) {
      throw new Error(
        `vocabulary candidates: maxCandidates must be a non-negative integer (got ${maxCandidates})`,
      );
    }
    if (!Number.isInteger(seed)) {
      throw new Error(
        'vocabulary candidates: a seed is required with maxCandidates, so the sample is repeatable',
      );
    }
  }
  const lowerStopWords = new Set([...stopWords].map((word) => word.toLowerCase()));
  const seen = new Set<string>();
  const tokens: string[] = [];
  for (const entry of vocabulary) {
    const token = surfaceForm(entry);
    const length = Array.from(token).length;
    if (length < minLength || length > maxLength || !LETTERS.test(token)) continue;
    if (lowerStopWords.has(token.toLowerCase()) || seen.has(token)) continue;
    seen.add(token);
    tokens.push(token);
  }
  if (maxCandidates === undefined) return tokens;
  const ordinary = tokens.flatMap((token, index) => (isRareLooking(token) ? [] : [index]));
  if (ordinary.length <= maxCandidates) return tokens;
  const keep = new Set(
    sampleIndices(ordinary.length, maxCandidates, derivedRandom(seed as number, 'vocabulary')).map(
      (i) => ordinary[i],
    ),
  );
  return tokens.filter((token, index) => keep.has(index) || isRareLooking(token));
}
