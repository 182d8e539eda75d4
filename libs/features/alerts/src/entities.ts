import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type {
  AlertLifecycle,
  ChannelConfig,
  ChannelKind,
  Condition,
  Matcher,
  Notification,
  NotificationEvent,
  ObservationSource,
  Resolution,
  Severity,
} from '@tripline/alert-rules';

/** bigint columns arrive from pg as strings; sequence numbers fit a double comfortably. */
const bigintNumber = {
  to: (value: number) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};

@Entity({ name: 'alert_rules' })
export class AlertRuleEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') description!: string;
  @Column('text') metric!: string;
  @Column('jsonb') selector!: { model_id?: string; labels?: Record<string, string> };
  @Column('jsonb') condition!: Condition;
  @Column({ name: 'for_seconds', type: 'integer' }) forSeconds!: number;
  @Column('text') severity!: Severity;
  @Column('jsonb') labels!: Record<string, string>;
  @Column({ name: 'group_by', type: 'text', array: true }) groupBy!: string[];
  @Column({ name: 'repeat_interval_seconds', type: 'integer' }) repeatIntervalSeconds!: number;
  @Column({ name: 'channel_ids', type: 'uuid', array: true }) channelIds!: string[];
  @Column('boolean') enabled!: boolean;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'alerts' })
export class AlertEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'rule_id', type: 'uuid', nullable: true }) ruleId!: string | null;
  @Column({ name: 'rule_name', type: 'text' }) ruleName!: string;
  @Column('text') fingerprint!: string;
  @Column('text') state!: AlertLifecycle;
  @Column('text') severity!: Severity;
  @Column('text') metric!: string;
  @Column('text') condition!: string;
  @Column({ name: 'model_id', type: 'text', nullable: true }) modelId!: string | null;
  @Column({ name: 'series_labels', type: 'jsonb' }) seriesLabels!: Record<string, string>;
  @Column('jsonb') labels!: Record<string, string>;
  @Column({ type: 'double precision', nullable: true }) value!: number | null;
  @Column({ type: 'double precision', nullable: true }) threshold!: number | null;
  @Column({ type: 'double precision', nullable: true }) baseline!: number | null;
  @Column({ type: 'double precision', nullable: true }) statistic!: number | null;
  @Column({ name: 'p_value', type: 'double precision', nullable: true }) pValue!: number | null;
  @Column('jsonb') source!: ObservationSource;
  @Column({ name: 'active_since', type: 'timestamptz' }) activeSince!: Date;
  @Column({ name: 'fired_at', type: 'timestamptz', nullable: true }) firedAt!: Date | null;
  @Column({ name: 'acknowledged_at', type: 'timestamptz', nullable: true }) acknowledgedAt!: Date | null;
  @Column({ name: 'acknowledged_by', type: 'text', nullable: true }) acknowledgedBy!: string | null;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt!: Date | null;
  @Column({ name: 'resolved_by', type: 'text', nullable: true }) resolvedBy!: string | null;
  @Column({ type: 'text', nullable: true }) resolution!: Resolution | null;
  @Column({ name: 'last_observed_at', type: 'timestamptz' }) lastObservedAt!: Date;
  @Column({ name: 'last_notified_at', type: 'timestamptz', nullable: true }) lastNotifiedAt!: Date | null;
  @Column({ name: 'silenced_by', type: 'uuid', nullable: true }) silencedBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'alert_silences' })
export class SilenceEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('jsonb') matchers!: Matcher[];
  @Column({ name: 'starts_at', type: 'timestamptz' }) startsAt!: Date;
  @Column({ name: 'ends_at', type: 'timestamptz' }) endsAt!: Date;
  @Column('text') comment!: string;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

@Entity({ name: 'notification_channels' })
export class ChannelEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') kind!: ChannelKind;
  /** Holds credentials: leaves the service only through redactChannelConfig. */
  @Column('jsonb') config!: ChannelConfig;
  @Column('boolean') enabled!: boolean;
  @Column({ name: 'max_attempts', type: 'integer' }) maxAttempts!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

@Entity({ name: 'notification_deliveries' })
export class DeliveryEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'bigint', insert: false, update: false, transformer: bigintNumber }) seq!: number;
  @Column({ name: 'channel_id', type: 'uuid' }) channelId!: string;
  @Column({ name: 'alert_ids', type: 'uuid', array: true }) alertIds!: string[];
  @Column({ name: 'rule_id', type: 'uuid', nullable: true }) ruleId!: string | null;
  @Column('text') event!: NotificationEvent;
  @Column({ name: 'group_key', type: 'text' }) groupKey!: string;
  @Column('jsonb') notification!: Notification;
  @Column('text') status!: DeliveryStatus;
  @Column('integer') attempts!: number;
  @Column({ name: 'max_attempts', type: 'integer' }) maxAttempts!: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  @Column({ name: 'last_status', type: 'integer', nullable: true }) lastStatus!: number | null;
  @Column({ name: 'next_attempt_at', type: 'timestamptz' }) nextAttemptAt!: Date;
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true }) deliveredAt!: Date | null;
  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true }) failedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export const ALERTING_ENTITIES = [AlertRuleEntity, AlertEntity, SilenceEntity, ChannelEntity, DeliveryEntity];
