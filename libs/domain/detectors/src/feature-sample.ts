import { seededRandom, type Random } from '@tripline/drift';

/** One value of `input.features`, as the event contract allows it. */
export type FeatureValue = number | string | boolean | null;

/** Values kept per feature when the caller does not say (see `FeatureReservoir`). */
export const DEFAULT_FEATURE_SAMPLE_SIZE = 10_000;
/** Features tracked per model and window when the caller does not say. */
export const DEFAULT_MAX_FEATURES = 200;
/** Distinct names of untracked features remembered for the report; beyond this only counted. */
const MAX_DROPPED_NAMES = 1_000;
const DEFAULT_RESERVOIR_SEED = 0x7e47;

/** What a window holds of one feature: a uniform sample of its values and exact counts. */
export interface FeatureColumn {
  /** A uniform sample (at most the reservoir's capacity) of the values that were present (not null). */
  readonly values: readonly Exclude<FeatureValue, null>[];
  /** Events of the window that carried a non-null value: exact, not sampled. */
  readonly present: number;
}

export interface FeatureReservoirOptions {
  /** Values kept per feature (default 10,000). */
  capacity?: number;
  /** Features tracked (default 200): the first this many names met in the stream. */
  maxFeatures?: number;
  /** Seed of the replacement draws; the same stream and seed always keep the same values. */
  seed?: number;
}

/**
 * The features of one window, read one event at a time, in bounded memory.
 *
 * Each feature keeps a uniform random sample of its values by Vitter's Algorithm R: the first
 * `capacity` values are kept; the k-th value after them replaces a kept one, chosen uniformly, with
 * probability capacity / k. Every value of the stream then ends up in the sample with the same
 * probability, whatever the stream's length, and memory is at most capacity × maxFeatures values
 * (10,000 × 200 by default) however many events the window had: a window of 10^6 events costs the
 * same as one of 10^4. Counts of events and of present values are exact, so the missing-value rate
 * is not sampled. The draws come from a seeded generator and the caller feeds events in a fixed
 * order, so every replica keeps the same sample and publishes the same result.
 *
 * Features are tracked in the order their names are first met, up to `maxFeatures`; the names of
 * the others are reported as dropped, so that a model sending too many columns is told so rather
 * than silently half-monitored.
 */
export class FeatureReservoir {
  readonly capacity: number;
  readonly maxFeatures: number;
  private readonly random: Random;
  private readonly columns = new Map<string, { values: Exclude<FeatureValue, null>[]; present: number }>();
  private readonly dropped = new Set<string>();
  private droppedOverflow = false;
  private seen = 0;

  constructor(options: FeatureReservoirOptions = {}) {
    this.capacity = options.capacity ?? DEFAULT_FEATURE_SAMPLE_SIZE;
    this.maxFeatures = options.maxFeatures ?? DEFAULT_MAX_FEATURES;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`capacity must be a positive integer (got ${this.capacity})`);
    }
    if (!Number.isInteger(this.maxFeatures) || this.maxFeatures < 1) {
      throw new RangeError(`maxFeatures must be a positive integer (got ${this.maxFeatures})`);
    }
    this.random = seededRandom(options.seed ?? DEFAULT_RESERVOIR_SEED);
  }

  /** Reads one event's features; an event without features still counts (every feature is missing). */
  add(features: Readonly<Record<string, FeatureValue>> | null | undefined): void {
    this.seen++;
    if (!features) return;
    for (const name of Object.keys(features)) {
      const value = features[name];
      let column = this.columns.get(name);
      if (!column) {
        if (this.columns.size >= this.maxFeatures) {
          if (this.dropped.size < MAX_DROPPED_NAMES) this.dropped.add(name);
          else if (!this.dropped.has(name)) this.droppedOverflow = true;
          continue;
        }
        column = { values: [], present: 0 };
        this.columns.set(name, column);
      }
      if (value === null || value === undefined) continue;
      if (typeof value === 'number' && !Number.isFinite(value)) continue;
      column.present++;
      if (column.values.length < this.capacity) {
        column.values.push(value);
      } else {
        const slot = this.random.integer(column.present);
        if (slot < this.capacity) column.values[slot] = value;
      }
    }
  }

  /** Counts events that carried no features at all, without reading them one by one. */
  addWithoutFeatures(count: number): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be a whole number (got ${count})`);
    this.seen += count;
  }

  /** Events read, with or without features. */
  get events(): number {
    return this.seen;
  }

  /** The tracked features, by name. */
  features(): ReadonlyMap<string, FeatureColumn> {
    return this.columns;
  }

  /** Names met after `maxFeatures` were tracked (at most 1,000 listed), and whether there were more. */
  droppedFeatures(): { names: string[]; more: boolean } {
    return { names: [...this.dropped].sort(), more: this.droppedOverflow };
  }
}

/** A window's features as the feature-drift detector reads them. */
export interface FeatureWindow {
  /** Events in the window (the denominator of each feature's missing rate). */
  events: number;
  features: ReadonlyMap<string, FeatureColumn>;
  /** Feature names the window carried beyond the tracked maximum. */
  dropped?: readonly string[];
}

/** Samples a list of events' features into a window: convenient for tests and small windows. */
export function featureWindow(
  events: Iterable<Readonly<Record<string, FeatureValue>> | null | undefined>,
  options: FeatureReservoirOptions = {},
): FeatureWindow {
  const reservoir = new FeatureReservoir(options);
  for (const features of events) reservoir.add(features);
  return fromReservoir(reservoir);
}

export function fromReservoir(reservoir: FeatureReservoir): FeatureWindow {
  return {
    events: reservoir.events,
    features: reservoir.features(),
    dropped: reservoir.droppedFeatures().names,
  };
}
