import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NotificationEvent } from './engine';
import { formatValue, type Notification, type NotificationAlert } from './notifications';

export const CHANNEL_KINDS = ['webhook', 'slack', 'pagerduty', 'email'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key of the X-Tripline-Signature header. */
  secret: string;
  headers?: Record<string, string>;
}
export interface SlackConfig {
  /** The incoming-webhook URL: its path is the credential. */
  webhook_url: string;
}
export interface PagerDutyConfig {
  /** The integration's routing key (Events API v2). */
  routing_key: string;
  events_url?: string;
}
export interface EmailConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS, required unless allow_plaintext. */
  secure: boolean;
  /**
   * Deprecated, kept for stored channels: TLS is required unless allow_plaintext is set. Once
   * meant "refuse to send unless the server upgrades with STARTTLS", now the default.
   */
  require_tls?: boolean;
  /**
   * Send without TLS when the server offers no STARTTLS (the password and messages then cross
   * the network in clear). Off by default: an SMTP channel requires TLS.
   */
  allow_plaintext?: boolean;
  username?: string;
  password?: string;
  from: string;
  to: string[];
}
export type ChannelConfig = WebhookConfig | SlackConfig | PagerDutyConfig | EmailConfig;

export const DEFAULT_PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
export const REDACTED_SECRET = '[redacted]';

/** Header names a webhook's extra headers may not set: they carry the signature and framing. */
export const RESERVED_WEBHOOK_HEADERS = [
  'content-type',
  'content-length',
  'host',
  'x-tripline-signature',
  'x-tripline-timestamp',
  'x-tripline-delivery',
  'x-tripline-event',
];
const SECRET_HEADER = /authorization|token|secret|key|password|cookie|signature|credential/i;

/** Paths (within the config) of the values that are credentials. */
function secretPaths(kind: ChannelKind, config: Record<string, unknown>): string[][] {
  switch (kind) {
    case 'webhook': {
      const headers = (config.headers ?? {}) as Record<string, string>;
      return [
        ['secret'],
        ...Object.keys(headers)
          .filter((name) => SECRET_HEADER.test(name))
          .map((name) => ['headers', name]),
      ];
    }
    case 'slack':
      return [['webhook_url']];
    case 'pagerduty':
      return [['routing_key']];
    case 'email':
      return [['password']];
  }
}

function getPath(config: Record<string, unknown>, path: string[]): unknown {
  let current: unknown = config;
  for (const part of path) current = (current as Record<string, unknown> | undefined)?.[part];
  return current;
}

function setPath(config: Record<string, unknown>, path: string[], value: unknown): void {
  let current = config;
  for (const part of path.slice(0, -1)) current = current[part] as Record<string, unknown>;
  current[path[path.length - 1]] = value;
}

/** Every credential in a channel config, to scrub from error messages before they are stored or logged. */
export function channelSecrets(kind: ChannelKind, config: ChannelConfig): string[] {
  const values = secretPaths(kind, config as unknown as Record<string, unknown>)
    .map((path) => getPath(config as unknown as Record<string, unknown>, path))
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
  if (kind === 'webhook') {
    const url = safeUrl((config as WebhookConfig).url);
    if (url?.password) values.push(url.password, decodeURIComponent(url.password));
    for (const [name, value] of url?.searchParams ?? [])
      if (SECRET_HEADER.test(name) && value) values.push(value, encodeURIComponent(value));
  }
  return values;
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * Who reads a channel: an admin sees URLs and header values that are not credentials; every other
 * role sees only where notifications go (scheme, host and port), because credentials hide in
 * places no name gives away: URL path tokens, `sig=` parameters, headers such as `X-Auth`.
 */
export type ConfigAudience = 'admin' | 'reader';

/** `scheme://host[:port]`, then `/[redacted]` when the URL carried anything more. */
export function urlDestination(url: string): string {
  const parsed = safeUrl(url);
  if (!parsed) return REDACTED_SECRET;
  const bare = `${parsed.protocol}//${parsed.host}`;
  const more = parsed.username || parsed.password || parsed.pathname !== '/' || parsed.search || parsed.hash;
  return more ? `${bare}/${REDACTED_SECRET}` : bare;
}

/**
 * A copy that is safe to return from the API: credentials become "[redacted]"; a Slack URL keeps
 * its host so people can tell channels apart; a webhook URL loses its password. For readers who
 * are not admins, every header value and every URL beyond scheme, host and port goes too.
 */
export function redactChannelConfig<T extends ChannelConfig>(
  kind: ChannelKind,
  config: T,
  audience: ConfigAudience = 'reader',
): T {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of secretPaths(kind, copy)) {
    if (getPath(copy, path) === undefined) continue;
    if (kind === 'slack') setPath(copy, path, urlDestination(String(copy.webhook_url)));
    else setPath(copy, path, REDACTED_SECRET);
  }
  if (kind === 'webhook') {
    if (audience === 'reader') {
      copy.url = urlDestination(String(copy.url));
      const headers = copy.headers as Record<string, string> | undefined;
      if (headers) for (const name of Object.keys(headers)) headers[name] = REDACTED_SECRET;
    } else {
      // A token in the URL (userinfo or a secret-looking query parameter) is as secret as the signing key.
      const url = safeUrl(String(copy.url));
      if (url) {
        if (url.password) url.password = 'redacted';
        for (const name of [...url.searchParams.keys()])
          if (SECRET_HEADER.test(name)) url.searchParams.set(name, 'redacted');
        copy.url = url.toString();
      }
    }
  }
  if (kind === 'pagerduty' && audience === 'reader' && typeof copy.events_url === 'string')
    copy.events_url = urlDestination(copy.events_url);
  return copy as unknown as T;
}

/** Where a channel's notifications (and with them its credentials) go. */
function destination(kind: ChannelKind, config: Record<string, unknown>): string {
  switch (kind) {
    case 'webhook':
      return String(config.url);
    case 'slack':
      return String(config.webhook_url);
    case 'pagerduty':
      return String(config.events_url ?? DEFAULT_PAGERDUTY_EVENTS_URL);
    case 'email':
      // Allowing plaintext sends the password somewhere new: to whoever listens on the wire.
      return `${String(config.host)}:${String(config.port ?? '')}:${config.allow_plaintext === true}`;
  }
}

/** Values of an update that stand for a stored one: "[redacted]" as GET showed it. */
function redactedPaths(kind: ChannelKind, next: Record<string, unknown>): string[][] {
  const paths = secretPaths(kind, next).filter((path) => {
    const value = getPath(next, path);
    return (
      value === REDACTED_SECRET ||
      (kind === 'slack' && typeof value === 'string' && value.endsWith(`/${REDACTED_SECRET}`))
    );
  });
  if (kind === 'webhook') {
    for (const [name, value] of Object.entries((next.headers ?? {}) as Record<string, unknown>))
      if (value === REDACTED_SECRET && !paths.some((path) => path[1] === name)) paths.push(['headers', name]);
  }
  return paths;
}

/**
 * The config of an update: a credential sent back as "[redacted]" (what GET showed) keeps the
 * stored value, so a client can rename a channel or change its recipients without knowing its
 * secret. A URL sent back as either redacted form keeps the stored URL.
 */
export function keepRedactedSecrets<T extends ChannelConfig>(kind: ChannelKind, stored: T, next: T): T {
  const merged = structuredClone(next) as unknown as Record<string, unknown>;
  const storedConfig = stored as unknown as Record<string, unknown>;
  for (const path of redactedPaths(kind, merged)) setPath(merged, path, getPath(storedConfig, path));
  const shownUrls = (name: 'url' | 'events_url') =>
    (['admin', 'reader'] as const).map(
      (audience) => (redactChannelConfig(kind, stored, audience) as unknown as Record<string, unknown>)[name],
    );
  if (kind === 'webhook' && shownUrls('url').includes(merged.url)) merged.url = storedConfig.url;
  if (
    kind === 'pagerduty' &&
    storedConfig.events_url !== undefined &&
    shownUrls('events_url').includes(merged.events_url)
  )
    merged.events_url = storedConfig.events_url;
  return merged as unknown as T;
}

/**
 * The fields of an update that must be sent again in full: when the destination changes (a new
 * URL, PagerDuty events URL, SMTP host or port, or plaintext allowed), a stored credential sent
 * back as "[redacted]" would otherwise be delivered to the new destination, to whoever chose it.
 */
export function secretsToResupply<T extends ChannelConfig>(kind: ChannelKind, stored: T, next: T): string[] {
  const merged = keepRedactedSecrets(kind, stored, next) as unknown as Record<string, unknown>;
  if (destination(kind, merged) === destination(kind, stored as unknown as Record<string, unknown>))
    return [];
  return redactedPaths(kind, next as unknown as Record<string, unknown>).map((path) => path.join('.'));
}

const MAX_RECEIVER_ERROR = 300;

/**
 * What a receiver's error answer may show: the message of a JSON error (PagerDuty's `message` and
 * `errors`, a webhook's `error` or `message`) or one of Slack's plain error codes
 * (`invalid_token`), else only the body's size. Anything else is not repeated: a destination may
 * be an internal address answering with pages or configuration, and delivery errors are readable
 * by every viewer and written to logs.
 */
export function describeReceiverAnswer(text: string, bytes = Buffer.byteLength(text)): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'empty body';
  if (/^[a-z][a-z0-9_]{0,63}$/.test(trimmed)) return trimmed;
  try {
    const body = JSON.parse(trimmed) as Record<string, unknown>;
    const error = body?.error as Record<string, unknown> | string | undefined;
    const message = [typeof error === 'string' ? error : error?.message, body?.message].find(
      (candidate): candidate is string => typeof candidate === 'string',
    );
    const details = Array.isArray(body?.errors)
      ? body.errors.filter((item): item is string => typeof item === 'string')
      : [];
    const shown = [message, ...details].filter(Boolean).join('; ');
    if (shown) return shown.length > MAX_RECEIVER_ERROR ? `${shown.slice(0, MAX_RECEIVER_ERROR)}…` : shown;
  } catch {
    // Not JSON: not an error any receiver protocol defines.
  }
  return `${bytes}-byte body not shown (not a JSON error)`;
}

/** Replaces every occurrence of each secret in a text (an error a receiver answered, say). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret.length >= 4) scrubbed = scrubbed.split(secret).join(REDACTED_SECRET);
  }
  return scrubbed;
}

// ---------------------------------------------------------------------------------------------
// Webhook

/** `sha256=<hex>` of HMAC-SHA256 over "<timestamp>.<raw body>": the timestamp is signed so a captured request cannot be replayed later with a new one. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: the signature matches and the timestamp (seconds) is within the
 * tolerance of its clock, compared in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  signature: string,
  timestamp: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const sent = Number(timestamp);
  if (Math.abs(nowSeconds - sent) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, sent, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export function webhookRequest(
  config: WebhookConfig,
  notification: Notification,
  delivery: { id: string; attempt: number },
  nowMs: number,
): OutgoingRequest {
  const timestamp = Math.floor(nowMs / 1000);
  const body = JSON.stringify({
    ...notification,
    delivery_id: delivery.id,
    attempt: delivery.attempt,
    sent_at: new Date(nowMs).toISOString(),
  });
  const extra = Object.fromEntries(
    Object.entries(config.headers ?? {}).filter(
      ([name]) => !RESERVED_WEBHOOK_HEADERS.includes(name.toLowerCase()),
    ),
  );
  return {
    url: config.url,
    body,
    headers: {
      ...extra,
      'content-type': 'application/json',
      'x-tripline-event': notification.event,
      'x-tripline-delivery': delivery.id,
      'x-tripline-timestamp': String(timestamp),
      'x-tripline-signature': webhookSignature(config.secret, timestamp, body),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Slack

/** Slack's mrkdwn treats &, < and > as markup. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_ALERTS_SHOWN = 10;
const EVENT_EMOJI: Record<NotificationEvent, string> = {
  firing: ':rotating_light:',
  repeat: ':rotating_light:',
  acknowledged: ':eyes:',
  resolved: ':white_check_mark:',
};

function slackAlertBlocks(alert: NotificationAlert): unknown[] {
  const lines = [
    `*${slackEscape(alert.rule_name)}* (${alert.severity}, ${alert.state}${alert.silenced ? ', silenced' : ''})`,
    slackEscape(alert.summary),
  ];
  if (alert.acknowledged_by) lines.push(`acknowledged by ${slackEscape(alert.acknowledged_by)}`);
  const links = [`<${alert.links.alert}|alert>`];
  if (alert.links.evaluation) links.push(`<${alert.links.evaluation}|evaluation run>`);
  if (alert.links.baseline_evaluation) links.push(`<${alert.links.baseline_evaluation}|baseline run>`);
  if (alert.links.model_stats) links.push(`<${alert.links.model_stats}|window stats>`);
  if (alert.links.model) links.push(`<${alert.links.model}|model>`);
  return [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3_000) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] },
  ];
}

/** An incoming-webhook message: `text` for notifications and old clients, `blocks` for the rest. */
export function slackMessage(notification: Notification): { text: string; blocks: unknown[] } {
  const shown = notification.alerts.slice(0, SLACK_ALERTS_SHOWN);
  const more = notification.alerts.length - shown.length;
  const text = `${EVENT_EMOJI[notification.event]} ${notification.title}`;
  return {
    text: slackEscape(text),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: notification.title.slice(0, 150), emoji: true } },
      ...shown.flatMap(slackAlertBlocks),
      ...(more > 0
        ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `and ${more} more alerts` }] }]
        : []),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// PagerDuty Events API v2

const PAGERDUTY_ACTION: Record<NotificationEvent, 'trigger' | 'acknowledge' | 'resolve'> = {
  firing: 'trigger',
  repeat: 'trigger',
  acknowledged: 'acknowledge',
  resolved: 'resolve',
};

/**
 * One Events API v2 event per alert, all sharing dedup_key = the alert fingerprint, so trigger,
 * acknowledge and resolve act on the same incident (and a repeat trigger only updates it).
 */
export function pagerDutyEvent(
  config: PagerDutyConfig,
  event: NotificationEvent,
  alert: NotificationAlert,
): Record<string, unknown> {
  const action = PAGERDUTY_ACTION[event];
  const common = { routing_key: config.routing_key, event_action: action, dedup_key: alert.fingerprint };
  if (action !== 'trigger') return common;
  const links = [{ href: alert.links.alert, text: 'Tripline alert' }];
  if (alert.links.evaluation) links.push({ href: alert.links.evaluation, text: 'Evaluation run' });
  if (alert.links.model_stats) links.push({ href: alert.links.model_stats, text: 'Window statistics' });
  return {
    ...common,
    payload: {
      summary: `${alert.rule_name}: ${alert.summary}`.slice(0, 1_024),
      source: alert.model_id ?? 'tripline',
      severity: alert.severity,
      timestamp: alert.fired_at ?? alert.active_since,
      component: alert.model_id ?? undefined,
      group: alert.rule_name,
      class: alert.metric,
      custom_details: {
        metric: alert.metric,
        value: alert.value,
        threshold: alert.threshold,
        baseline: alert.baseline,
        condition: alert.condition,
        labels: alert.labels,
        evidence: alert.evidence,
        alert_id: alert.id,
      },
    },
    client: 'Tripline',
    client_url: alert.links.alert,
    links,
  };
}

// ---------------------------------------------------------------------------------------------
// E-mail

export function emailMessage(notification: Notification): { subject: string; text: string } {
  const blocks = notification.alerts.map((alert) => {
    const lines = [
      `${alert.rule_name} — ${alert.severity}, ${alert.state}${alert.silenced ? ' (silenced)' : ''}`,
      `  ${alert.summary}`,
      `  value ${formatValue(alert.value)}, threshold ${formatValue(alert.threshold)}, baseline ${formatValue(alert.baseline)}`,
    ];
    if (alert.acknowledged_by) lines.push(`  acknowledged by ${alert.acknowledged_by}`);
    for (const [name, href] of Object.entries(alert.links))
      lines.push(`  ${name.replace(/_/g, ' ')}: ${href}`);
    return lines.join('\n');
  });
  return {
    subject: notification.title.replace(/[\r\n]+/g, ' ').slice(0, 250),
    text: `${notification.title}\n\n${blocks.join('\n\n')}\n\n-- \nTripline alerting (group ${notification.group.key})\n`,
  };
}
