/**
 * What an evidence pack is built from: plain records read from PostgreSQL (registry, alerts) and
 * ClickHouse (alert events, stream metrics), so the pack itself is a pure function of them.
 * Times are epoch milliseconds.
 */
export interface EvidenceModel {
  id: string;
  name: string;
  task: string;
  owner: string;
  description: string;
  labels: string[];
  currentVersionId: string | null;
  ragAllowedSources: string[] | null;
  createdAt: number;
}

export interface EvidenceVersion {
  id: string;
  version: string;
  adapterKind: string;
  /** The adapter configuration with credentials redacted. */
  adapter: unknown;
  createdBy: string;
  createdAt: number;
  manifest: {
    files: number;
    bytes: number;
    /** SHA-256 of the canonical manifest: what a signature signs. */
    digest: string;
    signature: { keyId: string; algorithm: string } | null;
  } | null;
}

export interface EvidenceDataset {
  id: string;
  name: string;
  kind: string;
  modelId: string | null;
  format: string;
  source: string;
  uploadedBy: string;
  uploadedAt: number;
  sha256: string;
  bytes: number;
  sampleCount: number;
  labels: string[];
  generatedFrom: string | null;
  generator: Record<string, unknown> | null;
}

export interface EvidenceRun {
  id: string;
  mode: string;
  datasetId: string;
  datasetKind: string;
  versionId: string | null;
  status: string;
  trigger: string;
  scheduleId: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
  isBaseline: boolean;
  baselineRunId: string | null;
  summary: Record<string, unknown> | null;
}

export interface EvidenceAlert {
  id: string;
  ruleId: string | null;
  ruleName: string;
  state: string;
  severity: string;
  metric: string;
  condition: string;
  value: number | null;
  threshold: number | null;
  baseline: number | null;
  seriesLabels: Record<string, string>;
  activeSince: number;
  firedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  resolution: string | null;
}

/** One state change on the alerts topic, as ClickHouse keeps it (built-in alerts live only here). */
export interface EvidenceAlertEvent {
  alertId: string;
  ruleId: string;
  ruleName: string;
  state: string;
  severity: string;
  metric: string;
  value: number | null;
  threshold: number | null;
  summary: string;
  labels: Record<string, string>;
  timestamp: number;
}

export interface EvidenceSchedule {
  id: string;
  cron: string;
  enabled: boolean;
  datasetIds: string[];
  createdAt: number;
}

export interface EvidenceRule {
  id: string;
  name: string;
  metric: string;
  condition: unknown;
  severity: string;
  enabled: boolean;
  /** Watches every model rather than this one by name. */
  allModels: boolean;
}

/** Stream-detector results of the last 30 days, per metric and detector. */
export interface EvidenceStreamMetric {
  metric: string;
  detector: string;
  windows: number;
  drift: number;
  lastWindowEnd: number | null;
}

export interface EvidenceInput {
  generatedAt: number;
  generatedBy: string | null;
  model: EvidenceModel;
  versions: EvidenceVersion[];
  datasets: EvidenceDataset[];
  runs: EvidenceRun[];
  alerts: EvidenceAlert[];
  /** null when the history store could not be read (said in notes). */
  alertEvents: EvidenceAlertEvent[] | null;
  schedules: EvidenceSchedule[];
  rules: EvidenceRule[];
  stream: EvidenceStreamMetric[] | null;
  /** Distinct inference events of the last 30 days (approximate), null when unknown. */
  recentEvents: number | null;
  notes: string[];
}
