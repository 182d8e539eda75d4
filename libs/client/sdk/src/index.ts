export { createRecorder } from './recorder';
export {
  RecorderError,
  RecordValidationError,
  type HttpTransportOptions,
  type ItemRejection,
  type KafkaTransportOptions,
  type OverflowPolicy,
  type RecordKind,
  type RecordedItem,
  type Recorder,
  type RecorderErrorReason,
  type RecorderLogger,
  type RecorderOptions,
  type RecorderStats,
  type TransportOptions,
} from './types';
export type { FeedbackInput, FieldError, InferenceEventInput } from '@tripline/contracts';
