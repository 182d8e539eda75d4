import { z } from 'zod';
import { egressPolicyFromEnvironment, type EgressPolicy } from '@tripline/egress';
import { ConfigurationError, type Environment } from '@tripline/config';

/** Injection token of the alerter's settings. */
export const ALERTER_SETTINGS = Symbol('ALERTER_SETTINGS');

export interface AlerterSettings {
  /** Base of the links in notifications: where people reach this installation's API. */
  publicUrl: string;
  consumerGroup: string;
  /** How often pending alerts, silences and repeat intervals are checked. */
  tickMs: number;
  /** How often due deliveries are looked for (new ones are sent at once; this is the backstop for retries). */
  deliveryPollMs: number;
  retryBaseMs: number;
  retryCapMs: number;
  requestTimeoutMs: number;
  /** How often consumer lag is observed; 0 turns it off. */
  lagIntervalMs: number;
  egress: EgressPolicy;
}

const milliseconds = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: `expected milliseconds between ${min} and ${max}` })
    .int(`expected whole milliseconds between ${min} and ${max}`)
    .min(min, `expected milliseconds between ${min} and ${max}`)
    .max(max, `expected milliseconds between ${min} and ${max}`)
    .default(fallback);

const schema = z.object({
  TRIPLINE_PUBLIC_URL: z
    .string()
    .trim()
    .optional()
    .refine((value) => {
      if (!value) return true;
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'expected the http(s) URL people use to reach the API, e.g. "https://tripline.example.com"'),
  TRIPLINE_ALERTER_TICK_MS: milliseconds(5_000, 50, 600_000),
  TRIPLINE_ALERTER_DELIVERY_POLL_MS: milliseconds(1_000, 20, 600_000),
  TRIPLINE_ALERTER_RETRY_BASE_MS: milliseconds(2_000, 10, 3_600_000),
  TRIPLINE_ALERTER_RETRY_CAP_MS: milliseconds(600_000, 10, 86_400_000),
  TRIPLINE_ALERTER_TIMEOUT_MS: milliseconds(10_000, 100, 300_000),
  TRIPLINE_ALERTER_LAG_INTERVAL_MS: milliseconds(30_000, 0, 3_600_000),
});

/**
 * The alerter's variables, validated like the rest of the environment: a bad value stops the
 * process with the variable, what it expects and what it got.
 */
export function alerterSettings(
  environment: Environment,
  source: Record<string, string | undefined> = process.env,
): AlerterSettings {
  const result = schema.safeParse(source);
  if (!result.success) {
    throw new ConfigurationError(
      result.error.issues.map((issue) => {
        const variable = String(issue.path[0]);
        const raw = source[variable];
        return `${variable}: ${issue.message} (${raw === undefined ? 'it is not set' : `got ${JSON.stringify(raw)}`})`;
      }),
    );
  }
  const values = result.data;
  return {
    publicUrl: (values.TRIPLINE_PUBLIC_URL || `http://localhost:${environment.PORT}`).replace(/\/+$/, ''),
    consumerGroup: `${environment.KAFKA_TOPIC_PREFIX}alerter`,
    tickMs: values.TRIPLINE_ALERTER_TICK_MS,
    deliveryPollMs: values.TRIPLINE_ALERTER_DELIVERY_POLL_MS,
    retryBaseMs: values.TRIPLINE_ALERTER_RETRY_BASE_MS,
    retryCapMs: Math.max(values.TRIPLINE_ALERTER_RETRY_CAP_MS, values.TRIPLINE_ALERTER_RETRY_BASE_MS),
    requestTimeoutMs: values.TRIPLINE_ALERTER_TIMEOUT_MS,
    lagIntervalMs: values.TRIPLINE_ALERTER_LAG_INTERVAL_MS,
    egress: egressPolicyFromEnvironment({
      TRIPLINE_EGRESS_ALLOW_HOSTS: environment.TRIPLINE_EGRESS_ALLOW_HOSTS,
      TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL,
    }),
  };
}
