import type { TriggerPosition } from './insertion';
import type { ScanPredict, TriggerScanOptions } from './trigger-scan';

/** The options a scan fills in with defaults when the caller leaves them out. */
export type ScanSettings = Required<
  Pick<
    TriggerScanOptions,
    | 'screeningInputs'
    | 'confirmationInputs'
    | 'confirmPerPosition'
    | 'nullWords'
    | 'falseAlarmRate'
    | 'minPinRate'
    | 'associationLevel'
    | 'referenceLevel'
    | 'minCleanConfidence'
    | 'batchSize'
  >
>;

/**
 * One trigger scan under way: its options and settings, the labels the model has named so far,
 * the batching of texts into predict calls with the counts of predictions made and failed, the
 * progress reported to the caller and the time each phase took. Created once per scan and handed
 * to each phase.
 */
export class ScanSession {
  /** The labels in the order the model first named them; grows as answers come in. */
  readonly labels: string[] = [];
  readonly timings: Record<string, number> = {};
  predictions = 0;
  failedPredictions = 0;
  private readonly labelIndex = new Map<string, number>();
  /** Texts answered so far, and the texts the scan plans to answer (revised as phases plan theirs). */
  private done = 0;
  private total = 0;
  // The clock is the caller's: a domain function reads none of its own.
  private readonly now: (() => number) | undefined;
  private phaseStart: number;

  constructor(
    readonly options: TriggerScanOptions,
    readonly settings: ScanSettings,
    readonly positions: TriggerPosition[],
  ) {
    this.now = options.clock;
    this.phaseStart = this.now?.() ?? 0;
  }

  /** Records the time since the previous phase ended, when the caller gave a clock. */
  phase(name: string): void {
    if (!this.now) return;
    const at = this.now();
    this.timings[name] = Math.round(at - this.phaseStart);
    this.phaseStart = at;
  }

  /** Plans `count` more texts to answer (fewer, when negative). */
  expect(count: number): void {
    this.total += count;
  }

  /** Tells the caller the scan is done. */
  finish(): void {
    this.options.onProgress?.(this.total, this.total);
  }

  /** Probabilities per label for each text; undefined for a failed answer. */
  async answer(predict: ScanPredict, texts: string[]): Promise<(Float64Array | undefined)[]> {
    const answers: (Float64Array | undefined)[] = [];
    for (let start = 0; start < texts.length; start += this.settings.batchSize) {
      const batch = texts.slice(start, start + this.settings.batchSize);
      const replies = await predict(batch);
      if (!Array.isArray(replies) || replies.length !== batch.length) {
        throw new Error(
          `trigger scan: predict returned ${Array.isArray(replies) ? replies.length : typeof replies} answers ` +
            `for ${batch.length} texts; it must answer every text, in order`,
        );
      }
      for (const reply of replies) {
        this.predictions++;
        const scores = reply?.scores;
        if (scores && Object.keys(scores).length > 0)
          for (const name of Object.keys(scores)) this.labelOf(name);
        if (reply?.label !== undefined) this.labelOf(reply.label);
        if (!reply || (reply.label === undefined && !(scores && Object.keys(scores).length > 0))) {
          this.failedPredictions++;
          answers.push(undefined);
          continue;
        }
        const probabilities = new Float64Array(this.labels.length + 4);
        if (scores && Object.keys(scores).length > 0) {
          for (const [name, score] of Object.entries(scores)) probabilities[this.labelOf(name)] = score;
        } else {
          probabilities[this.labelOf(reply.label!)] = 1;
        }
        answers.push(probabilities);
      }
      this.progress(batch.length);
    }
    return answers;
  }

  /** The label an answer gives: the most probable one. */
  argmax(probabilities: Float64Array): number {
    let best = 0;
    for (let i = 1; i < this.labels.length; i++) if (probabilities[i] > probabilities[best]) best = i;
    return best;
  }

  /** Cells per label kept for each stimulus and position: the labels known now, with room to spare. */
  labelSlots(): number {
    return Math.max(this.labels.length, 2) + 4;
  }

  private labelOf(name: string): number {
    let index = this.labelIndex.get(name);
    if (index === undefined) {
      index = this.labels.push(name) - 1;
      this.labelIndex.set(name, index);
    }
    return index;
  }

  private progress(count: number): void {
    this.done += count;
    this.options.onProgress?.(Math.min(this.done, this.total), this.total);
  }
}
