import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { alertEventSchema, type AlertEventMessage, type EvaluationRunMessage } from '@tripline/contracts';
import { ConfigModule } from '@tripline/config';
import { PostgresModule } from '@tripline/postgres';
import { OperabilityModule } from '@tripline/server';
import { EventBus, TransportModule, type Subscription } from '@tripline/transport';
import { createTestDatabase, eventually, freePort, kafkaBrokers, uniqueName } from '@tripline/testing';
import {
  AlertRuleRunner,
  AlertsModule,
  NotificationSender,
  type ChannelEntity,
  type DeliveryEntity,
} from '@tripline/alerts';
import { HttpReceiver, SmtpReceiver } from './alerting-receivers';

const ADMIN_KEY = 'tl_alerting-integration-admin-key-0123';
const WEBHOOK_SECRET = 'webhook-signing-secret-0123456789';
const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';

interface Alert {
  id: string;
  state: string;
  fingerprint: string;
  silenced: boolean;
  value: number;
  threshold: number;
  model_id: string;
  acknowledged_by: string | null;
  links: { alert: string; evaluation?: string };
}
interface Delivery {
  id: string;
  channel_id: string;
  event: string;
  status: string;
  attempts: number;
  last_error: string | null;
  last_status: number | null;
}
interface WebhookBody {
  event: string;
  delivery_id: string;
  alerts: {
    id: string;
    fingerprint: string;
    value: number;
    threshold: number;
    model_id: string;
    summary: string;
    links: Record<string, string>;
  }[];
}

describe('alerting against real PostgreSQL, Kafka, HTTP receivers and an SMTP server', () => {
  const prefix = `${uniqueName('alerting')}.`;
  const receiver = new HttpReceiver();
  const smtp = new SmtpReceiver();
  const alertEvents: AlertEventMessage[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: INestApplication | undefined;
  let baseUrl = '';
  let receiverUrl = '';
  let smtpPort = 0;
  let alertsSubscription: Subscription | undefined;
  let viewerKey = '';
  const channels: Record<string, string> = {};
  let firstAlert: Alert;

  const environment = () => ({
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    KAFKA_BROKERS: kafkaBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '2',
    TRIPLINE_ADMIN_KEY: ADMIN_KEY,
    TRIPLINE_PUBLIC_URL: 'https://tripline.example',
    TRIPLINE_ALERTER_TICK_MS: '200',
    TRIPLINE_ALERTER_DELIVERY_POLL_MS: '100',
    TRIPLINE_ALERTER_RETRY_BASE_MS: '50',
    TRIPLINE_ALERTER_RETRY_CAP_MS: '200',
    TRIPLINE_ALERTER_TIMEOUT_MS: '5000',
    TRIPLINE_ALERTER_LAG_INTERVAL_MS: '0',
  });

  /** The same modules as apps/alerter, in this process, listening on a free port. */
  async function startAlerter(): Promise<void> {
    Object.assign(process.env, environment());
    const module = await Test.createTestingModule({
      imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, AlertsModule],
    }).compile();
    app = module.createNestApplication({ logger: ['error', 'warn'] });
    const port = await freePort();
    await app.listen(port, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${port}`;
  }

  const api = async <T>(method: string, route: string, body?: unknown, key = ADMIN_KEY) => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  const evaluation = (
    modelId: string,
    overrides: Partial<EvaluationRunMessage> = {},
  ): EvaluationRunMessage => ({
    run_id: randomUUID(),
    model_id: modelId,
    model_version: '1',
    dataset_id: 'canary-set',
    dataset_kind: 'canary',
    status: 'succeeded',
    started_at: Date.now() - 1_000,
    finished_at: Date.now(),
    sample_count: 200,
    attack_success_rate: 0.9,
    flip_rate: 0.1,
    ...overrides,
  });

  const publish = (...messages: EvaluationRunMessage[]) =>
    app!.get(EventBus).publish(
      'evaluations',
      messages.map((message) => ({ key: message.model_id, value: JSON.stringify(message) })),
    );

  const alertsOf = async (modelId: string, state?: string) =>
    (
      await api<{ items: Alert[] }>(
        'GET',
        `/v1/alerts?model_id=${modelId}${state ? `&state=${state}` : ''}`,
        undefined,
        viewerKey,
      )
    ).body.items;

  const waitForAlert = (modelId: string, state: string, predicate: (alert: Alert) => boolean = () => true) =>
    eventually(async () => (await alertsOf(modelId, state)).find(predicate), 60_000, 100);

  const deliveriesOf = async (alertId: string) =>
    (await api<{ items: Delivery[] }>('GET', `/v1/alerts/${alertId}/deliveries`, undefined, viewerKey)).body
      .items;

  const webhookSignatureValid = (request: { headers: Record<string, unknown>; raw: string }) => {
    const timestamp = String(request.headers['x-tripline-timestamp']);
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${request.raw}`).digest('hex');
    return (
      request.headers['x-tripline-signature'] === `sha256=${expected}` &&
      Math.abs(Date.now() / 1000 - Number(timestamp)) < 300
    );
  };

  before(async () => {
    database = await createTestDatabase();
    receiverUrl = await receiver.start();
    receiver.answer('/pagerduty', 202, '{"status":"success","message":"Event processed"}');
    receiver.answer('/failing', 500, 'receiver is down for maintenance');
    smtpPort = await smtp.start();
    await startAlerter();

    const viewer = await api<{ key: string }>('POST', '/v1/keys', { name: 'on-call viewer', role: 'viewer' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
    viewerKey = viewer.body.key;

    const create = async (
      name: string,
      kind: string,
      config: unknown,
      extra: Record<string, unknown> = {},
    ) => {
      const response = await api<{ id: string }>('POST', '/v1/channels', { name, kind, config, ...extra });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      channels[name] = response.body.id;
    };
    await create('hook', 'webhook', { url: `${receiverUrl}/hook`, secret: WEBHOOK_SECRET });
    await create('slack', 'slack', { webhook_url: `${receiverUrl}/slack/T000/B000/XXXXSECRETXXXX` });
    await create('pagerduty', 'pagerduty', {
      routing_key: ROUTING_KEY,
      events_url: `${receiverUrl}/pagerduty`,
    });
    await create('mail', 'email', {
      host: '127.0.0.1',
      port: smtpPort,
      // The loopback receiver speaks plain SMTP only; TLS is required unless a channel says this.
      allow_plaintext: true,
      from: 'tripline@example.com',
      to: ['oncall@example.com'],
    });
    await create(
      'failing',
      'webhook',
      { url: `${receiverUrl}/failing`, secret: WEBHOOK_SECRET },
      { max_attempts: 3 },
    );

    const rule = async (body: Record<string, unknown>) => {
      const response = await api<{ id: string }>('POST', '/v1/rules', body);
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body.id;
    };
    await rule({
      name: 'backdoor answers its trigger',
      metric: 'attack_success_rate',
      condition: { type: 'threshold', op: '>', value: 0.5 },
      severity: 'critical',
      labels: { team: 'ml-platform' },
      channel_ids: [channels.hook, channels.slack, channels.pagerduty, channels.mail],
    });
    await rule({
      name: 'canary flips',
      metric: 'flip_rate',
      condition: { type: 'threshold', op: '>=', value: 0.5 },
      selector: { model_id: 'flaky' },
      channel_ids: [channels.failing],
    });

    alertsSubscription = await app!.get(EventBus).subscribe({
      groupId: uniqueName('alerts-reader'),
      topics: ['alerts'],
      fromBeginning: true,
      handleBatch: async (batch) => {
        for (const message of batch.messages)
          alertEvents.push(alertEventSchema.parse(JSON.parse(message.value.toString())));
      },
    });
  });

  after(async () => {
    await alertsSubscription?.stop();
    await app?.close();
    await receiver.stop();
    await smtp.stop();
    await database?.drop();
  });

  it('an attack-success rate of 0.9 fires: alert event, signed webhook, Slack, PagerDuty trigger and an e-mail', async () => {
    const run = evaluation('backdoored');
    await publish(run);
    const alert = await waitForAlert('backdoored', 'firing');
    firstAlert = alert;
    assert.equal(alert.value, 0.9);
    assert.equal(alert.threshold, 0.5);
    assert.equal(alert.links.evaluation, `https://tripline.example/v1/evaluations/${run.run_id}`);

    const event = await eventually(async () =>
      alertEvents.find((e) => e.alert_id === alert.id && e.state === 'firing'),
    );
    assert.equal(event.model_id, 'backdoored');
    assert.equal(event.severity, 'critical');
    assert.equal(event.value, 0.9);
    assert.equal(event.fingerprint, alert.fingerprint);

    const deliveries = await eventually(async () => {
      const items = await deliveriesOf(alert.id);
      return items.length === 4 && items.every((d) => d.status === 'delivered') ? items : undefined;
    });
    assert.deepEqual(
      deliveries.map((delivery) => delivery.channel_id).sort(),
      [channels.hook, channels.slack, channels.pagerduty, channels.mail].sort(),
    );

    const [hook] = receiver.at('/hook');
    assert.ok(webhookSignatureValid(hook), 'the webhook signature verifies with the channel secret');
    const body = hook.json as WebhookBody;
    assert.equal(body.event, 'firing');
    assert.equal(hook.headers['x-tripline-delivery'], body.delivery_id);
    assert.equal(body.alerts[0].id, alert.id);
    assert.equal(body.alerts[0].model_id, 'backdoored');
    assert.equal(body.alerts[0].value, 0.9);
    assert.equal(body.alerts[0].threshold, 0.5);
    assert.equal(body.alerts[0].links.alert, `https://tripline.example/v1/alerts/${alert.id}`);
    assert.equal(body.alerts[0].links.evaluation, `https://tripline.example/v1/evaluations/${run.run_id}`);

    const [slack] = receiver.requests.filter((request) => request.path.startsWith('/slack/'));
    const message = slack.json as { text: string; blocks: { type: string }[] };
    assert.match(message.text, /FIRING: backdoor answers its trigger on backdoored/);
    assert.ok(message.blocks.some((block) => block.type === 'section'));
    assert.match(slack.raw, new RegExp(`v1/evaluations/${run.run_id}`));

    const [trigger] = receiver.at('/pagerduty');
    const pagerDuty = trigger.json as { routing_key: string; event_action: string; dedup_key: string };
    assert.equal(pagerDuty.routing_key, ROUTING_KEY);
    assert.equal(pagerDuty.event_action, 'trigger');
    assert.equal(pagerDuty.dedup_key, alert.fingerprint);

    const [mail] = smtp.messages;
    assert.deepEqual(mail.to, ['oncall@example.com']);
    assert.match(mail.text, /Subject: \[CRITICAL\] FIRING: backdoor answers its trigger on backdoored/);
    assert.match(mail.text, /value 0.9, threshold 0.5/);
    assert.match(mail.text, new RegExp(`evaluation: https://tripline.example/v1/evaluations/${run.run_id}`));
    assert.match(mail.text, new RegExp(`alert: https://tripline.example/v1/alerts/${alert.id}`));
  });

  it('the same breach again, redelivered or from a new run, stays one alert and pages nobody again', async () => {
    const alert = firstAlert;
    const repeat = evaluation('backdoored', { attack_success_rate: 0.95 });
    await publish(repeat, repeat, evaluation('backdoored', { attack_success_rate: 0.92 }));
    // A breach on another series of the same model is a barrier: same key, same partition, later offset.
    await publish(evaluation('backdoored', { dataset_id: 'barrier-set' }));
    await waitForAlert('backdoored', 'firing', (a) => a.id !== alert.id);

    const open = (await alertsOf('backdoored', 'open')).filter((a) => a.fingerprint === alert.fingerprint);
    assert.equal(open.length, 1);
    assert.equal(open[0].id, alert.id);
    assert.equal(open[0].value, 0.92, 'the alert carries the latest value');
    assert.equal((await deliveriesOf(alert.id)).length, 4, 'no new notification for the same alert');
  });

  it('channel credentials are never returned; an update that sends them back redacted keeps them', async () => {
    const { body } = await api<{ items: { name: string; config: Record<string, unknown> }[] }>(
      'GET',
      '/v1/channels',
      undefined,
      viewerKey,
    );
    const text = JSON.stringify(body);
    for (const secret of [WEBHOOK_SECRET, ROUTING_KEY, 'XXXXSECRETXXXX']) assert.ok(!text.includes(secret));
    const hook = body.items.find((channel) => channel.name === 'hook')!;
    assert.equal(hook.config.secret, '[redacted]');
    const renamed = await api<{ name: string }>('PATCH', `/v1/channels/${channels.hook}`, {
      name: 'hook-renamed',
      config: hook.config,
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    // The resolve below is signed with the stored secret: it survived the update.
  });

  it('a viewer sees only where a channel sends; a new destination needs every credential again', async () => {
    const hook = await api<{ config: { url: string; secret: string } }>(
      'GET',
      `/v1/channels/${channels.failing}`,
      undefined,
      viewerKey,
    );
    assert.equal(hook.body.config.url, `${receiverUrl}/[redacted]`, 'no path for a viewer');
    const admin = await api<{ config: { url: string } }>('GET', `/v1/channels/${channels.failing}`);
    assert.equal(admin.body.config.url, `${receiverUrl}/failing`, 'an admin sees the path');

    const moved = await api<{ message: string }>('PATCH', `/v1/channels/${channels.failing}`, {
      config: { ...hook.body.config, url: 'https://elsewhere.example/collect' },
    });
    assert.equal(moved.status, 400, JSON.stringify(moved.body));
    assert.match(moved.body.message, /supply config\.secret again instead of "\[redacted\]"/);
    const pagerduty = await api<{ config: Record<string, string> }>(
      'GET',
      `/v1/channels/${channels.pagerduty}`,
    );
    const redirected = await api<{ message: string }>('PATCH', `/v1/channels/${channels.pagerduty}`, {
      config: { ...pagerduty.body.config, events_url: 'https://elsewhere.example/enqueue' },
    });
    assert.equal(redirected.status, 400, JSON.stringify(redirected.body));
    assert.match(redirected.body.message, /supply config\.routing_key again/);
    const mail = await api<{ config: Record<string, unknown> }>('GET', `/v1/channels/${channels.mail}`);
    const withPassword = await api('PATCH', `/v1/channels/${channels.mail}`, {
      config: { ...mail.body.config, password: 'smtp-password-1' },
    });
    assert.equal(withPassword.status, 200, JSON.stringify(withPassword.body));
    const rehosted = await api<{ message: string }>('PATCH', `/v1/channels/${channels.mail}`, {
      config: { ...mail.body.config, password: '[redacted]', host: 'smtp.elsewhere.example' },
    });
    assert.equal(rehosted.status, 400, JSON.stringify(rehosted.body));
    assert.match(rehosted.body.message, /supply config\.password again/);
    const stored = await api<{ config: { host: string; url?: string } }>(
      'GET',
      `/v1/channels/${channels.mail}`,
    );
    assert.equal(stored.body.config.host, '127.0.0.1', 'a refused update changes nothing');
  });

  it('an e-mail channel does not send in clear unless it allows plaintext', async () => {
    const sender = app!.get(NotificationSender);
    const received = smtp.messages.length;
    const notification = { event: 'firing', title: 'TLS check', alerts: [], group: { key: 'tls' } };
    const outcome = await sender.send(
      {
        kind: 'email',
        config: {
          host: '127.0.0.1',
          port: smtpPort,
          secure: false,
          from: 'a@example.com',
          to: ['b@example.com'],
        },
      } as unknown as ChannelEntity,
      { id: randomUUID(), event: 'firing', notification } as unknown as DeliveryEntity,
      1,
    );
    assert.equal(outcome.ok, false);
    assert.match(
      (outcome as { error: string }).error,
      /offers no STARTTLS and the channel requires TLS \(set allow_plaintext: true/,
    );
    assert.equal((outcome as { retryable: boolean }).retryable, false);
    assert.equal(smtp.messages.length, received, 'nothing was sent in clear');
  });

  it('a later evaluation under the threshold resolves the alert; PagerDuty resolves the same dedup_key', async () => {
    const alert = firstAlert;
    await publish(evaluation('backdoored', { attack_success_rate: 0.1 }));
    const resolved = await eventually(async () => {
      const found = await api<Alert & { resolution: string }>(
        'GET',
        `/v1/alerts/${alert.id}`,
        undefined,
        viewerKey,
      );
      return found.body.state === 'resolved' ? found.body : undefined;
    });
    assert.equal(resolved.resolution, 'condition-cleared');
    await eventually(async () => alertEvents.find((e) => e.alert_id === alert.id && e.state === 'resolved'));

    const resolve = await eventually(async () =>
      receiver
        .at('/pagerduty')
        .map((request) => request.json as { event_action: string; dedup_key: string })
        .find((event) => event.event_action === 'resolve' && event.dedup_key === alert.fingerprint),
    );
    assert.equal(resolve.dedup_key, alert.fingerprint);
    const hook = await eventually(async () =>
      receiver.at('/hook').find((request) => (request.json as WebhookBody).event === 'resolved'),
    );
    assert.ok(webhookSignatureValid(hook));
    assert.equal((hook.json as WebhookBody).alerts[0].value, 0.1);
    await eventually(async () =>
      smtp.messages.some((mail) => /RESOLVED: backdoor answers its trigger/.test(mail.raw))
        ? true
        : undefined,
    );
  });

  it('acknowledging needs an operator, records who, and acknowledges the PagerDuty incident', async () => {
    await publish(evaluation('acked'));
    const alert = await waitForAlert('acked', 'firing');
    const denied = await api('POST', `/v1/alerts/${alert.id}/acknowledge`, {}, viewerKey);
    assert.equal(denied.status, 403);
    const acknowledged = await api<Alert>('POST', `/v1/alerts/${alert.id}/acknowledge`, {});
    assert.equal(acknowledged.status, 200, JSON.stringify(acknowledged.body));
    assert.equal(acknowledged.body.state, 'acknowledged');
    assert.match(acknowledged.body.acknowledged_by!, /^bootstrap admin/);
    const again = await api<Alert>('POST', `/v1/alerts/${alert.id}/acknowledge`, {});
    assert.equal(again.body.state, 'acknowledged', 'acknowledging twice changes nothing');

    await eventually(async () =>
      alertEvents.find((e) => e.alert_id === alert.id && e.state === 'acknowledged'),
    );
    const acknowledge = await eventually(async () =>
      receiver
        .at('/pagerduty')
        .map((request) => request.json as { event_action: string; dedup_key: string })
        .find((event) => event.event_action === 'acknowledge'),
    );
    assert.equal(acknowledge.dedup_key, alert.fingerprint);

    const resolved = await api<Alert>('POST', `/v1/alerts/${alert.id}/resolve`, {});
    assert.equal(resolved.body.state, 'resolved');
    const conflict = await api<{ message: string }>('POST', `/v1/alerts/${alert.id}/acknowledge`, {});
    assert.equal(conflict.status, 409);
    assert.match(conflict.body.message, /resolved; only a firing alert can be acknowledged/);
  });

  it('a silence matching the alert suppresses every notification but not the alert', async () => {
    const silence = await api<{ id: string; status: string }>('POST', '/v1/silences', {
      matchers: [
        { name: 'model_id', op: '=~', value: 'quiet-.*' },
        { name: 'alertname', op: '=', value: 'backdoor answers its trigger' },
      ],
      duration_seconds: 3_600,
      comment: 'retraining quiet-model, expect canary noise',
    });
    assert.equal(silence.status, 201, JSON.stringify(silence.body));
    assert.equal(silence.body.status, 'active');
    const listed = await api<{ items: { id: string }[] }>('GET', '/v1/silences', undefined, viewerKey);
    assert.ok(listed.body.items.some((item) => item.id === silence.body.id));

    await publish(evaluation('quiet-model'));
    const alert = await waitForAlert('quiet-model', 'firing');
    assert.equal(alert.silenced, true);
    // Deliveries are written in the transaction that fired the alert: none exist, none will.
    assert.deepEqual(await deliveriesOf(alert.id), []);
    await eventually(async () => alertEvents.find((e) => e.alert_id === alert.id && e.state === 'silenced'));
    assert.ok(!alertEvents.some((e) => e.alert_id === alert.id && e.state === 'firing'));

    const expired = await api<{ status: string }>('DELETE', `/v1/silences/${silence.body.id}`);
    assert.equal(expired.body.status, 'expired');
    // Once the silence is over, the still-firing alert is notified after all.
    const after = await eventually(async () => {
      const items = await deliveriesOf(alert.id);
      return items.length === 4 && items.every((d) => d.status === 'delivered') ? items : undefined;
    });
    assert.ok(after.every((delivery) => delivery.event === 'firing'));
  });

  it('a receiver answering 500 is retried with backoff, then the delivery is failed and visible in the API', async () => {
    await publish(evaluation('flaky', { flip_rate: 0.8, attack_success_rate: 0.0 }));
    const alert = await waitForAlert('flaky', 'firing');
    const failed = await eventually(async () => {
      const { body } = await api<{ items: Delivery[] }>(
        'GET',
        `/v1/channels/${channels.failing}/deliveries?status=failed`,
        undefined,
        viewerKey,
      );
      return body.items[0];
    });
    assert.equal(failed.attempts, 3);
    assert.equal(failed.last_status, 500);
    // The receiver's plain-text body is not a JSON error: only its size is kept, never its text.
    assert.match(failed.last_error!, /answered 500: 32-byte body not shown/);
    assert.doesNotMatch(failed.last_error!, /maintenance/);
    const attempts = receiver.at('/failing');
    assert.deepEqual(
      attempts.map((request) => (request.json as { attempt: number }).attempt),
      [1, 2, 3],
      'every attempt reached the receiver, once',
    );
    assert.ok(attempts.every((request) => request.headers['x-tripline-delivery'] === failed.id));
    assert.ok(attempts.every(webhookSignatureValid), 'each attempt is freshly signed');
    assert.deepEqual(
      (await deliveriesOf(alert.id)).map((delivery) => delivery.status),
      ['failed'],
    );
  });

  it('a drift window whose p-value is under alpha fires a statistical rule, linked to the window', async () => {
    const created = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'prediction drift',
      metric: 'drift.prediction.chi_square',
      condition: { type: 'statistical', alpha: 0.01 },
      channel_ids: [channels.hook],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const rules = await api<{ items: { name: string }[] }>(
      'GET',
      '/v1/rules?model_id=flaky',
      undefined,
      viewerKey,
    );
    assert.deepEqual(
      rules.body.items.map((rule) => rule.name),
      ['backdoor answers its trigger', 'canary flips', 'prediction drift'],
      'rules for every model and the rule for this one',
    );
    const window = (pValue: number, end: number, verdict = 'drift') => ({
      model_id: 'drifting',
      metric: 'prediction',
      detector: 'chi_square',
      window_start: end - 300_000,
      window_end: end,
      statistic: 42.5,
      p_value: pValue,
      effect_size: 0.4,
      sample_size: 500,
      reference_size: 5_000,
      verdict,
    });
    const now = Date.now();
    await app!.get(EventBus).publish('metrics', [
      { key: 'drifting', value: JSON.stringify(window(0.2, now - 1_000, 'ok')) },
      { key: 'drifting', value: JSON.stringify(window(0.0004, now)) },
    ]);
    const alert = await waitForAlert('drifting', 'firing');
    assert.equal(alert.value, 0.0004);
    assert.equal(alert.threshold, 0.01);
    const hook = await eventually(async () =>
      receiver.at('/hook').find((request) => (request.json as WebhookBody).alerts[0].id === alert.id),
    );
    const [notified] = (hook.json as WebhookBody).alerts;
    assert.match(notified.summary, /drift.prediction.chi_square = 42.5, p-value 0.0004/);
    assert.match(notified.links.model_stats, /\/v1\/models\/drifting\/stats\?from=.*&to=/);
  });

  it('alerts of one rule that share the group_by labels are notified together; PagerDuty still gets one event per alert', async () => {
    const created = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'a trigger pins the label',
      metric: 'trigger_attack_success_rate',
      selector: { model_id: 'multi-trigger' },
      condition: { type: 'threshold', op: '>', value: 0.5 },
      group_by: ['model_id'],
      channel_ids: [channels.hook, channels.pagerduty],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await publish(
      evaluation('multi-trigger', {
        attack_success_rate: 0.3,
        per_trigger_attack_success: { 'custom:cf': 0.9, 'rare-token-mn': 0.8, 'zero-width': 0.1 },
      }),
    );
    const alerts = await eventually(async () => {
      const items = await alertsOf('multi-trigger', 'firing');
      return items.length === 2 ? items : undefined;
    });
    const grouped = await eventually(async () =>
      receiver
        .at('/hook')
        .map((request) => request.json as WebhookBody)
        .find((body) => body.alerts.some((alert) => alert.model_id === 'multi-trigger')),
    );
    assert.deepEqual(
      grouped.alerts.map((alert) => alert.id).sort(),
      alerts.map((alert) => alert.id).sort(),
      'one webhook carries both alerts',
    );
    const pagerDuty = await eventually(async () => {
      const fingerprints = new Set(alerts.map((alert) => alert.fingerprint));
      const events = receiver
        .at('/pagerduty')
        .map((request) => request.json as { dedup_key: string })
        .filter((event) => fingerprints.has(event.dedup_key));
      return events.length === 2 ? events : undefined;
    });
    assert.equal(new Set(pagerDuty.map((event) => event.dedup_key)).size, 2);
  });

  it('a rule with `for` keeps the alert pending, unpublished, until the condition has held that long', async () => {
    const created = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'macro-F1 low for a while',
      metric: 'macro_f1',
      condition: { type: 'threshold', op: '<', value: 0.5 },
      for_seconds: 2,
      channel_ids: [channels.hook],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await publish(
      evaluation('slow-burn', { dataset_kind: 'clean', macro_f1: 0.3, attack_success_rate: null }),
    );
    const pending = await waitForAlert('slow-burn', 'pending');
    // Nothing contradicts it, so the periodic check fires it once two seconds have passed.
    const firing = (await waitForAlert('slow-burn', 'firing')) as Alert & {
      active_since: string;
      fired_at: string;
    };
    assert.equal(firing.id, pending.id);
    assert.ok(Date.parse(firing.fired_at) - Date.parse(firing.active_since) >= 2_000);
    await eventually(async () => alertEvents.find((e) => e.alert_id === firing.id));
    assert.deepEqual(
      alertEvents.filter((e) => e.alert_id === firing.id).map((e) => e.state),
      ['firing'],
      'the pending phase was never published',
    );
    const deliveries = await eventually(async () => {
      const items = await deliveriesOf(firing.id);
      return items[0]?.status === 'delivered' ? items : undefined;
    });
    assert.deepEqual(
      deliveries.map((delivery) => delivery.event),
      ['firing'],
    );
  });

  it('consumer lag is observed per group and topic: an ingestor that never consumed is behind', async () => {
    const created = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'history is behind',
      metric: 'consumer_lag',
      selector: { labels: { group: `${prefix}ingestor`, topic: `${prefix}evaluations.v1` } },
      condition: { type: 'threshold', op: '>', value: 5 },
      channel_ids: [channels.hook],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await app!.get(AlertRuleRunner).observeLag();
    const { body } = await api<{ items: (Alert & { labels: Record<string, string>; summary: string })[] }>(
      'GET',
      `/v1/alerts?rule_id=${created.body.id}&state=firing`,
      undefined,
      viewerKey,
    );
    assert.equal(body.items.length, 1);
    assert.equal(body.items[0].labels.unit, 'messages');
    assert.ok(body.items[0].value > 5, `lag ${body.items[0].value}`);
    assert.match(
      body.items[0].summary,
      new RegExp(`consumer group ${prefix}ingestor on ${prefix}evaluations.v1`),
    );
  });

  it('deleting a rule resolves its open alerts', async () => {
    const [alert] = await alertsOf('flaky', 'firing');
    const rules = await api<{ items: { id: string; name: string }[] }>('GET', '/v1/rules?model_id=flaky');
    const rule = rules.body.items.find((item) => item.name === 'canary flips')!;
    assert.equal((await api('DELETE', `/v1/rules/${rule.id}`, undefined, viewerKey)).status, 403);
    assert.equal((await api('DELETE', `/v1/rules/${rule.id}`)).status, 204);
    const { body } = await api<Alert & { resolution: string }>(
      'GET',
      `/v1/alerts/${alert.id}`,
      undefined,
      viewerKey,
    );
    assert.equal(body.state, 'resolved');
    assert.equal(body.resolution, 'rule-deleted');
    await eventually(async () => alertEvents.find((e) => e.alert_id === alert.id && e.state === 'resolved'));
    assert.equal((await api('GET', `/v1/rules/${rule.id}`)).status, 404);
  });

  it('a delivery interrupted by a shutdown is sent by the next alerter on the same database', async () => {
    const created = await api<{ id: string }>('POST', '/v1/channels', {
      name: 'slow',
      kind: 'webhook',
      config: { url: `${receiverUrl}/slow`, secret: WEBHOOK_SECRET },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const rule = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'accuracy dropped',
      metric: 'accuracy',
      condition: { type: 'threshold', op: '<', value: 0.8 },
      channel_ids: [created.body.id],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    receiver.hang('/slow');
    await publish(
      evaluation('restarted', { dataset_kind: 'clean', accuracy: 0.6, attack_success_rate: null }),
    );
    const alert = await waitForAlert('restarted', 'firing');
    await eventually(async () => (receiver.at('/slow').length === 1 ? true : undefined));

    // The alerter stops while the receiver holds the request; the attempt ends unanswered.
    await alertsSubscription?.stop();
    alertsSubscription = undefined;
    await app!.close();
    app = undefined;
    receiver.answer('/slow', 200, 'ok');
    await startAlerter();

    const [delivery] = await eventually(async () => {
      const items = await deliveriesOf(alert.id);
      return items[0]?.status === 'delivered' ? items : undefined;
    });
    // Every attempt before the restart hung; the one after it, by the new alerter, got through.
    const requests = receiver.at('/slow');
    assert.ok(requests.length >= 2);
    assert.equal(delivery.attempts, requests.length);
    const last = requests[requests.length - 1];
    assert.equal(last.headers['x-tripline-delivery'], delivery.id);
    assert.equal((last.json as { attempt: number }).attempt, delivery.attempts);
    assert.equal((last.json as WebhookBody).alerts[0].id, alert.id);
    assert.ok(webhookSignatureValid(last));
  });
});
