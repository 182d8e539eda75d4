/**
 * A seeded generator of malformed and hostile payloads for the bad-input suites: inference events
 * and feedback items broken in every way the v1 contracts must refuse (wrong types at every field,
 * missing fields, every LIMIT exceeded by one, 1000-level nesting, invalid UTF-8, lone surrogates,
 * prototype-pollution keys at every depth, SQL and template injection where it cannot be valid,
 * control characters in ids, NaN/Infinity literals, numbers as strings, arrays for objects,
 * duplicate keys, enormous arrays, empty items), and valid items that look hostile (injection
 * strings, control characters and unusual Unicode in free text, values exactly at each LIMIT)
 * which must be stored verbatim.
 *
 * Items are bytes, not objects: duplicate keys, own "__proto__" keys, lone-surrogate escapes, 1e400
 * and invalid UTF-8 cannot survive a round through JSON.stringify. The same seed gives the same bytes.
 */
import { gzipSync } from 'node:zlib';
import { LIMITS } from '@tripline/contracts';
import { mulberry32 } from '@tripline/evaluation';

export const HOSTILE_CATEGORIES = [
  'wrong-type',
  'missing-required',
  'over-limit',
  'deep-nesting',
  'invalid-utf8',
  'lone-surrogate',
  'prototype-pollution',
  'sql-injection',
  'template-injection',
  'control-characters',
  'nan-infinity',
  'number-as-string',
  'array-for-object',
  'duplicate-keys',
  'enormous-array',
  'empty',
] as const;

export type HostileCategory = (typeof HOSTILE_CATEGORIES)[number];
export type PayloadSchema = 'inference' | 'feedback';

export interface HostilePayload {
  category: HostileCategory;
  schema: PayloadSchema;
  /** The item as it goes on the wire. */
  bytes: Buffer;
  /** Whether the bytes are JSON at all (an item that is not cannot be one element of an HTTP batch). */
  json: boolean;
  /** The field a refusal must name: an error's field equals it or lies beneath it. */
  field?: string;
  description: string;
}

export interface ValidPayload {
  schema: PayloadSchema;
  bytes: Buffer;
  event_id: string;
  model_id: string;
  /** The label as it must be stored: output.label of an event, label of a feedback item. */
  label: string;
  /** Inference events: the free text and metadata as they must be stored. */
  input_text?: string;
  output_text?: string;
  metadata?: Record<string, string>;
  description: string;
}

// --- JSON with what JSON.stringify cannot write ----------------------------------------------

/** Bytes written as they are: invalid JSON, number literals like 1e400, invalid UTF-8. */
class Raw {
  constructor(readonly bytes: Buffer) {}
}
/** An object as an ordered list of entries: duplicate keys and own "__proto__" keys survive. */
class Pairs {
  constructor(readonly entries: [string, Json][]) {}
}
type Json = null | boolean | number | string | Raw | Pairs | Json[] | { [key: string]: Json };

const raw = (text: string | Buffer) => new Raw(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

export function encodeJson(value: Json): Buffer {
  const chunks: Buffer[] = [];
  const write = (item: Json): void => {
    if (item instanceof Raw) chunks.push(item.bytes);
    else if (item instanceof Pairs) {
      chunks.push(Buffer.from('{'));
      item.entries.forEach(([key, entry], index) => {
        chunks.push(Buffer.from(`${index ? ',' : ''}${JSON.stringify(key)}:`));
        write(entry);
      });
      chunks.push(Buffer.from('}'));
    } else if (Array.isArray(item)) {
      chunks.push(Buffer.from('['));
      item.forEach((entry, index) => {
        if (index) chunks.push(Buffer.from(','));
        write(entry);
      });
      chunks.push(Buffer.from(']'));
    } else if (item !== null && typeof item === 'object') {
      write(new Pairs(Object.entries(item)));
    } else {
      // JSON.stringify escapes lone surrogates (\ud800) and control characters (\u0000).
      chunks.push(Buffer.from(JSON.stringify(item), 'utf8'));
    }
  };
  write(value);
  return Buffer.concat(chunks);
}

// --- seeded randomness -------------------------------------------------------------------------

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** At most `max` UTF-16 units, never ending in half a surrogate pair. */
function clip(text: string, max: number): string {
  const clipped = text.slice(0, max);
  return /[\ud800-\udbff]$/.test(clipped) ? clipped.slice(0, -1) : clipped;
}

// --- hostile strings ---------------------------------------------------------------------------

export const SQL_INJECTIONS = [
  "'; DROP TABLE inference_events; --",
  "'; DROP TABLE api_keys CASCADE; --",
  "' OR '1'='1",
  "') UNION ALL SELECT name, engine FROM system.tables --",
  "' UNION ALL SELECT user(), version() FORMAT JSONEachRow --",
  "x') SETTINGS readonly = 0, max_execution_time = 0 --",
  "'; SYSTEM SHUTDOWN; --",
  "{model:String}') OR 1=1 --",
  '\'; INSERT INTO tripline.inference_events FORMAT JSONEachRow {"event_id":"x"} --',
  "1' AND sleep(3) = 0 --",
  "'||(SELECT version())||'",
  '$$; DROP TABLE schedules; $$',
  "Robert'); DROP TABLE students;--",
  "1 UNION SELECT * FROM file('/etc/passwd', 'LineAsString')",
] as const;

export const TEMPLATE_INJECTIONS = [
  '{{7*7}}',
  '${7*7}',
  '#{7*7}',
  '<%= 7*7 %>',
  '${{7*7}}',
  "{{constructor.constructor('return process')().exit(1)}}",
  "${require('child_process').execSync('id')}",
  "#{system('id')}",
  '{% for x in range(9999999) %}{% endfor %}',
  '*{T(java.lang.Runtime).getRuntime().exec("id")}',
  '@(7*7)',
  '{{= it.secret }}',
] as const;

/** Free text that must be stored and answered byte for byte. */
export const TRICKY_TEXTS = [
  ...SQL_INJECTIONS,
  ...TEMPLATE_INJECTIONS,
  'bell\u0007 backspace\b form\f feed vtab\u000b esc\u001b[31mred\u001b[0m del\u007f',
  'line\nbreak\r\ncarriage\ttab',
  '\u2028line separator\u2029paragraph separator',
  'right-to-left \u202eoverride\u202c and zero\u200bwidth\u200d joiner\ufeff bom',
  'emoji 🙂👩‍👩‍👧 and astral 𝕏 and combining e\u0301',
  '<script>alert(document.cookie)</script>',
  '../../../../etc/passwd',
  '%s%s%s%n %x %d',
  '{"level":60,"msg":"forged log line"}\n',
  '\\u0000 not a real escape \\ud800',
  'C1 controls \u0085\u0090\u009f',
] as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

// --- base items --------------------------------------------------------------------------------

interface Variant {
  tag: string;
  modelId: string;
  time: number;
  random: () => number;
}

function baseInference(variant: Variant, n: number): Record<string, Json> {
  const positive = variant.random() < 0.5;
  const score = Math.round((0.5 + variant.random() / 2) * 1000) / 1000;
  return {
    event_id: `${variant.tag}-${n}`,
    model_id: variant.modelId,
    model_version: 'v1',
    timestamp: variant.time + n,
    input: {
      text: `hostile item ${n}: ${pick(variant.random, ['the food was fine', 'slow service', 'great'])}`,
      features: { length: 12 + (n % 7), lang: 'en', flagged: false, missing: null },
    },
    output: {
      label: positive ? 'positive' : 'negative',
      scores: positive ? { positive: score, negative: 1 - score } : { negative: score, positive: 1 - score },
      text: 'ok',
    },
    latency_ms: 12.5,
    request_id: `req-${n}`,
    rag: { documents: [{ id: 'doc-1', source: 'kb', score: 0.7 }] },
    metadata: { region: 'eu-west-1' },
  };
}

function baseFeedback(variant: Variant, n: number): Record<string, Json> {
  return {
    event_id: `${variant.tag}-${n}`,
    model_id: variant.modelId,
    label: variant.random() < 0.5 ? 'positive' : 'negative',
    timestamp: variant.time + n,
    source: 'human-review',
    metadata: { region: 'eu-west-1' },
  };
}

type Path = string;

/** A copy of `value` with `path` set to `replacement` (undefined removes it); Pairs keep their order. */
function setAt(value: Json, path: Path, replacement: Json | undefined): Json {
  if (path === '') return replacement === undefined ? null : replacement;
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  if (Array.isArray(value)) {
    const index = Number(head);
    const copy = [...value];
    if (rest.length === 0 && replacement === undefined) copy.splice(index, 1);
    else copy[index] = rest.length === 0 ? replacement! : setAt(copy[index], tail, replacement);
    return copy;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Raw) && !(value instanceof Pairs)) {
    const copy: Record<string, Json> = { ...value };
    if (rest.length === 0) {
      if (replacement === undefined) delete copy[head];
      else copy[head] = replacement;
    } else copy[head] = setAt(copy[head], tail, replacement);
    return copy;
  }
  throw new Error(`cannot set ${path} inside ${JSON.stringify(value)}`);
}

/** Adds an entry to the object at `path`, as Pairs so that any key (even "__proto__") is written. */
function addEntry(value: Json, path: Path, key: string, entry: Json): Json {
  const target = path === '' ? value : getAt(value, path);
  if (target === null || typeof target !== 'object' || Array.isArray(target) || target instanceof Raw)
    throw new Error(`no object at ${path}`);
  const entries = target instanceof Pairs ? [...target.entries] : Object.entries(target);
  const pairs = new Pairs([...entries, [key, entry]]);
  return path === '' ? pairs : setAt(value, path, pairs);
}

function getAt(value: Json, path: Path): Json {
  let current = value;
  for (const part of path.split('.')) {
    if (Array.isArray(current)) current = current[Number(part)];
    else if (current !== null && typeof current === 'object' && !(current instanceof Raw))
      current =
        current instanceof Pairs
          ? (current.entries.find(([key]) => key === part)?.[1] ?? null)
          : (current[part] ?? null);
    else return null;
  }
  return current;
}

/** Replaces the value at `path` with raw bytes, by writing a marker string and splicing the bytes in. */
function withRaw(value: Json, path: Path, bytes: Buffer): Buffer {
  const marker = '\u0001RAW\u0001';
  const text = encodeJson(setAt(value, path, marker));
  const quoted = Buffer.from(JSON.stringify(marker), 'utf8');
  const at = text.indexOf(quoted);
  if (at < 0) throw new Error('marker not found');
  return Buffer.concat([text.subarray(0, at), bytes, text.subarray(at + quoted.length)]);
}

// --- the fields of each schema and what they accept ----------------------------------------------

type Kind =
  | 'id'
  | 'time'
  | 'open-object'
  | 'closed-object'
  | 'text'
  | 'nonempty-text'
  | 'string-record'
  | 'number-record'
  | 'feature'
  | 'number'
  | 'latency'
  | 'array';

const FIELDS: Record<PayloadSchema, [Path, Kind][]> = {
  inference: [
    ['event_id', 'id'],
    ['model_id', 'id'],
    ['model_version', 'id'],
    ['timestamp', 'time'],
    ['input', 'open-object'],
    ['input.text', 'text'],
    ['input.features', 'string-record'],
    ['input.features.length', 'feature'],
    ['output', 'open-object'],
    ['output.label', 'text'],
    ['output.scores', 'number-record'],
    ['output.scores.positive', 'number'],
    ['output.text', 'text'],
    ['latency_ms', 'latency'],
    ['request_id', 'id'],
    ['rag', 'closed-object'],
    ['rag.documents', 'array'],
    ['rag.documents.0', 'closed-object'],
    ['rag.documents.0.id', 'id'],
    ['rag.documents.0.source', 'nonempty-text'],
    ['rag.documents.0.score', 'number'],
    ['metadata', 'string-record'],
    ['metadata.region', 'text'],
  ],
  feedback: [
    ['event_id', 'id'],
    ['model_id', 'id'],
    ['label', 'nonempty-text'],
    ['timestamp', 'time'],
    ['source', 'id'],
    ['metadata', 'string-record'],
    ['metadata.region', 'text'],
  ],
};

/** Values of the wrong type somewhere; `accepted` lists the kinds of field for which one is valid. */
const CANDIDATES: { name: string; value: Json; accepted: Kind[] }[] = [
  { name: 'null', value: null, accepted: ['feature'] },
  { name: 'true', value: true, accepted: ['feature'] },
  { name: 'false', value: false, accepted: ['feature'] },
  { name: 'zero', value: 0, accepted: ['feature', 'number', 'latency'] },
  { name: 'negative number', value: -1, accepted: ['feature', 'number'] },
  { name: 'fraction', value: 0.5, accepted: ['feature', 'number', 'latency'] },
  { name: 'empty string', value: '', accepted: ['text', 'feature'] },
  { name: 'string', value: 'not the right type', accepted: ['id', 'text', 'nonempty-text', 'feature'] },
  { name: 'numeric string', value: '12', accepted: ['id', 'text', 'nonempty-text', 'feature'] },
  { name: 'empty array', value: [], accepted: ['array'] },
  { name: 'array', value: [1, 'two', null], accepted: [] },
  { name: 'empty object', value: {}, accepted: ['open-object', 'string-record', 'number-record'] },
  { name: 'object', value: { nested: 'value' }, accepted: ['string-record'] },
  { name: '1e400 (Infinity once parsed)', value: raw('1e400'), accepted: [] },
  { name: '-1e400', value: raw('-1e400'), accepted: [] },
  {
    name: '30-digit integer',
    value: raw('123456789012345678901234567890'),
    accepted: ['feature', 'number'],
  },
];

const ID_FIELDS: Record<PayloadSchema, Path[]> = {
  inference: ['event_id', 'model_id', 'model_version', 'request_id', 'rag.documents.0.id'],
  feedback: ['event_id', 'model_id', 'source'],
};

const NUMERIC_FIELDS: Record<PayloadSchema, Path[]> = {
  inference: ['timestamp', 'latency_ms', 'output.scores.positive', 'rag.documents.0.score'],
  feedback: ['timestamp'],
};

const TEXT_FIELDS: Record<PayloadSchema, Path[]> = {
  inference: [
    'event_id',
    'model_id',
    'input.text',
    'output.label',
    'output.text',
    'metadata.region',
    'rag.documents.0.source',
    'request_id',
  ],
  feedback: ['event_id', 'model_id', 'label', 'metadata.region', 'source'],
};

const OBJECT_FIELDS: Record<PayloadSchema, Path[]> = {
  inference: ['input', 'input.features', 'output', 'output.scores', 'rag', 'rag.documents.0', 'metadata'],
  feedback: ['metadata'],
};

const REQUIRED: Record<PayloadSchema, Path[]> = {
  inference: [
    'event_id',
    'model_id',
    'timestamp',
    'rag.documents',
    'rag.documents.0.id',
    'rag.documents.0.source',
  ],
  feedback: ['event_id', 'model_id', 'label', 'timestamp'],
};

const nested = (depth: number, leaf: string, open: string, close: string) =>
  raw(open.repeat(depth) + leaf + close.repeat(depth));

const INVALID_UTF8: [string, number[]][] = [
  ['0xFF', [0xff]],
  ['truncated two-byte sequence', [0xc3]],
  ['truncated three-byte sequence', [0xe2, 0x82]],
  ['overlong "/"', [0xc0, 0xaf]],
  ['UTF-8-encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ['five-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['lone continuation byte', [0x80]],
  ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
];

const LONE_SURROGATES: [string, string][] = [
  ['high surrogate', 'a\ud800b'],
  ['low surrogate', '\udfff'],
  ['reversed pair', '\udc00\ud800'],
  ['truncated emoji', 'smile \ud83d'],
];

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const NON_JSON_NUMBERS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '+Infinity',
  'undefined',
  '0x1F',
  '1_000',
  '.5',
  '01',
  '+1',
];

// --- the generator ------------------------------------------------------------------------------

export interface HostileOptions {
  schema: PayloadSchema;
  /** Rounds of the systematic enumeration; each round varies the surrounding valid values. */
  rounds: number;
  seed: number;
  /** Model id of the otherwise valid parts (rejected items never reach storage). */
  modelId: string;
  /** Prefix of event ids, so that answers and dead letters can be traced to their item. */
  tag: string;
  /** Nesting depth of the deep-nesting category (default 1000). */
  depth?: number;
}

export function hostilePayloads(options: HostileOptions): HostilePayload[] {
  const random = mulberry32(options.seed);
  const items: HostilePayload[] = [];
  let n = 0;
  for (let round = 0; round < options.rounds; round++) {
    const variant: Variant = {
      tag: `${options.tag}-r${round}`,
      modelId: options.modelId,
      time: Date.UTC(2026, 0, 1) + Math.floor(random() * 300 * 86_400_000),
      random,
    };
    const base = () => (options.schema === 'inference' ? baseInference : baseFeedback)(variant, n++);
    const add = (
      category: HostileCategory,
      description: string,
      bytes: Buffer | Json,
      field?: string,
      json = true,
    ) =>
      items.push({
        category,
        schema: options.schema,
        bytes: Buffer.isBuffer(bytes) ? bytes : encodeJson(bytes),
        json,
        ...(field === undefined ? {} : { field }),
        description,
      });
    generateRound(options, add, base, random);
  }
  return items;
}

type Add = (
  category: HostileCategory,
  description: string,
  bytes: Buffer | Json,
  field?: string,
  json?: boolean,
) => void;

function generateRound(
  options: HostileOptions,
  add: Add,
  base: () => Record<string, Json>,
  random: () => number,
) {
  const { schema } = options;
  const depth = options.depth ?? 1000;

  // Wrong types at every field.
  for (const [path, kind] of FIELDS[schema]) {
    for (const candidate of CANDIDATES) {
      if (candidate.accepted.includes(kind)) continue;
      add('wrong-type', `${path} = ${candidate.name}`, setAt(base(), path, candidate.value), path);
    }
  }

  // Missing required fields, one at a time and all at once.
  for (const path of REQUIRED[schema])
    add('missing-required', `without ${path}`, setAt(base(), path, undefined), path);
  add(
    'missing-required',
    'only optional fields',
    setAt(setAt(base(), 'event_id', undefined), 'model_id', undefined),
    'event_id',
  );

  // Every LIMIT exceeded by one (and some by far).
  const over = (path: string, description: string, value: Json, field = path) =>
    add('over-limit', description, setAt(base(), path, value), field);
  for (const path of ID_FIELDS[schema]) {
    over(path, `${path} of ${LIMITS.idLength + 1} characters`, 'i'.repeat(LIMITS.idLength + 1));
    over(path, `${path} of ${LIMITS.idLength + 1} two-byte characters`, 'é'.repeat(LIMITS.idLength + 1));
    over(path, `${path} of 20000 characters`, 'i'.repeat(20_000));
  }
  const entries = (count: number, value: (i: number) => Json, key = (i: number) => `k${i}`) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [key(i), value(i)]));
  const metadataLimits = () => {
    over(
      'metadata',
      `${LIMITS.metadataEntries + 1} metadata entries`,
      entries(LIMITS.metadataEntries + 1, () => 'v'),
    );
    over('metadata', `metadata key of ${LIMITS.metadataKeyLength + 1} characters`, {
      ['m'.repeat(LIMITS.metadataKeyLength + 1)]: 'v',
    });
    over(
      'metadata.region',
      `metadata value of ${LIMITS.metadataValueLength + 1} characters`,
      'v'.repeat(LIMITS.metadataValueLength + 1),
    );
  };
  const timestamps = () => {
    over('timestamp', 'timestamp a millisecond before 2000-01-01', LIMITS.minTimestampMs - 1);
    over('timestamp', 'timestamp a millisecond after 2100-01-01', LIMITS.maxTimestampMs + 1);
    over('timestamp', 'timestamp in epoch seconds', Math.floor(Date.UTC(2026, 5, 1) / 1000));
    over('timestamp', 'timestamp in the year 9999', '9999-12-31T23:59:59Z');
    over('timestamp', 'RFC 3339 timestamp without an offset', '2026-06-01T00:00:00');
    over('timestamp', 'timestamp that is not a date', '2026-02-30T25:61:61Z');
  };
  if (schema === 'inference') {
    for (const path of ['input.text', 'output.text']) {
      over(path, `${path} of ${LIMITS.textLength + 1} characters`, 't'.repeat(LIMITS.textLength + 1));
      over(
        path,
        `${path} of ${LIMITS.textLength + 1} three-byte characters`,
        '€'.repeat(LIMITS.textLength + 1),
      );
    }
    over('output.label', `label of ${LIMITS.labelLength + 1} characters`, 'l'.repeat(LIMITS.labelLength + 1));
    over(
      'output.scores',
      `${LIMITS.scoreEntries + 1} scores`,
      entries(LIMITS.scoreEntries + 1, () => 0.001),
    );
    over('output.scores', `score label of ${LIMITS.labelLength + 1} characters`, {
      ['s'.repeat(LIMITS.labelLength + 1)]: 0.5,
    });
    over(
      'input.features',
      `${LIMITS.featureEntries + 1} features`,
      entries(LIMITS.featureEntries + 1, (i) => i),
    );
    over('input.features', `feature key of ${LIMITS.featureKeyLength + 1} characters`, {
      ['f'.repeat(LIMITS.featureKeyLength + 1)]: 1,
    });
    over(
      'input.features.length',
      `feature string of ${LIMITS.featureStringLength + 1} characters`,
      'f'.repeat(LIMITS.featureStringLength + 1),
    );
    over(
      'rag.documents',
      `${LIMITS.ragDocuments + 1} documents`,
      Array.from({ length: LIMITS.ragDocuments + 1 }, (_, i) => ({ id: `d${i}`, source: 'kb' })),
    );
    over(
      'rag.documents.0.source',
      `source of ${LIMITS.ragSourceLength + 1} characters`,
      's'.repeat(LIMITS.ragSourceLength + 1),
    );
    over('latency_ms', 'latency of an hour and a millisecond', LIMITS.maxLatencyMs + 1);
    over('latency_ms', 'negative latency', -0.001);
    metadataLimits();
    timestamps();
  } else {
    over('label', `label of ${LIMITS.labelLength + 1} characters`, 'l'.repeat(LIMITS.labelLength + 1));
    over('label', 'empty label', '');
    metadataLimits();
    timestamps();
  }

  // 1000-level nesting at fields of every kind, and as the whole item.
  const deepPaths =
    schema === 'inference'
      ? [
          'event_id',
          'timestamp',
          'input',
          'input.text',
          'input.features.length',
          'output.scores.positive',
          'rag.documents',
          'latency_ms',
          'metadata.region',
        ]
      : ['event_id', 'label', 'timestamp', 'metadata.region'];
  for (const path of deepPaths) {
    add(
      'deep-nesting',
      `${path} nested ${depth} objects deep`,
      setAt(base(), path, nested(depth, '1', '{"a":', '}')),
      path,
    );
    add(
      'deep-nesting',
      `${path} nested ${depth} arrays deep`,
      setAt(base(), path, nested(depth, '"x"', '[', ']')),
      path,
    );
  }
  add(
    'deep-nesting',
    `metadata value nested ${depth} objects deep`,
    addEntry(base(), 'metadata', 'deep', nested(depth, '"x"', '{"a":', '}')),
    'metadata',
  );
  // Named at the item or at the depth where nesting is refused: either is a reason.
  add('deep-nesting', `the item nested ${depth} arrays deep`, nested(depth, '{}', '[', ']'));
  add('deep-nesting', `the item nested ${depth} objects deep`, nested(depth, '{}', '{"a":', '}'));

  // Invalid UTF-8 inside strings (not JSON text a strict decoder accepts).
  for (const path of TEXT_FIELDS[schema].slice(0, 5)) {
    for (const [name, bytes] of INVALID_UTF8) {
      const value = Buffer.concat([Buffer.from('"ok '), Buffer.from(bytes), Buffer.from(' ok"')]);
      add('invalid-utf8', `${path} containing ${name}`, withRaw(base(), path, value), '(message)');
    }
  }
  add(
    'invalid-utf8',
    'a key containing 0xFF',
    withRaw(base(), 'metadata', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x22, 0x76, 0x22, 0x7d])),
    '(message)',
  );

  // Lone surrogates: valid JSON escapes, but no valid text (they cannot be stored as UTF-8).
  for (const path of TEXT_FIELDS[schema]) {
    for (const [name, text] of LONE_SURROGATES)
      add('lone-surrogate', `${path} with a ${name}`, setAt(base(), path, text), path);
  }
  add(
    'lone-surrogate',
    'metadata key with a high surrogate',
    addEntry(base(), 'metadata', 'k\ud800', 'v'),
    'metadata',
  );
  if (schema === 'inference') {
    add(
      'lone-surrogate',
      'feature key with a low surrogate',
      addEntry(base(), 'input.features', '\udc00', 1),
      'input.features',
    );
    add(
      'lone-surrogate',
      'score label with a high surrogate',
      addEntry(base(), 'output.scores', '\ud800', 0.5),
      'output.scores',
    );
  }

  // Prototype-pollution keys in every object, and nested at every depth down to 40.
  for (const key of POLLUTING_KEYS) {
    const payload = pick(random, [
      { polluted: 'yes' },
      { isAdmin: true },
      'yes',
      1,
      { toString: 'x' },
    ] as Json[]);
    add('prototype-pollution', `"${key}" at the top level`, addEntry(base(), '', key, payload), key);
    for (const path of OBJECT_FIELDS[schema]) {
      add('prototype-pollution', `"${key}" in ${path}`, addEntry(base(), path, key, payload), path);
    }
    for (let level = 1; level <= 40; level++) {
      let value: Json = new Pairs([[key, { polluted: 'yes' }]]);
      for (let i = 1; i < level; i++) value = { a: value };
      add(
        'prototype-pollution',
        `"${key}" ${level} levels inside metadata`,
        addEntry(base(), 'metadata', 'deep', value),
        'metadata',
      );
      if (schema === 'inference')
        add(
          'prototype-pollution',
          `"${key}" ${level} levels inside input`,
          setAt(base(), 'input', value),
          'input',
        );
    }
  }

  // Injection strings where no string is valid, or one that breaks an id rule.
  const injections = (category: 'sql-injection' | 'template-injection', strings: readonly string[]) => {
    for (const text of strings) {
      for (const path of NUMERIC_FIELDS[schema])
        add(category, `${path} = ${text}`, setAt(base(), path, text), path);
      if (schema === 'inference') {
        add(category, `input = ${text}`, setAt(base(), 'input', text), 'input');
        add(category, `rag.documents = ${text}`, setAt(base(), 'rag.documents', text), 'rag.documents');
      } else {
        add(category, `metadata = ${text}`, setAt(base(), 'metadata', text), 'metadata');
      }
      add(category, `event_id = ${text} with a newline`, setAt(base(), 'event_id', `${text}\n`), 'event_id');
      add(
        category,
        `model_id = ${text} repeated past ${LIMITS.idLength}`,
        setAt(base(), 'model_id', text.repeat(200).slice(0, 200)),
        'model_id',
      );
    }
  };
  injections('sql-injection', SQL_INJECTIONS);
  injections('template-injection', TEMPLATE_INJECTIONS);

  // Control characters in ids.
  for (let code = 0; code <= 0x20; code++) {
    const char = String.fromCharCode(code === 0x20 ? 0x7f : code);
    for (const path of ID_FIELDS[schema]) {
      add(
        'control-characters',
        `${path} with U+${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
        setAt(base(), path, `id${char}x`),
        path,
      );
    }
  }

  // NaN, Infinity and other literals JSON does not have.
  for (const literal of NON_JSON_NUMBERS) {
    for (const path of NUMERIC_FIELDS[schema])
      add(
        'nan-infinity',
        `${path} = ${literal}`,
        encodeJson(setAt(base(), path, raw(literal))),
        '(message)',
        false,
      );
  }

  // Numbers as strings.
  for (const text of ['12.5', '1790000000000', '0.8', 'NaN', 'Infinity', '-0', '1e3']) {
    for (const path of NUMERIC_FIELDS[schema]) {
      // Epoch milliseconds as a string is no RFC 3339 timestamp either.
      add('number-as-string', `${path} = "${text}"`, setAt(base(), path, text), path);
    }
  }

  // Arrays where objects are expected.
  for (const path of OBJECT_FIELDS[schema]) {
    const original = getAt(base(), path);
    add(
      'array-for-object',
      `${path} as an array of entries`,
      setAt(
        base(),
        path,
        original instanceof Pairs ||
          original === null ||
          typeof original !== 'object' ||
          Array.isArray(original)
          ? []
          : (Object.entries(original) as Json),
      ),
      path,
    );
    add('array-for-object', `${path} wrapped in an array`, setAt(base(), path, [original]), path);
  }
  add('array-for-object', 'the item wrapped in an array', [base()], '(event)');
  add('array-for-object', 'the item as an array of entries', Object.entries(base()) as Json, '(event)');

  // Duplicate keys whose last value is invalid (JSON.parse keeps the last).
  const duplicates: [string, Json][] =
    schema === 'inference'
      ? [
          ['event_id', 5],
          ['timestamp', 'yesterday'],
          ['model_id', ''],
          ['input', 'text'],
          ['latency_ms', -1],
          ['metadata', [1]],
        ]
      : [
          ['event_id', 5],
          ['timestamp', 'yesterday'],
          ['model_id', ''],
          ['label', 7],
          ['metadata', [1]],
        ];
  for (const [key, value] of duplicates) {
    const item = base();
    add(
      'duplicate-keys',
      `"${key}" twice, the second invalid`,
      new Pairs([...Object.entries(item), [key, value]]),
      key,
    );
  }
  if (schema === 'inference') {
    const item = base();
    const output = new Pairs([...Object.entries(item.output as Record<string, Json>), ['label', 7]]);
    add(
      'duplicate-keys',
      'output.label twice, the second a number',
      setAt(item, 'output', output),
      'output.label',
    );
  }

  // Enormous arrays.
  if (schema === 'inference') {
    add(
      'enormous-array',
      '5000 documents',
      setAt(
        base(),
        'rag.documents',
        Array.from({ length: 5_000 }, (_, i) => ({ id: `d${i}`, source: 'kb' })),
      ),
      'rag.documents',
    );
    add(
      'enormous-array',
      'input.text as 20000 numbers',
      setAt(
        base(),
        'input.text',
        Array.from({ length: 20_000 }, (_, i) => i),
      ),
      'input.text',
    );
    add(
      'enormous-array',
      'output.scores as 20000 numbers',
      setAt(
        base(),
        'output.scores',
        Array.from({ length: 20_000 }, () => 0.5),
      ),
      'output.scores',
    );
  }
  add(
    'enormous-array',
    'metadata as 20000 strings',
    setAt(
      base(),
      'metadata',
      Array.from({ length: 20_000 }, () => 'v'),
    ),
    'metadata',
  );
  add(
    'enormous-array',
    'event_id as 20000 strings',
    setAt(
      base(),
      'event_id',
      Array.from({ length: 20_000 }, () => 'e'),
    ),
    'event_id',
  );
  add(
    'enormous-array',
    'the item as 50000 nulls',
    Array.from({ length: 50_000 }, () => null),
    '(event)',
  );

  // Empty and degenerate items.
  add('empty', 'an empty object', {}, 'event_id');
  for (const [name, value] of [
    ['null', null],
    ['an empty string', ''],
    ['zero', 0],
    ['an empty array', []],
    ['true', true],
    ['a string holding JSON', '{}'],
  ] as [string, Json][])
    add('empty', `the item is ${name}`, value, '(event)');
  add('empty', 'an object with an empty key', { '': '' });
}

// --- valid items that look hostile ----------------------------------------------------------------

export interface ValidOptions {
  schema: PayloadSchema;
  count: number;
  seed: number;
  /** Model ids to spread the items over (hostile-looking ids are welcome). */
  modelIds: string[];
  tag: string;
  /** Feedback: the events being labelled (event id and model id of valid inference events). */
  events?: { event_id: string; model_id: string }[];
}

/** Model ids that are valid but look like injections: they must be stored and queryable verbatim. */
export const HOSTILE_LOOKING_MODEL_IDS = [
  "m'; DROP TABLE inference_events; --",
  "m') UNION ALL SELECT name FROM system.tables --",
  'm{{7*7}}${7*7}#{7*7}',
  'm-ünïcødé-🙂',
  'm <script>alert(1)</script>',
  'm%2F..%2Fadmin',
  'm __proto__ constructor',
];

export function validPayloads(options: ValidOptions): ValidPayload[] {
  const random = mulberry32(options.seed);
  const items: ValidPayload[] = [];
  const labels = [
    ...TRICKY_TEXTS.filter((text) => text.length <= LIMITS.labelLength),
    'positive',
    'negative',
  ];
  for (let n = 0; items.length < options.count; n++) {
    if (options.schema === 'feedback') {
      const events = options.events ?? [];
      if (n >= events.length) break;
      const event = events[n];
      const label = pick(random, labels);
      const metadata = { note: pick(random, TRICKY_TEXTS) };
      const shape = n % 3;
      const timestamp: Json =
        shape === 0
          ? new Date(Date.UTC(2026, 3, 1) + n).toISOString().replace('Z', '+02:00')
          : Date.UTC(2026, 3, 1) + n;
      const item: Record<string, Json> = {
        event_id: event.event_id,
        model_id: event.model_id,
        label,
        timestamp,
        metadata,
      };
      const bytes =
        shape === 2
          ? // Duplicate keys whose last value is the valid one.
            encodeJson(new Pairs([['label', 7], ...Object.entries(item)]))
          : encodeJson(item);
      items.push({
        schema: 'feedback',
        bytes,
        event_id: event.event_id,
        model_id: event.model_id,
        label,
        metadata,
        description: `feedback ${n}`,
      });
      continue;
    }
    const modelId = options.modelIds[n % options.modelIds.length];
    const eventId = clip(
      `${options.tag}-${n}-${pick(random, ['', "'; DROP TABLE x; --", '{{7*7}}', '🙂'])}`,
      LIMITS.idLength,
    );
    const label = pick(random, labels);
    const text = pick(random, TRICKY_TEXTS);
    const outputText = pick(random, TRICKY_TEXTS);
    const metadata: Record<string, string> = {
      note: pick(random, TRICKY_TEXTS),
      [clip(pick(random, TRICKY_TEXTS), 100)]: 'key',
    };
    const event: Record<string, Json> = {
      event_id: eventId,
      model_id: modelId,
      timestamp: Date.UTC(2026, 3, 1) + n,
      input: { text, features: { [pick(random, SQL_INJECTIONS)]: pick(random, TEMPLATE_INJECTIONS), n } },
      output: { label, scores: { [label]: 0.75, other: 0.25 }, text: outputText },
      latency_ms: Math.round(random() * 1000) / 10,
      metadata,
    };
    let description = `event ${n}`;
    let bytes: Buffer;
    switch (n % 8) {
      case 1: {
        // Exactly at every limit of the event.
        description = `event ${n} at every limit`;
        const longId = `${clip(eventId, LIMITS.idLength - 1)}-`.padEnd(LIMITS.idLength, 'x');
        event.event_id = longId;
        event.model_version = 'v'.repeat(LIMITS.idLength);
        event.request_id = 'r'.repeat(LIMITS.idLength);
        event.timestamp = n % 16 === 1 ? LIMITS.minTimestampMs : LIMITS.maxTimestampMs;
        event.latency_ms = LIMITS.maxLatencyMs;
        event.input = {
          text: text.padEnd(LIMITS.textLength, '.'),
          features: Object.fromEntries(
            Array.from({ length: LIMITS.featureEntries }, (_, i) => [
              i === 0 ? 'k'.repeat(LIMITS.featureKeyLength) : `f${i}`,
              i === 1 ? 'v'.repeat(LIMITS.featureStringLength) : i,
            ]),
          ),
        };
        event.output = {
          label,
          scores: Object.fromEntries(
            Array.from({ length: LIMITS.scoreEntries }, (_, i) => [
              i === 0 ? label : `l${i}`.padEnd(i === 1 ? LIMITS.labelLength : 2, 'l'),
              i === 0 ? 0.9 : 0,
            ]),
          ),
          text: outputText,
        };
        event.rag = {
          documents: Array.from({ length: LIMITS.ragDocuments }, (_, i) => ({
            id: `d${i}`,
            source: i === 0 ? 's'.repeat(LIMITS.ragSourceLength) : 'kb',
            score: 1 / (i + 1),
          })),
        };
        for (const key of Object.keys(metadata)) delete metadata[key];
        for (let i = 0; i < LIMITS.metadataEntries; i++)
          metadata[i === 0 ? 'm'.repeat(LIMITS.metadataKeyLength) : `m${i}`] =
            i === 1 ? 'v'.repeat(LIMITS.metadataValueLength) : clip(text, 50);
        event.metadata = metadata;
        bytes = encodeJson(event);
        break;
      }
      case 2:
        // Duplicate keys whose last value is the valid one.
        description = `event ${n} with duplicate keys, the last valid`;
        bytes = encodeJson(
          new Pairs([['latency_ms', 'slow'], ['timestamp', 'yesterday'], ...Object.entries(event)]),
        );
        break;
      case 3:
        description = `event ${n} with an RFC 3339 timestamp and offset`;
        event.timestamp = '2026-04-01T12:30:45.123456789-07:00';
        bytes = encodeJson(event);
        break;
      default:
        bytes = encodeJson(event);
    }
    const input = event.input as Record<string, Json>;
    const output = event.output as Record<string, Json>;
    items.push({
      schema: 'inference',
      bytes,
      event_id: event.event_id as string,
      model_id: modelId,
      label,
      input_text: input.text as string,
      output_text: output.text as string,
      metadata: { ...metadata },
      description,
    });
  }
  for (const item of items) {
    if (CONTROL.test(item.event_id) || CONTROL.test(item.model_id))
      throw new Error(`generated an invalid id: ${item.description}`);
  }
  return items;
}

/** Counts per category, for the test's diagnostics and the report. */
export function countByCategory(items: { category: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.category] = (counts[item.category] ?? 0) + 1;
  return counts;
}

// --- freeze payloads (issue 11) ---------------------------------------------------------------------

/** What a freeze payload may use against a running app. */
export interface FreezeContext {
  baseUrl: string;
  /** An admin key of the app. */
  adminKey: string;
}

/** What came back for one request of a payload. */
export interface FreezeAnswer {
  status: number;
  text: string;
}

/**
 * A request (or a few) that once held the event loop of the whole process for seconds: the test
 * sends `parallel` copies at once while it probes /health/live, and checks every answer with
 * `expect`. Items 4 and 5 of issue 11 (catastrophic regexes in canary assertions and silence
 * matchers) add theirs here; `prepare` sets up what a payload needs (a model, a dataset) once.
 */
export interface FreezePayload {
  /** The issue item it reproduces, e.g. "11.3". */
  item: string;
  description: string;
  parallel: number;
  prepare?: (context: FreezeContext) => Promise<void>;
  send: (context: FreezeContext) => Promise<FreezeAnswer>;
  /** Throws (assert) when the answer is not the refusal the payload must get. */
  expect: (answer: FreezeAnswer) => void;
}

async function post(
  context: FreezeContext,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<FreezeAnswer> {
  const response = await fetch(`${context.baseUrl}${path}`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

/** Four million "[" gzipped: about 8 KB on the wire, 4 MB once inflated, 4 million levels once parsed. */
let nestedBracketBomb: Buffer | undefined;
export function nestedBracketGzip(): Buffer {
  nestedBracketBomb ??= gzipSync(Buffer.alloc(4_000_000, '['), { level: 9 });
  return nestedBracketBomb;
}

/** `[[],[],[],…]` just under `bytes`: flat, shallow, and one allocation for JSON.parse per three bytes. */
const flatEmptyArrays = new Map<number, Buffer>();
export function flatEmptyArraysBody(bytes: number): Buffer {
  let body = flatEmptyArrays.get(bytes);
  if (!body) {
    const count = Math.floor((bytes - 2) / 3);
    body = Buffer.from(`[${'[],'.repeat(count - 1)}[]]`);
    flatEmptyArrays.set(bytes, body);
  }
  return body;
}

const authenticatedJson = (context: FreezeContext) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${context.adminKey}`,
});

export const FREEZE_PAYLOADS: FreezePayload[] = [
  {
    item: '11.3',
    description: 'gzipped body of 4 million nested "[" without an API key',
    parallel: 4,
    send: (context) =>
      post(
        context,
        '/v1/events',
        { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        nestedBracketGzip(),
      ),
    expect: (answer) => {
      if (answer.status !== 401)
        throw new Error(
          `expected 401 before the body is read, got ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    },
  },
  {
    item: '11.3',
    description: 'gzipped body of 4 million nested "[" with a valid API key',
    parallel: 4,
    send: (context) =>
      post(
        context,
        '/v1/events',
        {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: `Bearer ${context.adminKey}`,
        },
        nestedBracketGzip(),
      ),
    expect: (answer) => {
      if (
        answer.status !== 400 ||
        !new RegExp(`nested deeper than ${LIMITS.bodyDepth} levels`).test(answer.text)
      )
        throw new Error(
          `expected 400 naming the nesting limit of ${LIMITS.bodyDepth}, got ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    },
  },
  {
    item: '11 (follow-up)',
    description: 'an authenticated 8 MB body of flat [],[],… to POST /v1/keys (a route of small bodies)',
    parallel: 2,
    send: (context) =>
      post(context, '/v1/keys', authenticatedJson(context), flatEmptyArraysBody(LIMITS.batchBytes)),
    expect: (answer) => {
      if (answer.status !== 413 || !answer.text.includes(`larger than ${LIMITS.jsonBodyBytes} bytes`))
        throw new Error(
          `expected 413 naming the ${LIMITS.jsonBodyBytes}-byte limit, got ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    },
  },
  {
    item: '11 (follow-up)',
    description: 'an authenticated body of flat [],[],… just under the 1 MiB limit to POST /v1/models',
    parallel: 4,
    send: (context) =>
      post(context, '/v1/models', authenticatedJson(context), flatEmptyArraysBody(LIMITS.jsonBodyBytes)),
    expect: (answer) => {
      if (answer.status !== 413 || !answer.text.includes(`more than ${LIMITS.bodyValues} objects, arrays`))
        throw new Error(
          `expected 413 naming the limit of ${LIMITS.bodyValues} values, got ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    },
  },
  {
    item: '11 (follow-up)',
    description: 'an authenticated 8 MB body of flat [],[],… to POST /v1/events (the 8 MiB batch route)',
    parallel: 2,
    send: (context) =>
      post(context, '/v1/events', authenticatedJson(context), flatEmptyArraysBody(LIMITS.batchBytes)),
    expect: (answer) => {
      if (answer.status !== 413 || !answer.text.includes(`more than ${LIMITS.bodyValues} objects, arrays`))
        throw new Error(
          `expected 413 naming the limit of ${LIMITS.bodyValues} values, got ${answer.status}: ${answer.text.slice(0, 200)}`,
        );
    },
  },
];

// --- Catastrophic regular expressions (issue 11, items 4 and 5) ----------------------------------

/**
 * Canary assertion patterns that backtrack exponentially on a JavaScript engine against
 * CATASTROPHIC_ANSWER (each froze the process for seconds in the outside review), with whether
 * the answer matches each one.
 */
export const CATASTROPHIC_ASSERTIONS: readonly { regex: string; matches: boolean }[] = [
  { regex: '(a|a)*$', matches: true },
  { regex: '(\\w|\\d)+$', matches: false },
  { regex: '(a{1,5})*$', matches: true },
  { regex: '\\d*\\d*\\d*\\d*\\d*x', matches: false },
  { regex: '^(a+)+$', matches: false },
];
/** 25 "a"s and "!": the answer of the review's reproduction. */
export const CATASTROPHIC_ANSWER = `${'a'.repeat(25)}!`;
/** A silence matcher pattern and a 28-character label value it backtracks on. */
export const CATASTROPHIC_MATCHER = { pattern: '(a+)+', label: `${'a'.repeat(27)}!` };
