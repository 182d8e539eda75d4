import { redactUrl, type EgressPolicy } from '@tripline/egress';
import { JsonHttpClient, withPath } from './http-client';
import type { AdapterConfig, ModelAdapter, PredictionOutcome } from './model-adapter';

type ChatConfig = Extract<AdapterConfig, { kind: 'openai-chat' }>;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The configured label a reply names: the one whose first whole-word, case-insensitive mention
 * comes earliest ("Negative. It is not positive" names negative), the longer label on a tie. A
 * reply that names none has no label: the model answered, but not with a class.
 */
export function labelNamedIn(reply: string, labels: readonly string[]): string | undefined {
  let best: { label: string; index: number } | undefined;
  for (const label of labels) {
    if (label.trim() === '') continue;
    // Letters and digits on either side would make it part of another word ("positively").
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(label)}(?![\\p{L}\\p{N}])`, 'iu');
    const match = pattern.exec(reply);
    if (!match) continue;
    if (
      !best ||
      match.index < best.index ||
      (match.index === best.index && label.length > best.label.length)
    ) {
      best = { label, index: match.index };
    }
  }
  return best?.label;
}

/**
 * An OpenAI-compatible chat completions endpoint, one request per input at temperature 0 so that
 * a replay asks the same question the same way each time.
 */
export class OpenAiChatAdapter implements ModelAdapter {
  readonly kind = 'openai-chat' as const;
  private readonly client: JsonHttpClient;
  private readonly endpoint: string;
  private readonly systemPrompt?: string;

  constructor(
    private readonly config: ChatConfig,
    egress: EgressPolicy,
  ) {
    this.client = new JsonHttpClient(config, egress);
    this.endpoint = withPath(config.url, '/chat/completions');
    this.systemPrompt =
      config.systemPrompt ??
      (config.labels?.length
        ? `Classify the user's message. Answer with exactly one of these words: ${config.labels.join(', ')}.`
        : undefined);
  }

  async predict(inputs: readonly string[], options?: { signal?: AbortSignal }): Promise<PredictionOutcome[]> {
    // The client's semaphore keeps at most `concurrency` of these in flight.
    return Promise.all(inputs.map((input) => this.complete(input, options?.signal)));
  }

  private async complete(input: string, signal?: AbortSignal): Promise<PredictionOutcome> {
    const started = performance.now();
    const messages = [
      ...(this.systemPrompt ? [{ role: 'system', content: this.systemPrompt }] : []),
      { role: 'user', content: input },
    ];
    const response = await this.client.request(
      { method: 'POST', url: this.endpoint, body: { model: this.config.model, messages, temperature: 0 } },
      signal,
    );
    if (!response.ok) return { ok: false, error: response.error };
    const latencyMs = performance.now() - started;
    const content = (response.body as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]
      ?.message?.content;
    if (typeof content !== 'string') {
      return {
        ok: false,
        error: `POST ${redactUrl(this.endpoint)}: the answer has no choices[0].message.content text`,
      };
    }
    const label = this.config.labels ? labelNamedIn(content, this.config.labels) : undefined;
    return { ok: true, prediction: { text: content, ...(label === undefined ? {} : { label }), latencyMs } };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
