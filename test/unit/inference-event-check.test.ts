import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  acceptInferenceEvent,
  inferenceEventSchema,
  LIMITS,
  SCORE_SUM_TOLERANCE,
  validateJson,
} from '@tripline/contracts';
import { hostilePayloads, validPayloads, HOSTILE_LOOKING_MODEL_IDS } from '../support/hostile-payloads';

/** The answer with the precompiled check in front, and the schema's own answer, for the same bytes. */
const bothWays = (bytes: Buffer | string) => ({
  fast: validateJson(inferenceEventSchema, bytes, acceptInferenceEvent),
  schema: validateJson(inferenceEventSchema, bytes),
});

const full = {
  event_id: 'e-1',
  model_id: 'm-1',
  model_version: 'v3',
  timestamp: '2026-02-28T23:59:59.5+01:00',
  input: {
    text: 'the food was great',
    features: { age: 42, country: 'FR', member: true, missing: null },
    embedding: [0.1, -0.2, 3e-5],
  },
  output: { label: 'positive', scores: { positive: 0.7, negative: 0.3 }, text: 'ok' },
  latency_ms: 12.5,
  request_id: 'r-1',
  rag: {
    documents: [
      { id: 'd1', source: 'kb/a.md', score: 0.9 },
      { id: 'd2', source: 's' },
    ],
  },
  metadata: { region: 'eu-west-1', '': '' },
};

/** A deep copy of an event that each case below edits in one place, typed as loosely as JSON. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Editable = Record<string, any>;

/** Events at and just past every bound the check tests, each a copy of `full` with one change. */
function boundaryEvents(): { name: string; event: Record<string, unknown> }[] {
  const at = (name: string, change: (event: Editable) => void) => {
    const event = structuredClone(full) as Editable;
    change(event);
    return { name, event };
  };
  const record = (n: number, value: unknown) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
  return [
    at('the full event', () => undefined),
    at('the smallest event', (e) => {
      for (const key of Object.keys(e))
        if (!['event_id', 'model_id', 'timestamp'].includes(key)) delete e[key];
    }),
    at('epoch milliseconds', (e) => (e.timestamp = 1_767_225_600_123)),
    at('fractional epoch milliseconds', (e) => (e.timestamp = 1_767_225_600_123.6)),
    at('the earliest time', (e) => (e.timestamp = LIMITS.minTimestampMs)),
    at('before the earliest time', (e) => (e.timestamp = LIMITS.minTimestampMs - 1)),
    at('the latest time', (e) => (e.timestamp = LIMITS.maxTimestampMs)),
    at('after the latest time', (e) => (e.timestamp = LIMITS.maxTimestampMs + 1)),
    at('epoch seconds', (e) => (e.timestamp = 1_767_225_600)),
    at('epoch milliseconds as a string', (e) => (e.timestamp = '1767225600123')),
    at('30 February', (e) => (e.timestamp = '2026-02-30T00:00:00Z')),
    at('a time without an offset', (e) => (e.timestamp = '2026-02-03T00:00:00')),
    at('a time as an object', (e) => (e.timestamp = { ms: 1 })),
    at('an id of 128 characters', (e) => (e.event_id = 'x'.repeat(LIMITS.idLength))),
    at('an id of 129 characters', (e) => (e.event_id = 'x'.repeat(LIMITS.idLength + 1))),
    at('an empty id', (e) => (e.model_id = '')),
    at('an id with a tab', (e) => (e.model_id = 'a\tb')),
    at('an id with DEL', (e) => (e.request_id = 'a\u007fb')),
    at('a numeric id', (e) => (e.event_id = 7)),
    at('a null version', (e) => (e.model_version = null)),
    at('an unknown key', (e) => (e.extra = 1)),
    at('an unknown input key', (e) => (e.input.image = 'x')),
    at('an unknown output key', (e) => (e.output.logits = [1])),
    at('an unknown document key', (e) => (e.rag.documents[0].url = 'x')),
    at('text at the limit', (e) => (e.input.text = 'a'.repeat(LIMITS.textLength))),
    at('text past the limit', (e) => (e.output.text = 'a'.repeat(LIMITS.textLength + 1))),
    at('text with a NUL', (e) => (e.input.text = 'a\u0000b')),
    at('text with an emoji', (e) => (e.input.text = 'great 🙂')),
    at('text with a lone surrogate', (e) => (e.input.text = 'a\ud800b')),
    at('an input that is null', (e) => (e.input = null)),
    at('an empty input', (e) => (e.input = {})),
    at('512 features', (e) => (e.input.features = record(LIMITS.featureEntries, 1))),
    at('513 features', (e) => (e.input.features = record(LIMITS.featureEntries + 1, 1))),
    at('a feature string at the limit', (e) => (e.input.features.s = 'b'.repeat(LIMITS.featureStringLength))),
    at(
      'a feature string past the limit',
      (e) => (e.input.features.s = 'b'.repeat(LIMITS.featureStringLength + 1)),
    ),
    at(
      'a feature key past the limit',
      (e) => (e.input.features['k'.repeat(LIMITS.featureKeyLength + 1)] = 1),
    ),
    at('a feature that is an object', (e) => (e.input.features.o = { a: 1 })),
    at('a feature that is an array', (e) => (e.input.features.o = [1])),
    at('features that are an array', (e) => (e.input.features = [1, 2])),
    at(
      'an embedding of 4096',
      (e) => (e.input.embedding = Array.from({ length: LIMITS.embeddingDimension }, () => 0.5)),
    ),
    at(
      'an embedding of 4097',
      (e) => (e.input.embedding = Array.from({ length: LIMITS.embeddingDimension + 1 }, () => 0.5)),
    ),
    at('an empty embedding', (e) => (e.input.embedding = [])),
    at('an embedding with a string', (e) => (e.input.embedding = [1, '2'])),
    at('scores adding up to the tolerance', (e) => (e.output.scores = { a: 0.51, b: 0.5 })),
    at('scores adding up past the tolerance', (e) => (e.output.scores = { a: 0.51, b: 0.51 })),
    at(
      `scores adding up to 1 + ${SCORE_SUM_TOLERANCE}`,
      (e) => (e.output.scores = { a: 1, b: SCORE_SUM_TOLERANCE }),
    ),
    at('a negative score', (e) => (e.output.scores = { a: -0.1 })),
    at('a score above 1', (e) => (e.output.scores = { a: 1.5 })),
    at('a score as a string', (e) => (e.output.scores = { a: '0.5' })),
    at('1000 scores', (e) => (e.output.scores = record(LIMITS.scoreEntries, 0))),
    at('1001 scores', (e) => (e.output.scores = record(LIMITS.scoreEntries + 1, 0))),
    at('a label past the limit', (e) => (e.output.label = 'l'.repeat(LIMITS.labelLength + 1))),
    at('a latency of 0', (e) => (e.latency_ms = 0)),
    at('a negative latency', (e) => (e.latency_ms = -1)),
    at('a latency of one hour', (e) => (e.latency_ms = LIMITS.maxLatencyMs)),
    at('a latency past one hour', (e) => (e.latency_ms = LIMITS.maxLatencyMs + 1)),
    at('rag without documents', (e) => (e.rag = {})),
    at('no documents', (e) => (e.rag.documents = [])),
    at(
      '100 documents',
      (e) =>
        (e.rag.documents = Array.from({ length: LIMITS.ragDocuments }, (_, i) => ({
          id: `d${i}`,
          source: 's',
        }))),
    ),
    at(
      '101 documents',
      (e) =>
        (e.rag.documents = Array.from({ length: LIMITS.ragDocuments + 1 }, (_, i) => ({
          id: `d${i}`,
          source: 's',
        }))),
    ),
    at('a document with an empty source', (e) => (e.rag.documents[0].source = '')),
    at('a document without an id', (e) => delete e.rag.documents[0].id),
    at('a document score as a string', (e) => (e.rag.documents[0].score = '1')),
    at('64 metadata entries', (e) => (e.metadata = record(LIMITS.metadataEntries, 'v'))),
    at('65 metadata entries', (e) => (e.metadata = record(LIMITS.metadataEntries + 1, 'v'))),
    at('a metadata number', (e) => (e.metadata.n = 1)),
    at('a metadata value past the limit', (e) => (e.metadata.v = 'v'.repeat(LIMITS.metadataValueLength + 1))),
  ];
}

describe('the precompiled inference event check', () => {
  it('answers exactly as the schema does at and just past every bound', () => {
    const events = boundaryEvents();
    let acceptedFast = 0;
    for (const { name, event } of events) {
      const { fast, schema } = bothWays(JSON.stringify(event));
      assert.deepEqual(fast, schema, name);
      if (acceptInferenceEvent(JSON.parse(JSON.stringify(event))) !== undefined) acceptedFast++;
    }
    // Not a formality: the check itself accepts the valid events without surrogates or NUL.
    const validPlainText = events.filter(({ name, event }) => {
      if (/emoji|surrogate|NUL/.test(name)) return false;
      return validateJson(inferenceEventSchema, JSON.stringify(event)).ok;
    });
    assert.equal(acceptedFast, validPlainText.length);
  });

  it('answers exactly as the schema does on the hostile-payload generator and hostile-looking valid events', () => {
    let compared = 0;
    for (const seed of [1, 2]) {
      const hostile = hostilePayloads({
        schema: 'inference',
        rounds: 3,
        seed,
        modelId: 'm',
        tag: `h${seed}`,
        depth: 64,
      });
      const valid = validPayloads({
        schema: 'inference',
        count: 200,
        seed,
        modelIds: ['m', ...HOSTILE_LOOKING_MODEL_IDS],
        tag: `v${seed}`,
      });
      for (const item of [...hostile, ...valid]) {
        const { fast, schema } = bothWays(item.bytes);
        assert.deepEqual(fast, schema, item.description);
        compared++;
      }
    }
    assert.ok(compared > 500, `compared ${compared} items`);
  });

  it('returns the event with its time in epoch milliseconds, as the schema transforms it', () => {
    const accepted = acceptInferenceEvent(JSON.parse(JSON.stringify(full)));
    assert.ok(accepted);
    assert.equal(accepted.timestamp, Date.parse('2026-02-28T22:59:59.500Z'));
    assert.deepEqual(accepted, inferenceEventSchema.parse(full));
  });
});
