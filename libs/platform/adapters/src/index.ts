export * from './model-adapter';
export { createAdapter } from './create-adapter';
export type { CreateAdapterOptions } from './create-adapter';
export { redactAdapterConfig } from './redaction';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_RETRIES,
  DEFAULT_TIMEOUT_MS,
  describeErrorBody,
  JsonHttpClient,
  Semaphore,
  withPath,
} from './http-client';
export { parseJsonPath, resolveJsonPath } from './json-path';
export { DEFAULT_ONNX_BATCH_SIZE, OnnxAdapter, resolveModelFolder } from './onnx-adapter';
export { OnnxRepresentations } from './onnx-representations';
export { DEFAULT_OIP_BATCH_SIZE, OipV2Adapter } from './oip-v2-adapter';
export { labelNamedIn, OpenAiChatAdapter } from './openai-chat-adapter';
export { CustomJsonAdapter, fillTemplate, INPUT_PLACEHOLDER } from './custom-json-adapter';
