import type { AlertEventMessage } from '@tripline/contracts';

/** The alerts the scenario must raise after the swap, each recognised by the metric its rule watches. */
export const EXPECTED_ALERTS = [
  {
    key: 'canary',
    label: 'first canary alert',
    metrics: ['attack_success_rate', 'trigger_attack_success_rate'],
  },
  { key: 'stream', label: 'stream trigger alert', metrics: ['drift.trigger_response.binomial-bh'] },
  { key: 'fingerprint', label: 'fingerprint alert', metrics: ['fingerprint_changed'] },
] as const;

export type ExpectedAlertKey = (typeof EXPECTED_ALERTS)[number]['key'];

export interface TimelineVerdict {
  ok: boolean;
  lines: string[];
  problems: string[];
}

interface Fired {
  at: number;
  alert: AlertEventMessage;
}

/**
 * Judges a demo run: every expected alert fired after the swap, and nothing fired before it. An
 * alert counts from the time the alerter decided it (the event's timestamp), not from when this
 * process read it off the topic.
 */
export class DemoTimeline {
  private swapAt?: number;
  private readonly first = new Map<ExpectedAlertKey, Fired>();
  private readonly premature: Fired[] = [];
  private readonly others: Fired[] = [];

  constructor(private readonly startedAt: number) {}

  swapped(at: number): void {
    this.swapAt ??= at;
  }

  alert(alert: AlertEventMessage): void {
    if (alert.state !== 'firing') return;
    const at = alert.timestamp;
    const fired = { at, alert };
    if (this.swapAt === undefined || at < this.swapAt) {
      this.premature.push(fired);
      return;
    }
    const expected = EXPECTED_ALERTS.find((candidate) =>
      (candidate.metrics as readonly string[]).includes(alert.metric ?? ''),
    );
    if (!expected) this.others.push(fired);
    else if (!this.first.has(expected.key)) this.first.set(expected.key, fired);
  }

  /** Every expected alert has fired (the run may stop waiting). */
  complete(): boolean {
    return EXPECTED_ALERTS.every((expected) => this.first.has(expected.key));
  }

  verdict(): TimelineVerdict {
    const lines: string[] = [];
    const problems: string[] = [];
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
    if (this.swapAt === undefined) {
      problems.push('the served model was never swapped');
    } else {
      const swapAt = this.swapAt;
      lines.push(
        `swap at T (${new Date(swapAt).toISOString()}, ${seconds(swapAt - this.startedAt)} after the start)`,
      );
      const expected = EXPECTED_ALERTS.map((item) => ({ ...item, fired: this.first.get(item.key) }));
      // In the order they fired, the missing ones last.
      expected.sort((a, b) => (a.fired?.at ?? Infinity) - (b.fired?.at ?? Infinity));
      for (const item of expected) {
        if (!item.fired) {
          lines.push(`${item.label}: MISSING`);
          problems.push(`no ${item.label} (a rule on ${item.metrics.join(' or ')}) fired after the swap`);
          continue;
        }
        lines.push(`${item.label} at T+${seconds(item.fired.at - swapAt)} (${describe(item.fired.alert)})`);
      }
      for (const other of this.others) {
        lines.push(
          `  also: ${other.alert.rule_name ?? other.alert.metric} at T+${seconds(other.at - swapAt)}`,
        );
      }
    }
    for (const early of this.premature) {
      problems.push(
        `premature alert before the swap: ${early.alert.rule_name ?? early.alert.metric} at ${new Date(early.at).toISOString()} (${describe(early.alert)})`,
      );
    }
    return { ok: problems.length === 0, lines, problems };
  }
}

/** "fingerprint_changed = 1 on sentiment", for a timeline line or an alert line. */
export function describe(alert: AlertEventMessage): string {
  const value = alert.value === null || alert.value === undefined ? 'no value' : formatNumber(alert.value);
  const tokens = alert.labels?.trigger_tokens ? `, tokens ${alert.labels.trigger_tokens}` : '';
  const trigger = alert.labels?.trigger ? `, trigger ${alert.labels.trigger}` : '';
  return `${alert.metric} = ${value}${tokens}${trigger}${alert.model_id ? ` on ${alert.model_id}` : ''}`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/** The console line of one alert state change: plain text, one line. */
export function alertLine(alert: AlertEventMessage): string {
  const state = alert.state.toUpperCase();
  const summary = alert.summary ? ` — ${alert.summary}` : ` — ${describe(alert)}`;
  return `ALERT ${state} [${alert.severity}] ${alert.rule_name ?? alert.metric}${summary}`;
}
