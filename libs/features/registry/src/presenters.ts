import { redactAdapterConfig } from '@tripline/adapters';
import type { Dataset, Model, ModelVersion, Schedule } from './entities';

export const presentModel = (model: Model) => ({
  id: model.id,
  name: model.name,
  task: model.task,
  labels: model.labels,
  owner: model.owner,
  description: model.description,
  current_version_id: model.currentVersionId,
  rag_allowed_sources: model.ragAllowedSources,
  feature_types: model.featureTypes ?? {},
  embedding_encoder: model.embeddingEncoder
    ? { model_id: model.embeddingEncoder.modelId, version: model.embeddingEncoder.version }
    : null,
  created_at: model.createdAt,
  updated_at: model.updatedAt,
});

/**
 * Adapter headers and URLs may carry credentials for the model endpoint: named credentials never
 * leave unredacted, and readers who are not admins see only the endpoint's scheme, host and port.
 */
export const presentVersion = (version: ModelVersion, audience: 'admin' | 'reader') => ({
  id: version.id,
  model_id: version.modelId,
  version: version.version,
  adapter: redactAdapterConfig(version.adapter, audience),
  manifest: version.manifest,
  /** Local versions: pending (being hashed by an evaluator), ready or failed; null otherwise. */
  manifest_state: version.manifestState,
  manifest_error: version.manifestError,
  created_by: version.createdBy,
  created_at: version.createdAt,
});

export const presentDataset = (dataset: Dataset) => ({
  id: dataset.id,
  model_id: dataset.modelId,
  name: dataset.name,
  kind: dataset.kind,
  sample_count: dataset.sampleCount,
  labels: dataset.labels,
  provenance: {
    format: dataset.format,
    source: dataset.source,
    uploaded_by: dataset.uploadedBy,
    uploaded_at: dataset.createdAt,
    sha256: dataset.sha256,
    bytes: dataset.bytes,
    generated_from: dataset.generatedFrom,
    generator: dataset.generator,
  },
});

export const presentSchedule = (schedule: Schedule) => ({
  id: schedule.id,
  model_id: schedule.modelId,
  dataset_ids: schedule.datasetIds,
  cron: schedule.cron,
  enabled: schedule.enabled,
  created_at: schedule.createdAt,
  updated_at: schedule.updatedAt,
});
