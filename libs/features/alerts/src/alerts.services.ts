import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, LessThanOrEqual, MoreThan, Repository, type FindOptionsWhere } from 'typeorm';
import { assertEgressAllowed } from '@tripline/egress';
import { describeZodIssues } from '@tripline/http';
import {
  keepRedactedSecrets,
  secretsToResupply,
  type ChannelConfig,
  type ChannelKind,
  type EmailConfig,
  type PagerDutyConfig,
  type SlackConfig,
  type WebhookConfig,
} from '@tripline/alert-rules';
import { AlertStore } from './alert-store';
import {
  AlertEntity,
  AlertRuleEntity,
  ChannelEntity,
  DeliveryEntity,
  SilenceEntity,
  type DeliveryStatus,
} from './entities';
import {
  channelConfigSchemas,
  type ChannelChanges,
  type NewChannel,
  type NewRule,
  type NewSilence,
  type RuleChanges,
} from './schemas';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';

/** Alertmanager's default: a firing alert nobody acknowledged is repeated every four hours. */
export const DEFAULT_REPEAT_INTERVAL_SECONDS = 4 * 3_600;

@Injectable()
export class RuleService {
  constructor(
    @InjectRepository(AlertRuleEntity) private readonly rules: Repository<AlertRuleEntity>,
    @InjectRepository(ChannelEntity) private readonly channels: Repository<ChannelEntity>,
    private readonly store: AlertStore,
  ) {}

  async create(rule: NewRule, createdBy: string): Promise<AlertRuleEntity> {
    await this.checkChannels(rule.channel_ids ?? []);
    return this.rules.save(
      this.rules.create({
        name: rule.name,
        description: rule.description ?? '',
        metric: rule.metric,
        selector: rule.selector ?? {},
        condition: rule.condition,
        forSeconds: rule.for_seconds ?? 0,
        severity: rule.severity ?? 'warning',
        labels: rule.labels ?? {},
        groupBy: rule.group_by ?? [],
        repeatIntervalSeconds: rule.repeat_interval_seconds ?? DEFAULT_REPEAT_INTERVAL_SECONDS,
        channelIds: rule.channel_ids ?? [],
        enabled: rule.enabled ?? true,
        createdBy,
      }),
    );
  }

  async list(filter: { modelId?: string; metric?: string }): Promise<AlertRuleEntity[]> {
    const query = this.rules.createQueryBuilder('rule').orderBy('rule.created_at', 'ASC');
    // A rule without a model selector watches every model, so it is listed for each.
    if (filter.modelId)
      query.andWhere(`(rule.selector->>'model_id' = :model OR NOT rule.selector ? 'model_id')`, {
        model: filter.modelId,
      });
    if (filter.metric) query.andWhere('rule.metric = :metric', { metric: filter.metric });
    return query.getMany();
  }

  async get(id: string): Promise<AlertRuleEntity> {
    const rule = await this.rules.findOneBy({ id });
    if (!rule) throw new NotFoundException(`rule ${id} does not exist`);
    return rule;
  }

  /** Changes take effect with the next observation; disabling resolves the rule's open alerts. */
  async update(id: string, changes: RuleChanges): Promise<AlertRuleEntity> {
    const rule = await this.get(id);
    if (changes.channel_ids) await this.checkChannels(changes.channel_ids);
    const columns: Partial<AlertRuleEntity> = {
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.description !== undefined ? { description: changes.description } : {}),
      ...(changes.metric !== undefined ? { metric: changes.metric } : {}),
      ...(changes.selector !== undefined ? { selector: changes.selector } : {}),
      ...(changes.condition !== undefined ? { condition: changes.condition } : {}),
      ...(changes.for_seconds !== undefined ? { forSeconds: changes.for_seconds } : {}),
      ...(changes.severity !== undefined ? { severity: changes.severity } : {}),
      ...(changes.labels !== undefined ? { labels: changes.labels } : {}),
      ...(changes.group_by !== undefined ? { groupBy: changes.group_by } : {}),
      ...(changes.repeat_interval_seconds !== undefined
        ? { repeatIntervalSeconds: changes.repeat_interval_seconds }
        : {}),
      ...(changes.channel_ids !== undefined ? { channelIds: changes.channel_ids } : {}),
      ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
    };
    if (Object.keys(columns).length > 0) await this.rules.update({ id }, columns);
    if (rule.enabled && changes.enabled === false) await this.store.retireRule(id, 'rule-disabled');
    return this.get(id);
  }

  /** Resolves the rule's open alerts (telling whoever was paged), then deletes it. */
  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.store.retireRule(id, 'rule-deleted', async (manager) => {
      await manager.delete(AlertRuleEntity, { id });
    });
  }

  private async checkChannels(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const found = new Set((await this.channels.findBy({ id: In(ids) })).map((channel) => channel.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0)
      throw new BadRequestException(`channel_ids: no channel has the id ${missing.join(', ')}`);
  }
}

@Injectable()
export class AlertQueries {
  constructor(@InjectRepository(AlertEntity) private readonly alerts: Repository<AlertEntity>) {}

  async list(filter: {
    states?: string[];
    modelId?: string;
    ruleId?: string;
    severity?: string;
    limit: number;
    offset: number;
  }): Promise<AlertEntity[]> {
    const states = new Set(
      (filter.states ?? []).flatMap((state) =>
        state === 'open' ? ['pending', 'firing', 'acknowledged'] : [state],
      ),
    );
    const where: FindOptionsWhere<AlertEntity> = {
      ...(states.size > 0 ? { state: In([...states]) as never } : {}),
      ...(filter.modelId ? { modelId: filter.modelId } : {}),
      ...(filter.ruleId ? { ruleId: filter.ruleId } : {}),
      ...(filter.severity ? { severity: filter.severity as AlertEntity['severity'] } : {}),
    };
    return this.alerts.find({ where, order: { createdAt: 'DESC' }, take: filter.limit, skip: filter.offset });
  }
}

@Injectable()
export class SilenceService {
  constructor(
    @InjectRepository(SilenceEntity) private readonly silences: Repository<SilenceEntity>,
    private readonly store: AlertStore,
  ) {}

  async create(silence: NewSilence, createdBy: string, now = Date.now()): Promise<SilenceEntity> {
    const startsAt = silence.starts_at ? Date.parse(silence.starts_at) : now;
    const endsAt = silence.ends_at
      ? Date.parse(silence.ends_at)
      : startsAt + silence.duration_seconds! * 1000;
    if (endsAt <= startsAt) throw new BadRequestException('ends_at: expected a time after starts_at');
    if (endsAt <= now) throw new BadRequestException('ends_at: expected a time in the future');
    const saved = await this.silences.save(
      this.silences.create({
        matchers: silence.matchers,
        startsAt: new Date(startsAt),
        endsAt: new Date(endsAt),
        comment: silence.comment ?? '',
        createdBy,
      }),
    );
    this.applySoon();
    return saved;
  }

  async list(status: 'active' | 'pending' | 'expired' | 'all', now = new Date()): Promise<SilenceEntity[]> {
    const where: FindOptionsWhere<SilenceEntity> | undefined =
      status === 'active'
        ? { startsAt: LessThanOrEqual(now), endsAt: MoreThan(now) }
        : status === 'pending'
          ? { startsAt: MoreThan(now) }
          : status === 'expired'
            ? { endsAt: LessThanOrEqual(now) }
            : undefined;
    return this.silences.find({ where, order: { createdAt: 'DESC' }, take: 1_000 });
  }

  async get(id: string): Promise<SilenceEntity> {
    const silence = await this.silences.findOneBy({ id });
    if (!silence) throw new NotFoundException(`silence ${id} does not exist`);
    return silence;
  }

  /** Ends the silence now; it is kept (expired) as a record of who silenced what. */
  async expire(id: string): Promise<SilenceEntity> {
    const silence = await this.get(id);
    const now = new Date();
    if (silence.endsAt > now) {
      await this.silences.update({ id }, { endsAt: silence.startsAt > now ? silence.startsAt : now });
      this.applySoon();
    }
    return this.get(id);
  }

  /** Alerts covered (or no longer covered) change at once rather than at the next periodic check. */
  private applySoon(): void {
    void this.store
      .tick()
      .catch((error: unknown) =>
        new Logger('Silences').warn(`silence not applied yet (the next check will): ${String(error)}`),
      );
  }
}

@Injectable()
export class ChannelService {
  constructor(
    @InjectRepository(ChannelEntity) private readonly channels: Repository<ChannelEntity>,
    @InjectRepository(DeliveryEntity) private readonly deliveries: Repository<DeliveryEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
  ) {}

  async create(channel: NewChannel): Promise<ChannelEntity> {
    this.checkEgress(channel.kind, channel.config);
    await this.checkName(channel.name);
    return this.channels.save(
      this.channels.create({
        name: channel.name,
        kind: channel.kind,
        config: channel.config,
        enabled: channel.enabled ?? true,
        maxAttempts: channel.max_attempts ?? 10,
      }),
    );
  }

  list(): Promise<ChannelEntity[]> {
    return this.channels.find({ order: { createdAt: 'ASC' } });
  }

  async get(id: string): Promise<ChannelEntity> {
    const channel = await this.channels.findOneBy({ id });
    if (!channel) throw new NotFoundException(`channel ${id} does not exist`);
    return channel;
  }

  async update(id: string, changes: ChannelChanges): Promise<ChannelEntity> {
    const channel = await this.get(id);
    let config: ChannelConfig | undefined;
    if (changes.config) {
      const resupply = secretsToResupply(
        channel.kind,
        channel.config,
        changes.config as unknown as ChannelConfig,
      );
      if (resupply.length > 0) {
        throw new BadRequestException(
          `the update changes where ${channel.kind} channel "${channel.name}" sends, so its stored ` +
            `credentials are not sent there: supply ${resupply.map((path) => `config.${path}`).join(', ')} ` +
            'again instead of "[redacted]"',
        );
      }
      const merged = keepRedactedSecrets(
        channel.kind,
        channel.config,
        changes.config as unknown as ChannelConfig,
      );
      const parsed = channelConfigSchemas[channel.kind].safeParse(merged);
      if (!parsed.success) {
        const problems = describeZodIssues(parsed.error, merged).map(
          (problem) => `config.${problem.field}: ${problem.message.replace(/\(got .*\)$/, '').trim()}`,
        );
        throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: problems });
      }
      config = parsed.data as ChannelConfig;
      this.checkEgress(channel.kind, config);
    }
    if (changes.name !== undefined && changes.name !== channel.name) await this.checkName(changes.name);
    await this.channels.update(
      { id },
      {
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
        ...(changes.max_attempts !== undefined ? { maxAttempts: changes.max_attempts } : {}),
        ...(config ? { config } : {}),
      },
    );
    return this.get(id);
  }

  /** Deletes the channel with its delivery records and takes it off every rule that named it. */
  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `UPDATE alert_rules SET channel_ids = array_remove(channel_ids, $1::uuid), updated_at = now() WHERE $1::uuid = ANY(channel_ids)`,
        [id],
      );
      await manager.delete(ChannelEntity, { id });
    });
  }

  deliveriesOfChannel(channelId: string, status: DeliveryStatus | undefined, limit: number) {
    return this.deliveries.find({
      where: { channelId, ...(status ? { status } : {}) },
      order: { seq: 'DESC' },
      take: limit,
    });
  }

  deliveriesOfAlert(alertId: string, status: DeliveryStatus | undefined, limit: number) {
    const query = this.deliveries
      .createQueryBuilder('delivery')
      .where(':alertId = ANY(delivery.alert_ids)', { alertId })
      .orderBy('delivery.seq', 'DESC')
      .take(limit);
    if (status) query.andWhere('delivery.status = :status', { status });
    return query.getMany();
  }

  private async checkName(name: string): Promise<void> {
    if (await this.channels.existsBy({ name }))
      throw new ConflictException(`a channel named "${name}" already exists`);
  }

  /** Refuses at configuration time what the egress guard would refuse at every send. */
  private checkEgress(kind: ChannelKind, config: ChannelConfig): void {
    const urls: [string, string][] =
      kind === 'webhook'
        ? [['config.url', (config as WebhookConfig).url]]
        : kind === 'slack'
          ? [['config.webhook_url', (config as SlackConfig).webhook_url]]
          : kind === 'pagerduty' && (config as PagerDutyConfig).events_url
            ? [['config.events_url', (config as PagerDutyConfig).events_url!]]
            : kind === 'email'
              ? [['config.host', `http://${hostForUrl((config as EmailConfig).host)}/`]]
              : [];
    for (const [field, url] of urls) {
      try {
        assertEgressAllowed(url, this.settings.egress);
      } catch (error) {
        // The message names the host, never the path or the query, where webhook credentials live.
        throw new BadRequestException(`${field}: ${(error as Error).message}`);
      }
    }
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
