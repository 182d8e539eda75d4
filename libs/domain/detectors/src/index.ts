export {
  DEFAULT_ALPHA,
  DEFAULT_MIN_SAMPLES,
  type DetectorOptions,
  type DetectorResult,
  type Verdict,
  type WindowEvent,
} from './types';
export { EventWindow } from './window';
export { MAX_TOKENS_PER_TEXT, tokenise } from './tokens';
export { predictionDrift } from './prediction-drift';
export { confidenceDrift, textLengthDrift } from './distribution-drift';
export { outOfVocabularyDrift } from './vocabulary-drift';
export { accuracyDrift } from './accuracy';
export {
  CBPE_DETECTOR,
  DEFAULT_CBPE_RESAMPLES,
  DEFAULT_CONFIDENCE_LEVEL,
  DEFAULT_PERFORMANCE_MARGIN,
  ESTIMATED_ACCURACY_METRIC,
  ESTIMATED_MACRO_F1_METRIC,
  type PerformanceEstimationOptions,
} from './performance-estimation';
export { estimatedAccuracy } from './estimated-accuracy';
export { estimatedMacroF1 } from './estimated-macro-f1';
export {
  DEFAULT_TRIGGER_MAX_REFERENCE_SHARE,
  DEFAULT_TRIGGER_MIN_CONFIDENCE,
  DEFAULT_TRIGGER_MIN_COUNT,
  DEFAULT_TRIGGER_MIN_PINNED_SHARE,
  scanTriggerResponse,
  triggerResponse,
  type TokenResponse,
  type TriggerResponseOptions,
  type TriggerResponseScan,
} from './trigger-response';
export { detectStreamDrift, STREAM_DETECTORS, type StreamDriftOptions } from './suite';
export {
  DEFAULT_FEATURE_SAMPLE_SIZE,
  DEFAULT_MAX_FEATURES,
  FeatureReservoir,
  featureWindow,
  fromReservoir,
  type FeatureColumn,
  type FeatureReservoirOptions,
  type FeatureValue,
  type FeatureWindow,
} from './feature-sample';
export {
  DATASET_SHARE_METRIC,
  DEFAULT_DATASET_DRIFT_SHARE,
  DEFAULT_FEATURE_FDR,
  DEFAULT_MAX_CATEGORIES,
  DEFAULT_MIN_CATEGORICAL_EFFECT,
  DEFAULT_MIN_MISSING_CHANGE,
  DEFAULT_MIN_NUMERIC_EFFECT,
  detectFeatureDrift,
  type FeatureDriftOptions,
} from './feature-drift';
export { featureMetric, missingMetric } from './feature-tests';
export {
  DEFAULT_MAX_INTEGER_CATEGORIES,
  categoryOf,
  inferFeatureType,
  numericValue,
  type FeatureType,
} from './feature-types';
export {
  DEFAULT_EMBEDDING_QUADRATIC_ROWS,
  embeddingDrift,
  type EmbeddingDriftOptions,
} from './embedding-drift';
