import path from 'node:path';
import { z } from 'zod';

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'expected an integer port between 1 and 65535' })
    .int('expected an integer port between 1 and 65535')
    .min(1, 'expected an integer port between 1 and 65535')
    .max(65535, 'expected an integer port between 1 and 65535')
    .default(fallback);

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const brokerList = optionalText.pipe(
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter(Boolean),
    )
    .refine((brokers) => brokers.every((broker) => /^[^\s:]+:\d{1,5}$/.test(broker)), {
      message: 'expected a comma-separated list of host:port pairs, e.g. "kafka-1:9092,kafka-2:9092"',
    })
    .optional(),
);

const url = (protocols: string[], example: string) =>
  optionalText.pipe(
    z
      .string()
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol);
          } catch {
            return false;
          }
        },
        { message: `expected a ${protocols.join(' or ')} URL, e.g. "${example}"` },
      )
      .optional(),
  );

/**
 * A pinned reference period for the stream detectors, as an RFC 3339 interval "start/end". A
 * pinned known-good period keeps a slow or long-running change (a backdoor used for days) from
 * becoming part of a sliding reference.
 */
const featureTypeMap = z.record(
  z.string(),
  z.record(z.string(), z.enum(['numeric', 'categorical'], { error: 'expected "numeric" or "categorical"' })),
);

const featureTypes = z.string().transform((value, context) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const checked = featureTypeMap.safeParse(parsed);
  if (!checked.success) {
    context.addIssue({
      code: 'custom',
      message:
        'expected JSON {"<model_id>": {"<feature>": "numeric" | "categorical"}}, e.g. {"credit": {"zip": "categorical"}}',
    });
    return z.NEVER;
  }
  return checked.data;
});

const referencePeriod = z.string().transform((value, context) => {
  const [start, end, ...rest] = value.split('/');
  const from = Date.parse(start ?? '');
  const to = Date.parse(end ?? '');
  if (rest.length > 0 || !Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    context.addIssue({
      code: 'custom',
      message:
        'expected an RFC 3339 interval "start/end" with start before end, e.g. "2026-03-01T00:00:00Z/2026-03-02T00:00:00Z"',
    });
    return z.NEVER;
  }
  return { from, to };
});

/**
 * Every environment variable Tripline reads. Unset service variables mean the embedded default,
 * so an empty environment is a valid standalone configuration.
 */
export const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: port(8080),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRIPLINE_DATA_DIR: z.string().trim().min(1, 'expected a directory path').default('.tripline'),
  TRIPLINE_ADMIN_KEY: optionalText.pipe(
    z
      .string()
      .min(24, 'expected at least 24 characters: an admin key must be hard to guess')
      .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
      .optional(),
  ),
  KAFKA_BROKERS: brokerList,
  KAFKA_CLIENT_ID: z.string().trim().min(1).default('tripline'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-" (a Kafka topic name prefix)')
    .default('tripline.'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1, 'expected an integer >= 1').max(1024).default(6),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1, 'expected an integer >= 1').max(16).default(1),
  CLICKHOUSE_URL: url(['http:', 'https:'], 'http://clickhouse:8123'),
  /**
   * Lets an api or ingestor on Kafka keep its own embedded ClickHouse: only for a test or a
   * single-host trial, since every other process then reads a different, empty history.
   */
  TRIPLINE_EMBEDDED_CLICKHOUSE: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .default('false'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a ClickHouse identifier')
    .default('tripline'),
  CLICKHOUSE_CLUSTER: optionalText.pipe(
    z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "expected a cluster name from the servers' remote_servers")
      .optional(),
  ),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://tripline:secret@db:5432/tripline'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(15000),
  INGEST_BATCH_MAX_ROWS: z.coerce
    .number()
    .int()
    .min(1, 'expected an integer >= 1')
    .max(1_000_000)
    .default(20_000),
  INGEST_BATCH_MAX_WAIT_MS: z.coerce
    .number()
    .int()
    .min(1, 'expected an integer >= 1 (milliseconds)')
    .max(60_000)
    .default(20),
  INGEST_CONSUMER_GROUP: optionalText,
  TRIPLINE_EGRESS_ALLOW_HOSTS: optionalText,
  /**
   * Where local (onnx) model folders may be: a registered path must resolve inside it. Unset:
   * `<TRIPLINE_DATA_DIR>/models` (see parseEnvironment), never "anywhere".
   */
  TRIPLINE_MODELS_DIR: optionalText,
  TRIPLINE_SCHEDULE_SYNC_MS: z.coerce
    .number()
    .int()
    .min(100, 'expected milliseconds >= 100')
    .max(3_600_000)
    .default(5_000),
  TRIPLINE_EVALUATOR_POLL_MS: z.coerce
    .number()
    .int()
    .min(10, 'expected milliseconds >= 10')
    .max(60_000)
    .default(1_000),
  /**
   * How often the outbox publisher looks for messages other replicas left (its own leave at once)
   * and the first retry delay while the bus refuses them.
   */
  TRIPLINE_OUTBOX_POLL_MS: z.coerce
    .number()
    .int()
    .min(10, 'expected milliseconds >= 10')
    .max(600_000)
    .default(1_000),
  TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .default('false'),
  /** How often every local (onnx) model version is checked against its manifest; 0 turns it off. */
  TRIPLINE_ARTEFACT_VERIFY_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || (ms >= 1_000 && ms <= 86_400_000), {
      message: 'expected 0 (off) or milliseconds between 1000 and 86400000',
    })
    .default(600_000),
  /** A PEM file of trusted Ed25519 public keys; when set, onnx versions need a manifest signed by one. */
  TRIPLINE_MANIFEST_KEYS: optionalText,
  /**
   * How long a dataset upload may take from first to last byte. Uploads are staged on disk, so a
   * slow one holds no database connection, but it still holds a socket and a staging file.
   */
  /**
   * API keys from one client address that may be looked up and found unknown per minute; past it,
   * that address gets 429 for new keys (keys that recently worked still pass).
   */
  TRIPLINE_AUTH_FAILURES_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1, 'expected an integer >= 1')
    .max(1_000_000)
    .default(30),
  TRIPLINE_UPLOAD_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1_000, 'expected milliseconds >= 1000')
    .max(86_400_000)
    .default(300_000),
  DRIFT_WINDOW_SECONDS: z.coerce
    .number()
    .int('expected whole seconds')
    .min(1, 'expected seconds >= 1')
    .max(7 * 86_400, 'expected at most 604800 seconds (7 days)')
    .default(300),
  DRIFT_REFERENCE_SECONDS: z.coerce
    .number()
    .int('expected whole seconds')
    .min(1, 'expected seconds >= 1')
    .max(90 * 86_400, 'expected at most 7776000 seconds (90 days)')
    .default(86_400),
  DRIFT_REFERENCE_PERIOD: optionalText.pipe(referencePeriod.optional()),
  DRIFT_MIN_SAMPLES: z.coerce.number().int().min(2, 'expected an integer >= 2').max(1_000_000).default(200),
  /**
   * Standalone only: seed a demo workspace on an empty data directory and run the demo scenario
   * (served model swapped for a backdoored one); a data directory the demo seeded resumes it.
   */
  TRIPLINE_DEMO: z.enum(['true', 'false'], { error: 'expected "true" or "false"' }).default('true'),
  TRIPLINE_DEMO_SWAP_AFTER_SECONDS: z.coerce
    .number()
    .int('expected whole seconds')
    .min(1, 'expected seconds >= 1')
    .max(7 * 86_400, 'expected at most 604800 seconds (7 days)')
    .default(180),
  DRIFT_ALPHA: z.coerce
    .number()
    .gt(0, 'expected a probability in (0, 0.5]')
    .max(0.5, 'expected a probability in (0, 0.5]')
    .default(0.001),
  /** False-discovery rate of the per-feature drift tests, Benjamini–Hochberg across one model's features. */
  DRIFT_FEATURE_FDR: z.coerce
    .number()
    .gt(0, 'expected a rate in (0, 0.5]')
    .max(0.5, 'expected a rate in (0, 0.5]')
    .default(0.01),
  /** Share of a model's tested features that must drift for the dataset-level verdict. */
  DRIFT_DATASET_SHARE: z.coerce
    .number()
    .gt(0, 'expected a share in (0, 1]')
    .max(1, 'expected a share in (0, 1]')
    .default(0.5),
  /** Features tested per model and window, at most. */
  DRIFT_MAX_FEATURES: z.coerce.number().int().min(1, 'expected an integer >= 1').max(512).default(200),
  /** Values kept per feature and window (reservoir sample) for the per-feature tests. */
  DRIFT_FEATURE_SAMPLE: z.coerce
    .number()
    .int()
    .min(100, 'expected an integer >= 100')
    .max(100_000)
    .default(10_000),
  /**
   * Per-model type overrides for ambiguous feature columns, as JSON:
   * {"<model_id>": {"<feature>": "numeric" | "categorical"}}.
   */
  DRIFT_FEATURE_TYPES: optionalText.pipe(featureTypes.optional()),
  /**
   * How far the label-free performance estimate (CBPE: estimated accuracy, estimated macro-F1)
   * must fall below the reference's realised value for a drift verdict (it must also be significant).
   */
  DRIFT_PERFORMANCE_MARGIN: z.coerce
    .number()
    .min(0, 'expected a difference in accuracy in [0, 0.5], e.g. 0.05 for five points')
    .max(0.5, 'expected a difference in accuracy in [0, 0.5], e.g. 0.05 for five points')
    .default(0.05),
  /**
   * Input texts embedded per window and per reference by a model's embedding_encoder (a uniform
   * sample: lowest hash of event_id first). Their MMD takes a permutation p-value, so the cost is
   * the encoder's (2 × this many texts through the model) plus O((2 × this)² · dimension).
   */
  DRIFT_ENCODER_SAMPLE: z.coerce
    .number()
    .int()
    .min(20, 'expected an integer >= 20')
    .max(2_000, 'expected at most 2000 texts (the permutation MMD is quadratic in them)')
    .default(300),
  /** ONNX Runtime threads of an embedding encoder in the ingestor (1 keeps a core for the consumer). */
  DRIFT_ENCODER_THREADS: z.coerce.number().int().min(1, 'expected an integer >= 1').max(64).default(1),
  /** How CBPE calibrates the model's scores on the reference feedback. */
  DRIFT_CBPE_CALIBRATION: z
    .enum(['isotonic', 'histogram'], { error: 'expected "isotonic" or "histogram"' })
    .default('isotonic'),
});

/** The parsed environment, with the defaults that depend on another variable filled in. */
export type Environment = Omit<z.infer<typeof environmentSchema>, 'TRIPLINE_MODELS_DIR'> & {
  /** Absolute; `<TRIPLINE_DATA_DIR>/models` when TRIPLINE_MODELS_DIR is unset. */
  TRIPLINE_MODELS_DIR: string;
};

/** The models directory when TRIPLINE_MODELS_DIR is unset: a folder of the data directory. */
export function defaultModelsDirectory(dataDirectory: string): string {
  return path.resolve(dataDirectory, 'models');
}

/**
 * A distributed api or ingestor (KAFKA_BROKERS set) without CLICKHOUSE_URL would open an embedded
 * engine of its own: the ingestor writes history nobody else reads and the api answers from an
 * empty one while /health says ok. Returns the problem, or undefined when the topology is sound.
 */
export function isolatedHistoryProblem(environment: Environment, service: string): string | undefined {
  if (!environment.KAFKA_BROKERS || environment.CLICKHOUSE_URL) return undefined;
  if (environment.TRIPLINE_EMBEDDED_CLICKHOUSE === 'true') return undefined;
  return (
    `${service} has KAFKA_BROKERS but no CLICKHOUSE_URL: it would keep an embedded ClickHouse that ` +
    `no other process reads, so /stats and dashboards would show nothing. Set CLICKHOUSE_URL to the ` +
    `shared ClickHouse server (e.g. http://clickhouse:8123), or unset KAFKA_BROKERS to run standalone ` +
    `(TRIPLINE_EMBEDDED_CLICKHOUSE=true keeps the embedded engine anyway, for tests).`
  );
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

const SECRET_VARIABLES = new Set(['TRIPLINE_ADMIN_KEY', 'CLICKHOUSE_PASSWORD', 'DATABASE_URL']);

/** Parses the environment; throws a ConfigurationError naming every bad variable and what it expects. */
export function parseEnvironment(source: Record<string, string | undefined>): Environment {
  const result = environmentSchema.safeParse(source);
  if (result.success) {
    const { TRIPLINE_MODELS_DIR: modelsDirectory, ...rest } = result.data;
    return {
      ...rest,
      // Without a bound, registering an onnx version could name (and have hashed) any directory.
      TRIPLINE_MODELS_DIR: path.resolve(modelsDirectory ?? defaultModelsDirectory(rest.TRIPLINE_DATA_DIR)),
    };
  }
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)');
    const raw = source[variable];
    const shown =
      raw === undefined
        ? 'it is not set'
        : SECRET_VARIABLES.has(variable)
          ? 'got a value that is hidden here'
          : `got ${JSON.stringify(raw)}`;
    return `${variable}: ${issue.message} (${shown})`;
  });
  throw new ConfigurationError(problems);
}
