import { accuracyDrift } from './accuracy';
import { confidenceDrift, textLengthDrift } from './distribution-drift';
import { estimatedAccuracy } from './estimated-accuracy';
import { estimatedMacroF1 } from './estimated-macro-f1';
import type { PerformanceEstimationOptions } from './performance-estimation';
import { predictionDrift } from './prediction-drift';
import { resolveOptions } from './result';
import { triggerResponse, type TriggerResponseOptions } from './trigger-response';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { outOfVocabularyDrift } from './vocabulary-drift';
import { asWindow, type EventWindow } from './window';

type Detector = (
  reference: EventWindow,
  current: EventWindow,
  options: DetectorOptions & TriggerResponseOptions & PerformanceEstimationOptions,
) => DetectorResult;

/** Every detector the stream runs on each window, in the order their results are published. */
export const STREAM_DETECTORS: readonly { metric: string; run: Detector }[] = [
  { metric: 'prediction_distribution', run: predictionDrift },
  { metric: 'confidence', run: confidenceDrift },
  { metric: 'input_text_length', run: textLengthDrift },
  { metric: 'input_oov_rate', run: outOfVocabularyDrift },
  { metric: 'accuracy', run: accuracyDrift },
  { metric: 'estimated_accuracy', run: estimatedAccuracy },
  { metric: 'estimated_macro_f1', run: estimatedMacroF1 },
  { metric: 'trigger_response', run: triggerResponse },
];

export interface StreamDriftOptions {
  /** Observations each window needs before a detector gives a verdict (default 200). */
  minSamples?: number;
  /**
   * Probability of a false drift verdict on any detector in one window (default 0.001). Each of
   * the detectors tests at alpha / (number of detectors) — Bonferroni, valid however the tests
   * depend on one another (they do: they share the events) — and the trigger-response test runs
   * Benjamini–Hochberg across its tokens at that same level.
   */
  alpha?: number;
  /** Settings of the trigger-response test other than alpha and minSamples. */
  trigger?: Omit<TriggerResponseOptions, 'alpha' | 'minSamples'>;
  /** Settings of the label-free performance estimates (CBPE) other than alpha and minSamples. */
  performance?: Omit<PerformanceEstimationOptions, 'alpha' | 'minSamples'>;
}

/**
 * Runs every stream detector on one window against its reference, with the false-alarm budget
 * split between them. The union bound then holds over time as well: over W stationary windows,
 * the chance of any false drift verdict is at most W × alpha.
 */
export function detectStreamDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: StreamDriftOptions = {},
): DetectorResult[] {
  const { minSamples, alpha } = resolveOptions(options);
  const perDetector = alpha / STREAM_DETECTORS.length;
  const ref = asWindow(reference);
  const cur = asWindow(current);
  return STREAM_DETECTORS.map(({ run }) => {
    const result = run(ref, cur, {
      ...options.trigger,
      ...options.performance,
      minSamples,
      alpha: perDetector,
    });
    result.details = { ...result.details, family_alpha: alpha, detectors_in_family: STREAM_DETECTORS.length };
    return result;
  });
}
