import { parseRfc3339 } from './fields';
import { SCORE_SUM_TOLERANCE, type InferenceEvent } from './inference-event';
import { LIMITS } from './limits';

/**
 * A precompiled acceptance check for one schema: returns the schema's output for an input the
 * schema certainly accepts, and undefined for anything else — which does not mean "invalid", only
 * "ask the schema", so the schema (and findUnsafeValue) stay the one source of errors and of every
 * rule. It must never accept what they refuse: test/unit/inference-event-check.test.ts holds it to
 * that on the hostile-payload generator and on valid events of every shape.
 */
export type AcceptanceCheck<T> = (input: unknown) => T | undefined;

type Json = Record<string, unknown>;

// Control characters in an id; see identifier() in fields.ts.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
// NUL and every surrogate, paired or not: the rare text findUnsafeValue has to judge is left to it.
// eslint-disable-next-line no-control-regex
const NEEDS_A_CLOSER_LOOK = /[\u0000\uD800-\uDFFF]/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const text = (value: unknown, max: number): boolean =>
  typeof value === 'string' && value.length <= max && !NEEDS_A_CLOSER_LOOK.test(value);

const identifier = (value: unknown): boolean =>
  typeof value === 'string' &&
  value.length >= 1 &&
  value.length <= LIMITS.idLength &&
  !CONTROL_CHARACTERS.test(value) &&
  !NEEDS_A_CLOSER_LOOK.test(value);

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Keys of a bounded record (boundedRecord in fields.ts): length, count, no prototype keys. */
function recordOf(value: unknown, maxEntries: number, maxKeyLength: number, entry: (v: unknown) => boolean) {
  if (!isObject(value)) return false;
  let count = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) return false;
    if (++count > maxEntries) return false;
    if (!text(key, maxKeyLength) || FORBIDDEN_KEYS.has(key)) return false;
    if (!entry(value[key])) return false;
  }
  return true;
}

/** Only the listed keys, each at most once (JSON.parse keeps the last of duplicates, as the schema sees). */
function onlyKeys(value: Json, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

const EVENT_KEYS = new Set([
  'event_id',
  'model_id',
  'model_version',
  'timestamp',
  'input',
  'output',
  'latency_ms',
  'request_id',
  'rag',
  'metadata',
]);
const INPUT_KEYS = new Set(['text', 'features', 'embedding']);
const OUTPUT_KEYS = new Set(['label', 'scores', 'text']);
const RAG_KEYS = new Set(['documents']);
const DOCUMENT_KEYS = new Set(['id', 'source', 'score']);

const feature = (value: unknown) =>
  value === null || typeof value === 'boolean' || finite(value) || text(value, LIMITS.featureStringLength);

function checkInput(input: unknown): boolean {
  if (!isObject(input) || !onlyKeys(input, INPUT_KEYS)) return false;
  if (input.text !== undefined && !text(input.text, LIMITS.textLength)) return false;
  if (
    input.features !== undefined &&
    !recordOf(input.features, LIMITS.featureEntries, LIMITS.featureKeyLength, feature)
  )
    return false;
  if (input.embedding !== undefined) {
    const embedding = input.embedding;
    if (!Array.isArray(embedding) || embedding.length < 1 || embedding.length > LIMITS.embeddingDimension)
      return false;
    for (let i = 0; i < embedding.length; i++) if (!finite(embedding[i])) return false;
  }
  return true;
}

function checkScores(scores: unknown): boolean {
  let sum = 0;
  const probability = (value: unknown) => {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) return false;
    sum += value;
    return true;
  };
  return (
    recordOf(scores, LIMITS.scoreEntries, LIMITS.labelLength, probability) && !(sum > 1 + SCORE_SUM_TOLERANCE)
  );
}

function checkOutput(output: unknown): boolean {
  if (!isObject(output) || !onlyKeys(output, OUTPUT_KEYS)) return false;
  if (output.label !== undefined && !text(output.label, LIMITS.labelLength)) return false;
  if (output.scores !== undefined && !checkScores(output.scores)) return false;
  return output.text === undefined || text(output.text, LIMITS.textLength);
}

function checkRag(rag: unknown): boolean {
  if (!isObject(rag) || !onlyKeys(rag, RAG_KEYS)) return false;
  const documents = rag.documents;
  if (!Array.isArray(documents) || documents.length > LIMITS.ragDocuments) return false;
  for (const document of documents) {
    if (!isObject(document) || !onlyKeys(document, DOCUMENT_KEYS)) return false;
    if (!identifier(document.id)) return false;
    const source = document.source;
    if (!text(source, LIMITS.ragSourceLength) || (source as string).length === 0) return false;
    if (document.score !== undefined && !finite(document.score)) return false;
  }
  return true;
}

/** Epoch ms of an accepted event time (see eventTime in fields.ts), else undefined. */
function eventTimeMs(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') ms = parseRfc3339(value);
  else return undefined;
  if (!Number.isFinite(ms) || ms < LIMITS.minTimestampMs || ms > LIMITS.maxTimestampMs) return undefined;
  return Math.round(ms);
}

/**
 * inferenceEventSchema's acceptance, compiled by hand for the ingest hot path: about ten times
 * faster than the schema on a typical event. It takes a freshly parsed JSON value, which it owns:
 * the accepted event is that value with its timestamp normalised to epoch milliseconds, as the
 * schema's transform returns it.
 */
export const acceptInferenceEvent: AcceptanceCheck<InferenceEvent> = (input) => {
  if (!isObject(input) || !onlyKeys(input, EVENT_KEYS)) return undefined;
  if (!identifier(input.event_id) || !identifier(input.model_id)) return undefined;
  if (input.model_version !== undefined && !identifier(input.model_version)) return undefined;
  if (input.request_id !== undefined && !identifier(input.request_id)) return undefined;
  const timestamp = eventTimeMs(input.timestamp);
  if (timestamp === undefined) return undefined;
  if (input.input !== undefined && !checkInput(input.input)) return undefined;
  if (input.output !== undefined && !checkOutput(input.output)) return undefined;
  if (input.latency_ms !== undefined) {
    const latency = input.latency_ms;
    if (!finite(latency) || latency < 0 || latency > LIMITS.maxLatencyMs) return undefined;
  }
  if (input.rag !== undefined && !checkRag(input.rag)) return undefined;
  if (
    input.metadata !== undefined &&
    !recordOf(input.metadata, LIMITS.metadataEntries, LIMITS.metadataKeyLength, (value) =>
      text(value, LIMITS.metadataValueLength),
    )
  )
    return undefined;
  input.timestamp = timestamp;
  return input as unknown as InferenceEvent;
};
