import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, MoreThan, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { alertEventSchema, type AlertEventMessage } from '@tripline/contracts';
import { Outbox } from '@tripline/outbox';
import {
  acknowledge,
  alertFingerprint,
  alertSummary,
  buildNotification,
  groupNotifications,
  LifecycleError,
  observe,
  resolveByHand,
  retire,
  ruleSelects,
  tick,
  type AlertState,
  type Observation,
  type PendingNotification,
  type PublishedState,
  type Rule,
  type Silence,
  type Transition,
} from '@tripline/alert-rules';
import { AlertEntity, AlertRuleEntity, ChannelEntity, DeliveryEntity, SilenceEntity } from './entities';
import { alertColumns, toAlertState, toRule, toSilence } from './mapping';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';
import { AlerterWakeups } from './wakeups';

/** What one unit of work changed, for logs and metrics. */
export interface AppliedChanges {
  transitions: number;
  published: number;
  deliveries: number;
}

const MAX_EVENT_LABELS = 64;

/**
 * The one writer of alert state. Every change happens in a transaction that locks the alert
 * rows it reads, and writes, with the new state, the alert events (into the outbox, which
 * publishes them to the alerts topic) and the notification deliveries: a crash after the commit loses
 * nothing, a crash before it changes nothing, and a redelivered observation finds the state it
 * already produced and changes nothing again.
 */
@Injectable()
export class AlertStore {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
    private readonly wakeups: AlerterWakeups,
    private readonly outbox: Outbox,
  ) {}

  /** Judges observations (in order) under every rule that selects them. */
  async applyObservations(observations: readonly Observation[], now = Date.now()): Promise<AppliedChanges> {
    if (observations.length === 0) return { transitions: 0, published: 0, deliveries: 0 };
    const rules = (await this.dataSource.getRepository(AlertRuleEntity).findBy({ enabled: true })).map(
      toRule,
    );
    const judged = observations.flatMap((observation) =>
      rules
        .filter((rule) => ruleSelects(rule, observation))
        .map((rule) => ({ rule, observation, fingerprint: alertFingerprint(rule.id, observation.labels) })),
    );
    if (judged.length === 0) return { transitions: 0, published: 0, deliveries: 0 };
    return this.unitOfWork(now, async (work) => {
      const fingerprints = [...new Set(judged.map((item) => item.fingerprint))].sort();
      const open = await work.lockOpen((query) =>
        query.andWhere('alert.fingerprint IN (:...fingerprints)', { fingerprints }),
      );
      const byFingerprint = new Map(open.map((alert) => [alert.fingerprint, alert]));
      const silences = await work.activeSilences();
      for (const { rule, observation, fingerprint } of judged) {
        const transition = observe(rule, observation, byFingerprint.get(fingerprint), {
          now,
          silences,
          newId: randomUUID,
        });
        if (!transition) continue;
        work.record(transition, rule);
        if (transition.alert.state === 'resolved' || transition.change === 'pending-cleared')
          byFingerprint.delete(fingerprint);
        else byFingerprint.set(fingerprint, transition.alert);
      }
    });
  }

  /**
   * The time-driven checks over every open alert. Rows another transaction holds are skipped:
   * they are being judged right now, and the next tick sees them.
   */
  async tick(now = Date.now()): Promise<AppliedChanges> {
    return this.unitOfWork(now, async (work) => {
      const open = await work.lockOpen((query) => query, true);
      if (open.length === 0) return;
      const rules = await work.rules(open);
      const silences = await work.activeSilences();
      for (const alert of open) {
        const rule = rules.get(alert.ruleId);
        const transition =
          rule === undefined
            ? retire(alert, now, 'rule-deleted')
            : !rule.enabled
              ? retire(alert, now, 'rule-disabled')
              : tick(rule, alert, now, silences);
        if (transition) work.record(transition, rule);
      }
    });
  }

  async acknowledge(id: string, by: string, now = Date.now()): Promise<AlertEntity> {
    await this.changeByHand(id, now, (alert) => acknowledge(alert, now, by));
    return this.get(id);
  }

  async resolve(id: string, by: string, now = Date.now()): Promise<AlertEntity> {
    await this.changeByHand(id, now, (alert) => resolveByHand(alert, now, by));
    return this.get(id);
  }

  /** Resolves (or drops, when pending) every open alert of a rule being deleted or disabled. */
  async retireRule(
    ruleId: string,
    resolution: 'rule-deleted' | 'rule-disabled',
    inTransaction?: (manager: EntityManager) => Promise<void>,
    now = Date.now(),
  ): Promise<AppliedChanges> {
    return this.unitOfWork(now, async (work) => {
      const open = await work.lockOpen((query) => query.andWhere('alert.rule_id = :ruleId', { ruleId }));
      const rules = await work.rules(open);
      for (const alert of open) work.record(retire(alert, now, resolution), rules.get(alert.ruleId));
      // Deliveries are written before the rule row goes, so they still know its channels.
      await work.flush();
      await inTransaction?.(work.manager);
    });
  }

  async get(id: string): Promise<AlertEntity> {
    const alert = await this.dataSource.getRepository(AlertEntity).findOneBy({ id });
    if (!alert) throw new NotFoundException(`alert ${id} does not exist`);
    return alert;
  }

  private async changeByHand(
    id: string,
    now: number,
    change: (alert: AlertState) => Transition | undefined,
  ): Promise<void> {
    await this.unitOfWork(now, async (work) => {
      const [alert] = await work.lockOpen((query) => query.andWhere('alert.id = :id', { id }), false, true);
      if (!alert) throw new NotFoundException(`alert ${id} does not exist`);
      let transition: Transition | undefined;
      try {
        transition = change(alert);
      } catch (error) {
        if (error instanceof LifecycleError) throw new ConflictException(error.message);
        throw error;
      }
      if (transition) work.record(transition, (await work.rules([alert])).get(alert.ruleId));
    });
  }

  private async unitOfWork(now: number, body: (work: UnitOfWork) => Promise<void>): Promise<AppliedChanges> {
    const changes = await this.dataSource.transaction(async (manager) => {
      const work = new UnitOfWork(manager, now, this.settings.publicUrl, this.outbox);
      await body(work);
      await work.flush();
      return work.changes;
    });
    if (changes.published > 0) this.outbox.wake();
    if (changes.deliveries > 0) this.wakeups.signal();
    return changes;
  }
}

/** The alert rows, events and deliveries one transaction changes; written by flush(). */
class UnitOfWork {
  readonly changes: AppliedChanges = { transitions: 0, published: 0, deliveries: 0 };
  private readonly stored = new Set<string>();
  private readonly touched = new Map<string, AlertState>();
  private readonly removed = new Set<string>();
  private readonly events: { key: string; event: AlertEventMessage }[] = [];
  private readonly notifications: (PendingNotification & { rule: Rule | undefined })[] = [];

  constructor(
    readonly manager: EntityManager,
    private readonly now: number,
    private readonly publicUrl: string,
    private readonly outbox: Outbox,
  ) {}

  /** Open alerts (resolved ones too when `any`), locked for this transaction. */
  async lockOpen(
    narrow: (query: SelectQueryBuilder<AlertEntity>) => SelectQueryBuilder<AlertEntity>,
    skipLocked = false,
    any = false,
  ): Promise<AlertState[]> {
    let query = this.manager
      .createQueryBuilder(AlertEntity, 'alert')
      .where(any ? 'TRUE' : "alert.state <> 'resolved'");
    query = narrow(query).orderBy('alert.fingerprint').setLock('pessimistic_write');
    if (skipLocked) query = query.setOnLocked('skip_locked');
    const rows = await query.getMany();
    for (const row of rows) this.stored.add(row.id);
    return rows.map(toAlertState);
  }

  async activeSilences(): Promise<Silence[]> {
    const now = new Date(this.now);
    const rows = await this.manager.getRepository(SilenceEntity).findBy({ endsAt: MoreThan(now) });
    return rows.map(toSilence);
  }

  async rules(alerts: readonly AlertState[]): Promise<Map<string, Rule>> {
    const ids = [...new Set(alerts.map((alert) => alert.ruleId))];
    if (ids.length === 0) return new Map();
    // Rule ids of deleted rules are not uuids; only real ones are looked up.
    const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    const rows = uuids.length
      ? await this.manager.getRepository(AlertRuleEntity).findBy({ id: In(uuids) })
      : [];
    return new Map(rows.map((row) => [row.id, toRule(row)]));
  }

  record(transition: Transition, rule: Rule | undefined): void {
    const { alert } = transition;
    this.changes.transitions++;
    if (transition.change === 'pending-cleared') {
      this.touched.delete(alert.id);
      if (this.stored.has(alert.id)) this.removed.add(alert.id);
    } else this.touched.set(alert.id, alert);
    if (transition.publish) this.events.push(this.alertEvent(alert, transition.publish));
    if (transition.notify)
      this.notifications.push({ alert, event: transition.notify, groupBy: rule?.groupBy ?? [], rule });
  }

  async flush(): Promise<void> {
    const alerts = this.manager.getRepository(AlertEntity);
    if (this.removed.size > 0) await alerts.delete({ id: In([...this.removed]) });
    for (const state of this.touched.values()) {
      const { id, ...columns } = alertColumns(state);
      if (this.stored.has(id)) await alerts.update({ id }, columns);
      else {
        await alerts.insert({ id, ...columns });
        this.stored.add(id);
      }
    }
    this.touched.clear();
    this.removed.clear();
    if (this.events.length > 0) {
      await this.outbox.append(
        this.manager,
        'alerts',
        this.events.map((item) => ({ key: item.key, value: JSON.stringify(item.event) })),
      );
      this.changes.published += this.events.length;
      this.events.length = 0;
    }
    if (this.notifications.length > 0) {
      this.changes.deliveries += await this.enqueueDeliveries();
      this.notifications.length = 0;
    }
  }

  private alertEvent(alert: AlertState, state: PublishedState): { key: string; event: AlertEventMessage } {
    const labels = Object.fromEntries(Object.entries(alert.labels).slice(0, MAX_EVENT_LABELS));
    // Checked here, where a mistake can be traced, rather than dead-lettered by the sink.
    const event = alertEventSchema.parse({
      event_id: randomUUID(),
      alert_id: alert.id,
      fingerprint: alert.fingerprint,
      rule_id: alert.ruleId,
      rule_name: alert.ruleName.slice(0, 256),
      model_id: alert.seriesLabels.model_id,
      state,
      severity: alert.severity,
      metric: alert.metric.slice(0, 256),
      value: alert.value,
      threshold: alert.threshold,
      baseline: alert.baseline,
      summary: alertSummary(alert).slice(0, 4_096),
      labels,
      timestamp: this.now,
    });
    return { key: alert.seriesLabels.model_id ?? alert.fingerprint, event };
  }

  /**
   * One delivery per notification group and channel, persisted with the notification it carries
   * before anything is sent. PagerDuty gets one per alert: its incidents are per dedup_key.
   */
  private async enqueueDeliveries(): Promise<number> {
    const channels = await this.manager.getRepository(ChannelEntity).findBy({ enabled: true });
    if (channels.length === 0) return 0;
    const rulesById = new Map(this.notifications.map((item) => [item.alert.ruleId, item.rule]));
    const rows: Partial<DeliveryEntity>[] = [];
    for (const group of groupNotifications(this.notifications)) {
      const rule = rulesById.get(group.ruleId);
      const targets = rule?.channelIds.length
        ? channels.filter((channel) => rule.channelIds.includes(channel.id))
        : channels;
      for (const channel of targets) {
        const parts =
          channel.kind === 'pagerduty'
            ? group.alerts.map((alert) => ({ ...group, alerts: [alert] }))
            : [group];
        for (const part of parts) {
          rows.push({
            channelId: channel.id,
            alertIds: part.alerts.map((alert) => alert.id),
            ruleId: rule?.id ?? null,
            event: part.event,
            groupKey: part.key,
            notification: buildNotification(part, this.publicUrl),
            status: 'pending',
            attempts: 0,
            maxAttempts: channel.maxAttempts,
            nextAttemptAt: new Date(this.now),
          });
        }
      }
    }
    // Inserted one by one, in order: sequence numbers follow the order the notifications were
    // decided in, which is the order each channel receives them (trigger before resolve).
    for (const row of rows) await this.manager.getRepository(DeliveryEntity).insert(row);
    return rows.length;
  }
}
