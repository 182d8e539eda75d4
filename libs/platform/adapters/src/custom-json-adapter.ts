import { redactUrl, type EgressPolicy } from '@tripline/egress';
import { JsonHttpClient } from './http-client';
import { parseJsonPath, PathSegment, resolveJsonPath } from './json-path';
import type { AdapterConfig, ModelAdapter, Prediction, PredictionOutcome } from './model-adapter';

type CustomConfig = Extract<AdapterConfig, { kind: 'custom-json' }>;

export const INPUT_PLACEHOLDER = '{{input}}';

/**
 * The template with every "{{input}}" inside its strings replaced by the input. Done on the
 * parsed structure, so quotes, backslashes and newlines in the input end up JSON-escaped by
 * JSON.stringify rather than breaking the body or injecting fields into it.
 */
export function fillTemplate(template: unknown, input: string): unknown {
  if (typeof template === 'string') return template.split(INPUT_PLACEHOLDER).join(input);
  if (Array.isArray(template)) return template.map((item) => fillTemplate(item, input));
  if (template && typeof template === 'object') {
    return Object.fromEntries(
      Object.entries(template).map(([key, value]) => [key, fillTemplate(value, input)]),
    );
  }
  return template;
}

function hasPlaceholder(template: unknown): boolean {
  if (typeof template === 'string') return template.includes(INPUT_PLACEHOLDER);
  if (Array.isArray(template)) return template.some(hasPlaceholder);
  if (template && typeof template === 'object') return Object.values(template).some(hasPlaceholder);
  return false;
}

type Field = 'label' | 'scores' | 'text' | 'citations';
type Read = { ok: true; value: Omit<Prediction, 'latencyMs'>[Field] } | { ok: false; error: string };

function readScores(value: unknown): Record<string, number> | undefined {
  // Either {"positive": 0.9, ...} or [{"label": "positive", "score": 0.9}, ...].
  if (Array.isArray(value)) {
    const entries = value.map((item) => [item?.label, item?.score]);
    if (entries.every(([label, score]) => typeof label === 'string' && Number.isFinite(score))) {
      return Object.fromEntries(entries);
    }
    return undefined;
  }
  if (value && typeof value === 'object' && Object.values(value).every(Number.isFinite)) {
    return { ...(value as Record<string, number>) };
  }
  return undefined;
}

function readCitations(value: unknown): Prediction['citations'] {
  if (!Array.isArray(value)) return undefined;
  const citations: NonNullable<Prediction['citations']> = [];
  for (const item of value) {
    if (typeof item === 'string') {
      citations.push({ source: item });
      continue;
    }
    const source = item?.source ?? item?.url ?? item?.uri;
    if (typeof source !== 'string') return undefined;
    citations.push(typeof item.id === 'string' ? { id: item.id, source } : { source });
  }
  return citations;
}

function readField(field: Field, value: unknown): Read {
  switch (field) {
    case 'label':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: false, error: 'is not a string' };
    case 'scores': {
      const scores = readScores(value);
      return scores
        ? { ok: true, value: scores }
        : { ok: false, error: 'is not a map of label to number or a list of {label, score}' };
    }
    case 'text':
      return typeof value === 'string' ? { ok: true, value } : { ok: false, error: 'is not a string' };
    case 'citations': {
      const citations = readCitations(value);
      return citations
        ? { ok: true, value: citations }
        : { ok: false, error: 'is not a list of sources (strings or {id?, source|url})' };
    }
  }
}

/**
 * Any JSON-over-HTTP model: the body is built from a template and the answer read through
 * dot/bracket paths. One request per input.
 */
export class CustomJsonAdapter implements ModelAdapter {
  readonly kind = 'custom-json' as const;
  private readonly client: JsonHttpClient;
  private readonly paths: [Field, string, PathSegment[]][];
  private readonly shownUrl: string;

  constructor(
    private readonly config: CustomConfig,
    egress: EgressPolicy,
  ) {
    if (!hasPlaceholder(config.requestTemplate)) {
      throw new Error(`custom-json requestTemplate has no "${INPUT_PLACEHOLDER}" placeholder for the input`);
    }
    this.paths = (['label', 'scores', 'text', 'citations'] as const)
      .filter((field) => config.responsePaths[field] !== undefined)
      .map((field) => [field, config.responsePaths[field]!, parseJsonPath(config.responsePaths[field]!)]);
    if (this.paths.length === 0) {
      throw new Error('custom-json responsePaths names none of label, scores, text, citations');
    }
    this.client = new JsonHttpClient(config, egress);
    this.shownUrl = redactUrl(config.url);
  }

  async predict(inputs: readonly string[], options?: { signal?: AbortSignal }): Promise<PredictionOutcome[]> {
    return Promise.all(inputs.map((input) => this.call(input, options?.signal)));
  }

  private async call(input: string, signal?: AbortSignal): Promise<PredictionOutcome> {
    const started = performance.now();
    const method = this.config.method ?? 'POST';
    const response = await this.client.request(
      { method, url: this.config.url, body: fillTemplate(this.config.requestTemplate, input) },
      signal,
    );
    if (!response.ok) return { ok: false, error: response.error };
    const prediction: Prediction = { latencyMs: performance.now() - started };
    for (const [field, path, segments] of this.paths) {
      const found = resolveJsonPath(response.body, segments);
      if (!found.found || found.value === null) {
        return {
          ok: false,
          error: `${method} ${this.shownUrl}: the answer has no value at "${path}" (${field})`,
        };
      }
      const read = readField(field, found.value);
      if (!read.ok)
        return { ok: false, error: `${method} ${this.shownUrl}: "${path}" (${field}) ${read.error}` };
      Object.assign(prediction, { [field]: read.value });
    }
    if (prediction.label === undefined && prediction.scores) {
      const ranked = Object.entries(prediction.scores).sort((a, b) => b[1] - a[1]);
      if (ranked.length > 0) prediction.label = ranked[0][0];
    }
    return { ok: true, prediction };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
