import { Injectable, Module } from '@nestjs/common';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Not, Repository } from 'typeorm';
import { AlertEntity, AlertRuleEntity } from './entities';

/** An alert as other libs may read it. */
export type AlertRecord = Readonly<
  Pick<
    AlertEntity,
    | 'id'
    | 'ruleId'
    | 'ruleName'
    | 'state'
    | 'severity'
    | 'metric'
    | 'condition'
    | 'value'
    | 'threshold'
    | 'baseline'
    | 'seriesLabels'
    | 'activeSince'
    | 'firedAt'
    | 'acknowledgedAt'
    | 'acknowledgedBy'
    | 'resolvedAt'
    | 'resolvedBy'
    | 'resolution'
  >
>;

/** A rule as other libs may read it; `modelId` undefined: it watches every model. */
export interface RuleRecord {
  id: string;
  name: string;
  metric: string;
  condition: unknown;
  severity: string;
  enabled: boolean;
  modelId: string | undefined;
}

/**
 * What other libs may read of the alerter's state (the evidence pack reads a model's alerts and
 * the rules that watch it). The alerter's tables stay its own: a reader depends on this port,
 * provided by AlertHistoryModule, never on the entities or the table names.
 */
export abstract class AlertHistory {
  /** The model's alerts that fired (pending ones have not), newest first. */
  abstract firedAlertsOf(modelId: string, limit: number): Promise<AlertRecord[]>;
  /** The rules that select the model: by its id, or every model. */
  abstract rulesWatching(modelId: string): Promise<RuleRecord[]>;
}

@Injectable()
class StoredAlertHistory extends AlertHistory {
  constructor(
    @InjectRepository(AlertEntity) private readonly alerts: Repository<AlertEntity>,
    @InjectRepository(AlertRuleEntity) private readonly rules: Repository<AlertRuleEntity>,
  ) {
    super();
  }

  firedAlertsOf(modelId: string, limit: number): Promise<AlertRecord[]> {
    return this.alerts.find({
      where: { modelId, state: Not('pending') },
      order: { activeSince: 'DESC' },
      take: limit,
    });
  }

  async rulesWatching(modelId: string): Promise<RuleRecord[]> {
    const rows = await this.rules
      .createQueryBuilder('rule')
      .where(`rule.selector->>'model_id' IS NULL OR rule.selector->>'model_id' = :modelId`, { modelId })
      .orderBy('rule.created_at')
      .getMany();
    return rows.map((rule) => ({
      id: rule.id,
      name: rule.name,
      metric: rule.metric,
      condition: rule.condition,
      severity: rule.severity,
      enabled: rule.enabled,
      modelId: rule.selector?.model_id,
    }));
  }
}

/**
 * The read port of the alerter's state, for other feature modules (evidence). Starts nothing: no
 * consumer, no workers, so the api process can import it without running an alerter.
 */
@Module({
  imports: [TypeOrmModule.forFeature([AlertEntity, AlertRuleEntity])],
  providers: [{ provide: AlertHistory, useClass: StoredAlertHistory }],
  exports: [AlertHistory],
})
export class AlertHistoryModule {}
