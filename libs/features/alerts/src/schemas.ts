import { z } from 'zod';
import { modelIdSchema } from '@tripline/registry';
import {
  CHANNEL_KINDS,
  matcherProblem,
  MATCHER_OPERATORS,
  RESERVED_WEBHOOK_HEADERS,
  SEVERITIES,
  THRESHOLD_OPERATORS,
} from '@tripline/alert-rules';

const DAY_SECONDS = 86_400;

const labelName = z
  .string()
  .max(128)
  .regex(
    /^[a-zA-Z_][a-zA-Z0-9_.]*$/,
    'expected a label name: letters, digits, "_" or ".", starting with a letter or "_"',
  );
const labelMap = z
  .record(labelName, z.string().max(1_024, 'expected label values of at most 1024 characters'))
  .refine((labels) => Object.keys(labels).length <= 32, 'expected at most 32 labels');

const metricName = z
  .string()
  .min(1)
  .max(256)
  .regex(
    /^[a-zA-Z_][a-zA-Z0-9_.:-]*$/,
    'expected a metric name such as "attack_success_rate" or "drift.prediction.chi_square"',
  );

export const conditionSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({
        type: z.literal('threshold'),
        op: z.enum(THRESHOLD_OPERATORS, {
          error: `expected op to be one of ${THRESHOLD_OPERATORS.join(' ')}`,
        }),
        value: z.number().finite(),
      })
      .strict(),
    z
      .object({
        type: z.literal('statistical'),
        alpha: z
          .number()
          .gt(0, 'expected a significance level between 0 and 1, e.g. 0.01')
          .lt(1, 'expected a significance level between 0 and 1, e.g. 0.01'),
      })
      .strict(),
  ],
  {
    error:
      'expected condition.type "threshold" (op, value) or "statistical" (alpha: alert when p-value < alpha)',
  },
);

const ruleFields = {
  name: z.string().trim().min(1, 'expected a rule name').max(200),
  description: z.string().max(4_000).optional(),
  metric: metricName,
  selector: z.object({ model_id: modelIdSchema.optional(), labels: labelMap.optional() }).strict().optional(),
  condition: conditionSchema,
  for_seconds: z
    .number()
    .int()
    .min(0)
    .max(30 * DAY_SECONDS)
    .optional(),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(', ')}` }).optional(),
  labels: labelMap.optional(),
  group_by: z.array(labelName).max(16).optional(),
  repeat_interval_seconds: z
    .number()
    .int()
    .min(0)
    .max(30 * DAY_SECONDS)
    .optional(),
  channel_ids: z.array(z.uuid('expected a channel id')).max(50).optional(),
  enabled: z.boolean().optional(),
};

export const newRuleSchema = z.object(ruleFields).strict();
export const ruleChangesSchema = z.object(ruleFields).partial().strict();
export type NewRule = z.infer<typeof newRuleSchema>;
export type RuleChanges = z.infer<typeof ruleChangesSchema>;

export const ruleFilterSchema = z
  .object({ model_id: modelIdSchema.optional(), metric: metricName.optional() })
  .strict();

export const ALERT_STATE_FILTERS = ['pending', 'firing', 'acknowledged', 'resolved', 'open'] as const;

export const alertFilterSchema = z
  .object({
    state: z
      .string()
      .optional()
      .transform((value) => (value ? value.split(',').map((part) => part.trim()) : undefined))
      .pipe(
        z
          .array(
            z.enum(ALERT_STATE_FILTERS, {
              error: `expected state to be a comma-separated list of ${ALERT_STATE_FILTERS.join(', ')}`,
            }),
          )
          .optional(),
      ),
    model_id: modelIdSchema.optional(),
    rule_id: z.uuid('expected a rule id').optional(),
    severity: z.enum(SEVERITIES).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();

export const alertActionSchema = z
  .object({ comment: z.string().max(2_000).optional() })
  .strict()
  .optional();

export const matcherSchema = z
  .object({
    name: labelName,
    op: z
      .enum(MATCHER_OPERATORS, { error: `expected op to be one of ${MATCHER_OPERATORS.join(' ')}` })
      .default('='),
    value: z.string().max(1_024),
  })
  .strict()
  .superRefine((matcher, context) => {
    const problem = matcherProblem(matcher);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

const instant = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 time with an offset' });

export const newSilenceSchema = z
  .object({
    matchers: z.array(matcherSchema).min(1, 'expected at least one matcher').max(32),
    starts_at: instant.optional(),
    ends_at: instant.optional(),
    duration_seconds: z
      .number()
      .int()
      .min(1)
      .max(365 * DAY_SECONDS)
      .optional(),
    comment: z.string().max(2_000).optional(),
  })
  .strict()
  .refine((silence) => (silence.ends_at === undefined) !== (silence.duration_seconds === undefined), {
    message: 'expected exactly one of ends_at and duration_seconds',
    path: ['ends_at'],
  });
export type NewSilence = z.infer<typeof newSilenceSchema>;

export const silenceFilterSchema = z
  .object({ status: z.enum(['active', 'pending', 'expired', 'all']).default('active') })
  .strict();

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const address = z
  .string()
  .min(3)
  .max(320)
  .refine((value) => value.includes('@') && !/[\r\n]/.test(value), 'expected an e-mail address');

export const channelConfigSchemas = {
  webhook: z
    .object({
      url: httpUrl,
      secret: z.string().min(16, 'expected a signing secret of at least 16 characters').max(512),
      headers: z
        .record(
          z.string().regex(/^[A-Za-z0-9-]{1,128}$/, 'expected an HTTP header name'),
          z.string().max(4_096),
        )
        .refine(
          (headers) =>
            Object.keys(headers).every((name) => !RESERVED_WEBHOOK_HEADERS.includes(name.toLowerCase())),
          `expected no header Tripline sets itself (${RESERVED_WEBHOOK_HEADERS.join(', ')})`,
        )
        .optional(),
    })
    .strict(),
  slack: z.object({ webhook_url: httpUrl }).strict(),
  pagerduty: z
    .object({
      routing_key: z.string().min(1, 'expected the integration routing key').max(128),
      events_url: httpUrl.optional(),
    })
    .strict(),
  email: z
    .object({
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65_535).default(587),
      secure: z.boolean().default(false),
      require_tls: z.boolean().optional(),
      allow_plaintext: z.boolean().default(false),
      username: z.string().max(256).optional(),
      password: z.string().max(1_024).optional(),
      from: address,
      to: z.array(address).min(1, 'expected at least one recipient').max(50),
    })
    .strict(),
} as const;

const channelCommon = {
  name: z.string().trim().min(1, 'expected a channel name').max(200),
  enabled: z.boolean().optional(),
  max_attempts: z.number().int().min(1).max(100).optional(),
};

export const newChannelSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('webhook'), config: channelConfigSchemas.webhook, ...channelCommon }).strict(),
    z.object({ kind: z.literal('slack'), config: channelConfigSchemas.slack, ...channelCommon }).strict(),
    z
      .object({ kind: z.literal('pagerduty'), config: channelConfigSchemas.pagerduty, ...channelCommon })
      .strict(),
    z.object({ kind: z.literal('email'), config: channelConfigSchemas.email, ...channelCommon }).strict(),
  ],
  { error: `expected kind to be one of ${CHANNEL_KINDS.join(', ')}` },
);
export type NewChannel = z.infer<typeof newChannelSchema>;

export const channelChangesSchema = z
  .object({
    name: channelCommon.name.optional(),
    enabled: z.boolean().optional(),
    max_attempts: channelCommon.max_attempts,
    /** Replaces the whole config; a credential sent back as "[redacted]" keeps the stored one. */
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type ChannelChanges = z.infer<typeof channelChangesSchema>;

export const deliveryFilterSchema = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();
