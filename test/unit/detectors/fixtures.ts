import { seededRandom, type Random } from '@tripline/drift';
import type { WindowEvent } from '@tripline/detectors';

export interface TrafficShape {
  /** Share of events predicted 'positive' (the rest 'negative'). */
  positiveShare?: number;
  /** Confidence of each event, from the generator; default uniform on [0.6, 1). */
  confidence?: (random: Random) => number | null;
  /** Words per text: uniform on [min, max]. */
  words?: [number, number];
  /** Size of the word list texts are drawn from (a Zipf-like draw favours the first words). */
  vocabulary?: number;
  /** Prefix of the words, so that two shapes can use disjoint vocabularies. */
  wordPrefix?: string;
  /** Share of events whose feedback has arrived. */
  feedbackShare?: number;
  /** Accuracy on the events with feedback; `calibrated` draws correctness from the confidence. */
  accuracy?: number | 'calibrated';
}

/**
 * Constructed traffic: texts of synthetic words, labels, confidences and feedback drawn from a
 * seeded generator, so a test states the shape of its data and gets the same events every run.
 */
export function traffic(count: number, seed: number, shape: TrafficShape = {}): WindowEvent[] {
  const random = seededRandom(seed);
  const {
    positiveShare = 0.5,
    confidence = (r: Random) => 0.6 + 0.4 * r.next(),
    words = [6, 14],
    vocabulary = 400,
    wordPrefix = 'w',
    feedbackShare = 0,
    accuracy = 0.85,
  } = shape;
  return Array.from({ length: count }, () => {
    const length = words[0] + random.integer(words[1] - words[0] + 1);
    const text = Array.from({ length }, () => {
      // Zipf-like: the square of a uniform favours low word numbers, as natural text favours common words.
      const index = Math.floor(vocabulary * random.next() ** 2);
      return `${wordPrefix}${index}`;
    }).join(' ');
    const score = confidence(random);
    const event: WindowEvent = {
      label: random.next() < positiveShare ? 'positive' : 'negative',
      confidence: score,
      text,
    };
    if (random.next() < feedbackShare) {
      const p = accuracy === 'calibrated' ? (score ?? 0.5) : accuracy;
      event.correct = random.next() < p;
    }
    return event;
  });
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export interface ClassifierShape {
  /** The input x of each event (the covariate); default standard normal. */
  input?: (random: Random) => { x: number; truth?: 'pos' | 'neg' };
  /** True P(pos | x) for events whose class the input did not fix; default σ(2x). */
  posterior?: (x: number) => number;
  /** The model's score for pos; default σ(3x): right in ranking, overconfident in value. */
  score?: (x: number) => number;
  /** Share of events whose feedback has arrived (default all). */
  feedbackShare?: number;
}

/**
 * A binary classifier on one input whose true accuracy is known event by event: each event's
 * class is drawn from the true posterior (or fixed by the input generator, for label shift), the
 * model predicts the class its score favours, and gives both class probabilities. Returns the
 * events (feedback where it arrived) and every event's realised correctness.
 */
export function classifierTraffic(
  count: number,
  seed: number,
  shape: ClassifierShape = {},
): { events: WindowEvent[]; accuracy: number; macroF1: number } {
  const random = seededRandom(seed);
  const {
    input = (r: Random): { x: number; truth?: 'pos' | 'neg' } => ({ x: r.normal() }),
    posterior = (x: number) => sigmoid(2 * x),
    score = (x: number) => sigmoid(3 * x),
    feedbackShare = 1,
  } = shape;
  let correct = 0;
  const confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  const events = Array.from({ length: count }, (): WindowEvent => {
    const drawn = input(random);
    const truth = drawn.truth ?? (random.next() < posterior(drawn.x) ? 'pos' : 'neg');
    const p = score(drawn.x);
    const label = p >= 0.5 ? 'pos' : 'neg';
    if (label === truth) correct++;
    if (label === 'pos') confusion[truth === 'pos' ? 'tp' : 'fp']++;
    else confusion[truth === 'pos' ? 'fn' : 'tn']++;
    const labelled = random.next() < feedbackShare;
    return {
      label,
      confidence: Math.max(p, 1 - p),
      text: '',
      scores: { pos: p, neg: 1 - p },
      correct: labelled ? label === truth : null,
      truth: labelled ? truth : null,
    };
  });
  const f1 = (tp: number, fp: number, fn: number) => (2 * tp) / (2 * tp + fp + fn);
  return {
    events,
    accuracy: correct / count,
    macroF1:
      (f1(confusion.tp, confusion.fp, confusion.fn) + f1(confusion.tn, confusion.fn, confusion.fp)) / 2,
  };
}
