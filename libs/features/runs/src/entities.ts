import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DatasetKind } from '@tripline/registry';

/** What a trigger scan searches and on how much clean data. */
export interface TriggerScanOptions {
  candidates: 'vocabulary' | 'library' | string[];
  /** Clean inputs of the screening sample (fresh ones confirm). */
  sampleSize: number;
  /**
   * Fresh clean inputs each shortlisted candidate and null word is confirmed on, per position;
   * default 90. The bulk of a scan's cost after screening: a lean scan lowers it.
   */
  confirmationInputs?: number;
  /** Ordinary words measured as the null at each position; default 40. */
  nullWords?: number;
  maxCandidates: number;
  seed: number;
  /** Differential mode: a known-good version a word must not pin as well. */
  reference?: { versionId: string };
  /** Insertion positions; default start, end and a random word boundary. */
  positions?: ('prefix' | 'suffix' | 'random')[];
  /** Chance of flagging any ordinary word in the scan; default 0.01. */
  falseAlarmRate?: number;
  /**
   * Texts of the model's recent live traffic, attached by the API when the scan is queued (the
   * evaluator has no ClickHouse connection): their words and phrases are candidates too.
   */
  liveTexts?: string[];
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

@Entity({ name: 'evaluation_runs' })
export class EvaluationRun {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'model_id', type: 'text' }) modelId!: string;
  @Column({ name: 'version_id', type: 'uuid', nullable: true }) versionId!: string | null;
  @Column({ name: 'dataset_id', type: 'uuid' }) datasetId!: string;
  @Column({ name: 'dataset_kind', type: 'text' }) datasetKind!: DatasetKind;
  @Column('text') status!: RunStatus;
  @Column('text') trigger!: 'schedule' | 'api';
  @Column({ name: 'schedule_id', type: 'uuid', nullable: true }) scheduleId!: string | null;
  @Column({ name: 'scheduled_for', type: 'timestamptz', nullable: true }) scheduledFor!: Date | null;
  @Column({ name: 'progress_done', type: 'integer' }) progressDone!: number;
  @Column({ name: 'progress_total', type: 'integer' }) progressTotal!: number;
  @Column({ name: 'heartbeat_at', type: 'timestamptz' }) heartbeatAt!: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @Column('text', { nullable: true }) error!: string | null;
  @Column('jsonb', { nullable: true }) summary!: Record<string, unknown> | null;
  @Column({ name: 'baseline_run_id', type: 'uuid', nullable: true }) baselineRunId!: string | null;
  @Column({ name: 'is_baseline', type: 'boolean' }) isBaseline!: boolean;
  @Column({ type: 'text', default: 'replay' }) mode!: 'replay' | 'trigger-scan';
  @Column({ type: 'jsonb', nullable: true }) options!: TriggerScanOptions | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

export const RUN_ENTITIES = [EvaluationRun];
