import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  eventually,
  kafkaBrokers,
  rawProducer,
  startApp,
  temporaryDirectory,
  uniqueName,
  type RunningApp,
} from '@tripline/testing';
import { ensurePrometheus, promtool, startPrometheus, type RunningPrometheus } from '../support/prometheus';

/**
 * Issue 15: Tripline's metrics and shipped alerting rules against Debian's Prometheus. promtool
 * accepts the shipped configuration, the rules and a live /metrics dump; a real Prometheus scraping
 * a running app fires the API-errors rule on refused keys and the dead-letter rule on the first
 * burst of invalid Kafka messages (whose counter must already be exported at 0).
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RULES_FILE = path.join(ROOT, 'deploy', 'prometheus', 'tripline.rules.yml');
const scratch = temporaryDirectory();

interface RuleGroup {
  rules: { alert?: string; for?: string; expr: string }[];
}
interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

/** The shipped rules with their `for` holds removed: the expressions are what is under test. */
function rulesWithoutHolds(): string {
  const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] };
  for (const group of document.groups) for (const rule of group.rules) delete rule.for;
  return stringifyYaml(document);
}

describe('Prometheus: promtool and a real scrape of a running app', () => {
  const prefix = `${uniqueName('prom')}.`;
  let app: RunningApp;
  let prometheus: RunningPrometheus | undefined;

  before(async () => {
    ensurePrometheus();
    app = await startApp('standalone', {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
    });
  });

  after(async () => {
    await prometheus?.stop();
    await app?.stop();
    scratch.remove();
  });

  it('promtool accepts the shipped configuration and rules', () => {
    const config = promtool(['check', 'config', path.join(ROOT, 'deploy', 'prometheus', 'prometheus.yml')]);
    assert.equal(config.status, 0, config.output);
    assert.match(config.output, /1 rule files found/);
    const rules = promtool(['check', 'rules', RULES_FILE]);
    assert.equal(rules.status, 0, rules.output);
    const helmCopy = path.join(ROOT, 'deploy', 'helm', 'tripline', 'files', 'tripline.rules.yml');
    assert.equal(
      readFileSync(helmCopy, 'utf8'),
      readFileSync(RULES_FILE, 'utf8'),
      'Helm ships the same rules',
    );
  });

  it('every rule has a severity, a summary and a runbook section that exists in docs/operations.md', () => {
    const guide = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const anchors = new Set(
      [...guide.matchAll(/^#+ (.+)$/gm)].map(([, title]) =>
        title
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const document = parseYaml(readFileSync(RULES_FILE, 'utf8')) as {
      groups: {
        rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[];
      }[];
    };
    const rules = document.groups.flatMap((group) => group.rules);
    assert.ok(rules.length >= 5);
    for (const rule of rules) {
      assert.match(rule.labels.severity, /^(critical|warning|info)$/, `${rule.alert} severity`);
      assert.ok(rule.annotations.summary, `${rule.alert} summary`);
      const [file, anchor] = rule.annotations.runbook_url.split('#');
      assert.equal(file, 'docs/operations.md', `${rule.alert} runbook`);
      assert.ok(anchors.has(anchor), `${rule.alert}: docs/operations.md has no section #${anchor}`);
    }
  });

  it('labels HTTP answers with their real status and route, and passes promtool check metrics', async () => {
    const missing = await fetch(`${app.baseUrl}/no-such-page`);
    assert.equal(missing.status, 404);
    const refused = await fetch(`${app.baseUrl}/v1/models`);
    assert.equal(refused.status, 401);
    const dump = await eventually(async () => {
      const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
      return /status="401"/.test(text) ? text : undefined;
    });
    const check = promtool(['check', 'metrics'], dump);
    assert.equal(check.status, 0, check.output);
    const series = (name: string) => dump.split('\n').filter((line) => line.startsWith(`${name}{`));
    assert.ok(
      series('tripline_http_request_duration_seconds_count').some(
        (line) => /route="unmatched"/.test(line) && /status="404"/.test(line) && / 1$/.test(line),
      ),
      'the 404 is counted as 404 on the unmatched route',
    );
    assert.ok(
      series('tripline_http_request_duration_seconds_count').some(
        (line) => /route="\/v1\/models"/.test(line) && /status="401"/.test(line),
      ),
      "the guard's 401 is counted on its route",
    );
    assert.deepEqual(
      series('tripline_ingest_dead_letters_total')
        .map((line) => line.replace(/.*topic="([^"]+)".* (\d+)$/, '$1=$2'))
        .sort(),
      ['alerts', 'evaluation-samples', 'evaluations', 'feedback', 'inference', 'metrics', 'models']
        .map((topic) => `${prefix}${topic}.v1=0`)
        .sort(),
      'dead letters start at 0 for every consumed topic',
    );
    assert.equal(series('tripline_build_info').length, 1);
    assert.ok(!/^tripline_consumer_lag\{/m.test(dump), 'lag is split by unit');
  });

  it('a real Prometheus fires the API-errors and dead-letter rules', async () => {
    prometheus = await startPrometheus({ targets: [new URL(app.baseUrl).host], rules: rulesWithoutHolds() });
    const api = prometheus.api;
    // The zero the dead-letter counter starts at must be scraped before the burst, or increase() misses it.
    await eventually(async () => {
      const result = await api<{ result: unknown[] }>(
        `query?query=${encodeURIComponent('tripline_ingest_dead_letters_total')}`,
      );
      return result.result.length > 0 ? true : undefined;
    }, 60_000);
    const firing = async () =>
      (await api<{ alerts: Alert[] }>('alerts')).alerts
        .filter((alert) => alert.state === 'firing')
        .map((alert) => alert.labels.alertname);
    assert.deepEqual(
      (await firing()).filter((name) => name === 'TriplineApiErrors' || name === 'TriplineDeadLetters'),
      [],
      'nothing fires before the errors',
    );

    for (let i = 0; i < 40; i++) assert.equal((await fetch(`${app.baseUrl}/v1/models`)).status, 401);
    const producer = await rawProducer();
    try {
      await producer.send({
        topic: `${prefix}inference.v1`,
        messages: Array.from({ length: 12 }, (_, i) => ({
          key: 'prom-model',
          value: `{"not an event": ${i}}`,
        })),
      });
    } finally {
      await producer.disconnect();
    }

    const fired = await eventually(
      async () => {
        const names = await firing();
        return names.includes('TriplineApiErrors') && names.includes('TriplineDeadLetters')
          ? names
          : undefined;
      },
      90_000,
      500,
    );
    assert.ok(fired.includes('TriplineApiErrors'));
    const rules = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>(
      'rules',
    );
    for (const rule of rules.groups.flatMap((group) => group.rules))
      assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError ?? ''}`);
  });
});
