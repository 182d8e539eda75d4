import { ApiKeys1732440000000 } from './1732440000000-api-keys';
import { Registry1732450000000 } from './1732450000000-registry';
import { TriggerScans1732460000000 } from './1732460000000-trigger-scans';
import { Alerting1732470000000 } from './1732470000000-alerting';
import { RagAllowLists1732480000000 } from './1732480000000-rag-allow-lists';
import { ManifestStates1732490000000 } from './1732490000000-manifest-states';
import { FeatureTypes1732500000000 } from './1732500000000-feature-types';
import { EmbeddingEncoder1732510000000 } from './1732510000000-embedding-encoder';
import { EventOutbox1732520000000 } from './1732520000000-event-outbox';

/** Every relational migration, in order. Append only. */
export const POSTGRES_MIGRATIONS = [
  ApiKeys1732440000000,
  Registry1732450000000,
  TriggerScans1732460000000,
  Alerting1732470000000,
  RagAllowLists1732480000000,
  ManifestStates1732490000000,
  FeatureTypes1732500000000,
  EmbeddingEncoder1732510000000,
  EventOutbox1732520000000,
];
