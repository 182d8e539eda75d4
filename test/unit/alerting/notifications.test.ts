import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildNotification,
  channelSecrets,
  emailMessage,
  groupNotifications,
  describeReceiverAnswer,
  keepRedactedSecrets,
  observe,
  pagerDutyEvent,
  redactChannelConfig,
  REDACTED_SECRET,
  scrubSecrets,
  secretsToResupply,
  slackMessage,
  verifyWebhookSignature,
  webhookRequest,
  type AlertState,
  type WebhookConfig,
  type EmailConfig,
  type Notification,
} from '@tripline/alert-rules';
import { idSequence, observation, rule, T0 } from './fixtures';

const API = 'https://tripline.example/';

function firingNotification(overrides: Parameters<typeof observation>[2] = {}): Notification {
  const alert = observe(rule(), observation(0.9, T0, { baseline: 0.05, ...overrides }), undefined, {
    now: T0,
    silences: [],
    newId: idSequence(),
  })!.alert;
  return notificationOf([alert], 'firing');
}

function notificationOf(alerts: AlertState[], event: 'firing' | 'resolved' | 'acknowledged'): Notification {
  const [group] = groupNotifications([{ alert: alerts[0], event, groupBy: [] }]);
  return buildNotification(group, API);
}

describe('notification content', () => {
  it('says what breached, against what, on which model and run, with links to the alert and the run', () => {
    const notification = firingNotification();
    assert.equal(
      notification.title,
      '[CRITICAL] FIRING: backdoor answers its trigger on backdoored: attack_success_rate = 0.9 (attack_success_rate > 0.5)',
    );
    const [alert] = notification.alerts;
    assert.equal(
      alert.summary,
      `attack_success_rate = 0.9 (alert when attack_success_rate > 0.5; baseline 0.05) on model backdoored, evaluation run run-${T0}`,
    );
    assert.equal(alert.model_id, 'backdoored');
    assert.equal(alert.value, 0.9);
    assert.equal(alert.threshold, 0.5);
    assert.equal(alert.baseline, 0.05);
    assert.deepEqual(alert.links, {
      alert: 'https://tripline.example/v1/alerts/alert-1',
      deliveries: 'https://tripline.example/v1/alerts/alert-1/deliveries',
      model: 'https://tripline.example/v1/models/backdoored',
      evaluation: `https://tripline.example/v1/evaluations/run-${T0}`,
    });
    assert.equal(alert.evidence.run_id, `run-${T0}`);
  });

  it('a drift alert links to the window it was measured on', () => {
    const notification = firingNotification({
      source: {
        kind: 'window',
        windowStart: T0 - 60_000,
        windowEnd: T0,
        sampleSize: 400,
        referenceSize: 4_000,
        verdict: 'drift',
      },
    });
    const [alert] = notification.alerts;
    assert.equal(
      alert.links.model_stats,
      'https://tripline.example/v1/models/backdoored/stats?from=2024-12-31T23%3A59%3A00.000Z&to=2025-01-01T00%3A00%3A00.000Z',
    );
    assert.match(
      alert.summary,
      /window 2024-12-31T23:59:00.000Z to 2025-01-01T00:00:00.000Z \(400 events vs 4000/,
    );
  });
});

describe('webhook signature', () => {
  const config = { url: 'http://127.0.0.1:9/hook', secret: 'a-webhook-secret-of-enough-length' };

  it('is HMAC-SHA256 of "<timestamp>.<raw body>" with the channel secret, and verifies', () => {
    const request = webhookRequest(config, firingNotification(), { id: 'd-1', attempt: 1 }, T0);
    const timestamp = request.headers['x-tripline-timestamp'];
    assert.equal(timestamp, String(T0 / 1000));
    const expected = createHmac('sha256', config.secret).update(`${timestamp}.${request.body}`).digest('hex');
    assert.equal(request.headers['x-tripline-signature'], `sha256=${expected}`);
    assert.equal(request.headers['x-tripline-delivery'], 'd-1');
    assert.equal(JSON.parse(request.body).delivery_id, 'd-1');
    const verify = (body: string, stamp = timestamp, now = T0 / 1000) =>
      verifyWebhookSignature(config.secret, request.headers['x-tripline-signature'], stamp, body, now);
    assert.equal(verify(request.body), true);
    assert.equal(verify(request.body.replace('0.9', '0.1')), false, 'a changed body fails');
    assert.equal(verify(request.body, String(T0 / 1000 + 1)), false, 'a changed timestamp fails');
    assert.equal(verify(request.body, timestamp, T0 / 1000 + 301), false, 'a stale request fails');
  });

  it('extra headers cannot replace the signature or the framing', () => {
    const request = webhookRequest(
      { ...config, headers: { 'X-Tripline-Signature': 'sha256=forged', 'X-Team': 'ml' } },
      firingNotification(),
      { id: 'd', attempt: 1 },
      T0,
    );
    assert.notEqual(request.headers['x-tripline-signature'], 'sha256=forged');
    assert.equal(request.headers['X-Tripline-Signature'], undefined);
    assert.equal(request.headers['X-Team'], 'ml');
  });
});

describe('Slack, PagerDuty and e-mail renderings', () => {
  it('Slack gets text for the notification and blocks with the summary and links, mrkdwn escaped', () => {
    const message = slackMessage(firingNotification({ labels: { model_id: 'a<b>&c' } }));
    assert.match(message.text, /^:rotating_light: \[CRITICAL\] FIRING/);
    assert.match(message.text, /a&lt;b&gt;&amp;c/);
    const section = message.blocks[1] as { text: { text: string } };
    assert.match(section.text.text, /attack_success_rate = 0.9/);
    const context = message.blocks[2] as { elements: { text: string }[] };
    assert.match(context.elements[0].text, /<https:\/\/tripline.example\/v1\/alerts\/alert-1\|alert>/);
    assert.match(context.elements[0].text, /\|evaluation run>/);
  });

  it('PagerDuty trigger, acknowledge and resolve share the alert fingerprint as dedup_key', () => {
    const notification = firingNotification();
    const [alert] = notification.alerts;
    const config = { routing_key: 'R0UT1NGKEY0000000000000000000000' };
    const trigger = pagerDutyEvent(config, 'firing', alert) as {
      event_action: string;
      dedup_key: string;
      payload: { severity: string; source: string; summary: string };
    };
    assert.equal(trigger.event_action, 'trigger');
    assert.equal(trigger.dedup_key, alert.fingerprint);
    assert.equal(trigger.payload.severity, 'critical');
    assert.equal(trigger.payload.source, 'backdoored');
    assert.deepEqual(pagerDutyEvent(config, 'acknowledged', alert), {
      routing_key: config.routing_key,
      event_action: 'acknowledge',
      dedup_key: alert.fingerprint,
    });
    assert.equal(pagerDutyEvent(config, 'resolved', alert).event_action, 'resolve');
    assert.equal(pagerDutyEvent(config, 'repeat', alert).event_action, 'trigger');
  });

  it('an e-mail has a one-line subject and a body with value, threshold, baseline and links', () => {
    const mail = emailMessage(firingNotification({ labels: { model_id: 'x\r\nBcc: victim@example.com' } }));
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    assert.match(mail.text, /value 0.9, threshold 0.5, baseline 0.05/);
    assert.match(mail.text, /alert: https:\/\/tripline.example\/v1\/alerts\/alert-1/);
    assert.match(mail.text, /evaluation: https:\/\/tripline.example\/v1\/evaluations\//);
  });
});

describe('channel secrets', () => {
  it('are redacted for the API, and a redacted value sent back keeps the stored secret', () => {
    const webhook = {
      url: 'https://user:pw-1234@hooks.example/x?token=tk-98765&team=ml',
      secret: 'webhook-secret-0123456789',
      headers: { Authorization: 'Bearer abc123', 'X-Team': 'ml' },
    };
    const shown = redactChannelConfig('webhook', webhook, 'admin');
    assert.equal(shown.secret, REDACTED_SECRET);
    assert.equal(shown.headers!.Authorization, REDACTED_SECRET);
    assert.equal(shown.headers!['X-Team'], 'ml');
    assert.doesNotMatch(JSON.stringify(shown), /pw-1234|webhook-secret|abc123|tk-98765/);
    assert.equal(shown.url, 'https://user:redacted@hooks.example/x?token=redacted&team=ml');
    assert.equal(webhook.secret, 'webhook-secret-0123456789', 'the original is untouched');
    const merged = keepRedactedSecrets('webhook', webhook, { ...shown, url: 'https://hooks.example/y' });
    assert.equal(merged.secret, webhook.secret);
    assert.equal(merged.headers!.Authorization, 'Bearer abc123');
    assert.equal(
      keepRedactedSecrets('webhook', webhook, shown).url,
      webhook.url,
      'the URL as shown keeps its tokens',
    );

    const read = redactChannelConfig('webhook', webhook);
    assert.equal(read.url, 'https://hooks.example/[redacted]', 'readers see scheme, host and port only');
    assert.deepEqual(read.headers, { Authorization: REDACTED_SECRET, 'X-Team': REDACTED_SECRET });
    assert.deepEqual(
      keepRedactedSecrets('webhook', webhook, read),
      webhook,
      'the reader view sent back keeps all',
    );

    const slack = { webhook_url: 'https://hooks.slack.com/services/T000/B000/XXXX' };
    assert.deepEqual(redactChannelConfig('slack', slack), {
      webhook_url: 'https://hooks.slack.com/[redacted]',
    });
    assert.deepEqual(keepRedactedSecrets('slack', slack, redactChannelConfig('slack', slack)), slack);
    assert.equal(redactChannelConfig('pagerduty', { routing_key: 'rk-1234' }).routing_key, REDACTED_SECRET);
    const email = { host: 'smtp', port: 25, secure: false, password: 'pw', from: 'a@b', to: ['c@d'] };
    assert.equal(redactChannelConfig('email', email).password, REDACTED_SECRET);
    assert.equal(redactChannelConfig('email', { ...email, password: undefined }).password, undefined);
  });

  it('must all be sent again when an update changes where the channel sends', () => {
    const webhook: WebhookConfig = {
      url: 'https://hooks.example/x',
      secret: 'webhook-secret-0123456789',
      headers: { Authorization: 'Bearer abc123', 'X-Team': 'ml' },
    };
    const read = redactChannelConfig('webhook', webhook);
    assert.deepEqual(secretsToResupply('webhook', webhook, read), [], 'same destination');
    assert.deepEqual(secretsToResupply('webhook', webhook, { ...read, url: 'https://attacker.example/x' }), [
      'secret',
      'headers.Authorization',
      'headers.X-Team',
    ]);
    assert.deepEqual(
      secretsToResupply('webhook', webhook, {
        url: 'https://attacker.example/x',
        secret: 'a-new-secret-0123456789',
        headers: { Authorization: 'Bearer new' },
      }),
      [],
      'everything supplied again',
    );
    const pagerduty = { routing_key: 'rk-1234', events_url: 'https://events.example/v2/enqueue' };
    assert.deepEqual(
      secretsToResupply('pagerduty', pagerduty, redactChannelConfig('pagerduty', pagerduty)),
      [],
    );
    assert.deepEqual(
      secretsToResupply('pagerduty', pagerduty, {
        ...redactChannelConfig('pagerduty', pagerduty),
        events_url: 'https://attacker.example/enqueue',
      }),
      ['routing_key'],
    );
    assert.deepEqual(
      secretsToResupply(
        'pagerduty',
        { routing_key: 'rk-1234' },
        {
          routing_key: REDACTED_SECRET,
          events_url: 'https://attacker.example/enqueue',
        },
      ),
      ['routing_key'],
      'from the default events URL to another',
    );
    const email: EmailConfig = {
      host: 'smtp.example',
      port: 587,
      secure: false,
      password: 'pw',
      from: 'a@b',
      to: ['c@d'],
    };
    const shownMail = redactChannelConfig('email', email);
    assert.deepEqual(
      secretsToResupply('email', email, { ...shownMail, to: ['e@f'] }),
      [],
      'new recipients only',
    );
    assert.deepEqual(secretsToResupply('email', email, { ...shownMail, host: 'attacker.example' }), [
      'password',
    ]);
    assert.deepEqual(secretsToResupply('email', email, { ...shownMail, port: 25 }), ['password']);
    assert.deepEqual(secretsToResupply('email', email, { ...shownMail, allow_plaintext: true }), [
      'password',
    ]);
  });

  it('a receiver error shows its JSON error message or its size, never its raw body', () => {
    assert.equal(
      describeReceiverAnswer('<html>internal admin console, db=10.0.0.7</html>'),
      '48-byte body not shown (not a JSON error)',
    );
    assert.equal(
      describeReceiverAnswer(
        '{"status":"invalid event","message":"Event object is invalid","errors":["Length of routing_key is incorrect"]}',
      ),
      'Event object is invalid; Length of routing_key is incorrect',
    );
    assert.equal(describeReceiverAnswer('{"error":"receiver is down"}'), 'receiver is down');
    assert.equal(describeReceiverAnswer('invalid_token'), 'invalid_token', "Slack's plain error codes");
    assert.equal(describeReceiverAnswer(''), 'empty body');
  });

  it('are scrubbed from error text before it is stored or logged', () => {
    const secrets = channelSecrets('slack', { webhook_url: 'https://hooks.slack.com/services/T/B/SECRET' });
    assert.equal(
      scrubSecrets('POST https://hooks.slack.com/services/T/B/SECRET failed', secrets),
      'POST [redacted] failed',
    );
    const webhookSecrets = channelSecrets('webhook', { url: 'https://u:p%40ss@h/x', secret: 'abcdefgh' });
    assert.deepEqual(webhookSecrets, ['abcdefgh', 'p%40ss', 'p@ss']);
  });
});
