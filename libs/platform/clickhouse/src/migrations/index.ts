import type { ClickHouseMigration } from '../migration';
import { initialTables } from './001-initial-tables';
import { inputEmbedding } from './2026120419-input-embedding';
import { modelSettings } from './2026120422-model-settings';
import { embeddingEncoder } from './2026120500-embedding-encoder';
import { runFailure } from './2026120501-run-failure';
import { evalSamples } from './2026120502-eval-samples';

/** Every migration, in order. Append only: an applied migration is never edited. */
export const CLICKHOUSE_MIGRATIONS: readonly ClickHouseMigration[] = [
  initialTables,
  inputEmbedding,
  modelSettings,
  embeddingEncoder,
  runFailure,
  evalSamples,
];
