import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { HttpError, send } from './model-server-http';
import type { SwappableModel } from './swappable-model';

/**
 * The three protocols the HTTP adapters speak, each answering from the same swappable model
 * under the same public name: Open Inference Protocol v2, OpenAI chat completions (the label word
 * as the reply) and a custom JSON route.
 */

export const VERSION = '1';

/** OIP v2 model metadata; the labels are named here only, not in an inference response. */
export function metadata(name: string, model: SwappableModel) {
  return {
    name,
    versions: [VERSION],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      {
        name: 'scores',
        datatype: 'FP32',
        shape: [-1, model.labels.length],
        parameters: { labels: model.labels },
      },
    ],
    parameters: { labels: model.labels },
  };
}

/** OIP v2 infer: one BYTES input "text"; outputs "label" and "scores" (one row per text). */
export async function infer(
  name: string,
  model: SwappableModel,
  body: unknown,
  response: http.ServerResponse,
): Promise<void> {
  const request = body as {
    id?: unknown;
    inputs?: { name?: unknown; datatype?: unknown; data?: unknown }[];
  };
  if (!Array.isArray(request.inputs) || request.inputs.length !== 1) {
    throw new HttpError(400, 'expected exactly one input tensor named "text"');
  }
  const [input] = request.inputs;
  if (input?.name !== 'text')
    throw new HttpError(400, `unexpected input "${input?.name}"; this model takes "text"`);
  if (input.datatype !== 'BYTES')
    throw new HttpError(400, `input "text" must be BYTES, not ${input.datatype}`);
  const texts = Array.isArray(input.data) ? input.data.flat(Infinity) : undefined;
  if (!texts || !texts.every((text) => typeof text === 'string')) {
    throw new HttpError(400, 'input "text" data must be a list of strings');
  }
  const results = await model.classify(texts as string[]);
  send(response, 200, {
    model_name: name,
    model_version: VERSION,
    id: typeof request.id === 'string' ? request.id : randomUUID(),
    outputs: [
      {
        name: 'label',
        datatype: 'BYTES',
        shape: [results.length],
        data: results.map((result) => result.label),
      },
      {
        name: 'scores',
        datatype: 'FP32',
        shape: [results.length, model.labels.length],
        data: results.flatMap((result) => Object.values(result.scores)),
      },
    ],
  });
}

/** OpenAI chat completions: classifies the last user message and replies with the label word. */
export async function chat(
  name: string,
  model: SwappableModel,
  body: unknown,
  response: http.ServerResponse,
): Promise<void> {
  const request = body as { model?: unknown; messages?: { role?: unknown; content?: unknown }[] };
  if (request.model !== name) {
    send(response, 404, {
      error: {
        message: `The model "${String(request.model)}" does not exist; this server serves "${name}"`,
        type: 'invalid_request_error',
        code: 'model_not_found',
      },
    });
    return;
  }
  const user = Array.isArray(request.messages)
    ? request.messages.filter((message) => message?.role === 'user').at(-1)
    : undefined;
  if (typeof user?.content !== 'string')
    throw new HttpError(400, 'expected a user message with text content');
  const [result] = await model.classify([user.content]);
  send(response, 200, {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: name,
    choices: [{ index: 0, message: { role: 'assistant', content: result.label }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 0, completion_tokens: 1, total_tokens: 1 },
  });
}

/** Custom JSON: {"text"} -> {"result": {"label", "probs"}}. */
export async function predict(
  model: SwappableModel,
  body: unknown,
  response: http.ServerResponse,
): Promise<void> {
  const text = (body as { text?: unknown }).text;
  if (typeof text !== 'string') throw new HttpError(400, 'expected {"text": "..."}');
  const [result] = await model.classify([text]);
  send(response, 200, { result: { label: result.label, probs: result.scores } });
}
