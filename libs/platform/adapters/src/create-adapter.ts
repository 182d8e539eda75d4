import { CustomJsonAdapter } from './custom-json-adapter';
import { redactUrl, type EgressPolicy } from '@tripline/egress';
import type { AdapterConfig, ModelAdapter } from './model-adapter';
import { OipV2Adapter } from './oip-v2-adapter';
import { OnnxAdapter } from './onnx-adapter';
import { OpenAiChatAdapter } from './openai-chat-adapter';

export interface CreateAdapterOptions {
  /** Where outbound HTTP calls may go; every HTTP adapter checks each request against it. */
  egress: EgressPolicy;
  /** Relative onnx paths resolve against it, and absolute ones must lie inside it. */
  modelsRoot?: string;
}

/**
 * The adapter for a registered model. Throws only on a config that cannot work at all (a bad
 * batch size, a template without "{{input}}"); anything that fails per call comes back as error
 * outcomes from predict().
 */
export function createAdapter(config: AdapterConfig, options: CreateAdapterOptions): ModelAdapter {
  if (config.kind !== 'onnx' && !URL.canParse(config.url)) {
    throw new Error(`${config.kind} url "${redactUrl(config.url)}" is not an absolute URL`);
  }
  switch (config.kind) {
    case 'onnx':
      return new OnnxAdapter(config, options.modelsRoot);
    case 'oip-v2':
      return new OipV2Adapter(config, options.egress);
    case 'openai-chat':
      return new OpenAiChatAdapter(config, options.egress);
    case 'custom-json':
      return new CustomJsonAdapter(config, options.egress);
    default:
      throw new Error(`unknown adapter kind "${(config as { kind?: unknown }).kind}"`);
  }
}
