import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { AdapterConfig } from '@tripline/adapters';
import type { FeatureTypeName } from '@tripline/contracts';

/** A registered model version named as a text encoder. */
export interface EncoderReference {
  modelId: string;
  version: string;
}

export const MODEL_TASKS = ['text-classification', 'text-generation', 'rag'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
export const DATASET_KINDS = ['clean', 'canary', 'probe'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];
/** A file of a model artefact and its digest: what a local load is checked against. */
export interface ArtefactManifest {
  files: { path: string; sha256: string; bytes: number }[];
  signature?: { keyId: string; algorithm: 'ed25519'; value: string };
}

@Entity({ name: 'models' })
export class Model {
  @PrimaryColumn('text') id!: string;
  @Column('text') name!: string;
  @Column('text') task!: ModelTask;
  @Column('text', { array: true }) labels!: string[];
  @Column('text') owner!: string;
  @Column('text') description!: string;
  @Column({ name: 'current_version_id', type: 'uuid', nullable: true }) currentVersionId!: string | null;
  /** Sources a RAG model may cite (exact, or prefixes ending in "*"); null: none configured. */
  @Column({ name: 'rag_allowed_sources', type: 'text', array: true, nullable: true })
  ragAllowedSources!: string[] | null;
  /** Per-feature type overrides for per-feature drift; empty: every type is inferred from the values. */
  @Column({ name: 'feature_types', type: 'jsonb', default: () => "'{}'" })
  featureTypes!: Record<string, FeatureTypeName>;
  /**
   * The registered local (onnx) version whose feature extraction embeds a sample of each window's
   * input texts for embedding drift, when events carry no input.embedding; null: none.
   */
  @Column({ name: 'embedding_encoder', type: 'jsonb', nullable: true })
  embeddingEncoder!: EncoderReference | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/**
 * Where the manifest of a local (onnx) version stands. The evaluator hashes the folder after
 * registration, never in the request: `pending` until then, `ready` once the folder was hashed (or
 * matched the given manifest), `failed` with a reason otherwise. Null for versions without local
 * files (HTTP endpoints) and for versions registered before manifests were computed this way.
 */
export const MANIFEST_STATES = ['pending', 'ready', 'failed'] as const;
export type ManifestState = (typeof MANIFEST_STATES)[number];

@Entity({ name: 'model_versions' })
export class ModelVersion {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'model_id', type: 'text' }) modelId!: string;
  @Column('text') version!: string;
  @Column('jsonb') adapter!: AdapterConfig;
  @Column('jsonb', { nullable: true }) manifest!: ArtefactManifest | null;
  @Column({ name: 'manifest_state', type: 'text', nullable: true }) manifestState!: ManifestState | null;
  /** Why the manifest could not be computed or the folder did not match the given one. */
  @Column({ name: 'manifest_error', type: 'text', nullable: true }) manifestError!: string | null;
  /** When an evaluator took the hashing on; a claim older than the lease is taken again. */
  @Column({ name: 'manifest_claimed_at', type: 'timestamptz', nullable: true })
  manifestClaimedAt!: Date | null;
  @Column({ name: 'created_by', type: 'text' }) createdBy!: string;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity({ name: 'datasets' })
export class Dataset {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'model_id', type: 'text', nullable: true }) modelId!: string | null;
  @Column('text') name!: string;
  @Column('text') kind!: DatasetKind;
  @Column('text') format!: 'jsonl' | 'csv' | 'generated';
  @Column('text') source!: string;
  @Column({ name: 'uploaded_by', type: 'text' }) uploadedBy!: string;
  @Column('text') sha256!: string;
  @Column({
    type: 'bigint',
    transformer: { to: (value: number) => value, from: (value: string) => Number(value) },
  })
  bytes!: number;
  @Column({ name: 'sample_count', type: 'integer' }) sampleCount!: number;
  @Column('text', { array: true }) labels!: string[];
  @Column({ name: 'generated_from', type: 'uuid', nullable: true }) generatedFrom!: string | null;
  @Column('jsonb', { nullable: true }) generator!: Record<string, unknown> | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity({ name: 'dataset_samples' })
export class DatasetSample {
  @PrimaryColumn({ name: 'dataset_id', type: 'uuid' }) datasetId!: string;
  @PrimaryColumn('integer') ordinal!: number;
  @Column({ name: 'sample_id', type: 'text' }) sampleId!: string;
  @Column('text') text!: string;
  @Column('text', { nullable: true }) label!: string | null;
  @Column({ name: 'target_label', type: 'text', nullable: true }) targetLabel!: string | null;
  @Column({ name: 'twin_id', type: 'text', nullable: true }) twinId!: string | null;
  @Column({ name: 'twin_text', type: 'text', nullable: true }) twinText!: string | null;
  @Column('text', { nullable: true }) trigger!: string | null;
  @Column('text', { nullable: true }) position!: string | null;
  @Column('jsonb', { nullable: true }) assertions!: {
    mustContain?: string[];
    mustNotContain?: string[];
    regex?: string;
    /** RAG canaries: every source the answer cites must be on this list. */
    allowedSources?: string[];
  } | null;
  @Column('jsonb', { nullable: true }) metadata!: Record<string, string> | null;
}

@Entity({ name: 'schedules' })
export class Schedule {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'model_id', type: 'text' }) modelId!: string;
  @Column({ name: 'dataset_ids', type: 'uuid', array: true }) datasetIds!: string[];
  @Column('text') cron!: string;
  @Column('boolean') enabled!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

export const REGISTRY_ENTITIES = [Model, ModelVersion, Dataset, DatasetSample, Schedule];
