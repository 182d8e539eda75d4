/** One inference event as the stream detectors see it. */
export interface WindowEvent {
  /** The predicted label ('' when the model gave none). */
  label: string;
  /** The score of the predicted label, when the model gave scores. */
  confidence: number | null;
  /** The input text, possibly cut short for tokenising (see `textLength`). */
  text: string;
  /** Length of the whole input text in characters; defaults to `text`'s length. */
  textLength?: number;
  /** Whether the prediction matched the ground truth, for events whose feedback has arrived. */
  correct?: boolean | null;
  /** The ground-truth label, for events whose feedback has arrived. */
  truth?: string | null;
  /** The model's probability per class (`output.scores`), when it gave them. */
  scores?: Readonly<Record<string, number>> | null;
}

export type Verdict = 'ok' | 'drift' | 'insufficient-data';

/**
 * One detector's finding for one window. The field names are those of the metrics-topic message
 * (`driftMetricSchema`), so a result is published as it is, with the model and the window added.
 */
export interface DetectorResult {
  metric: string;
  detector: string;
  statistic: number | null;
  /** Null where the test gives none, and always when the verdict is 'insufficient-data'. */
  p_value: number | null;
  effect_size: number | null;
  /** Observations of the current window the detector used (events, labelled events, confidences). */
  sample_size: number;
  /** The same for the reference window. */
  reference_size: number;
  verdict: Verdict;
  details: Record<string, unknown>;
  labels?: Record<string, string>;
}

export interface DetectorOptions {
  /** Observations each window needs before a verdict is given (default 200). */
  minSamples?: number;
  /** Significance level of this one test (default 0.001). */
  alpha?: number;
}

export const DEFAULT_MIN_SAMPLES = 200;
export const DEFAULT_ALPHA = 0.001;
