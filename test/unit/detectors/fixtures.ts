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
