/** The shapes of the /v1 answers the console reads (the OpenAPI document at /docs has them all). */
export interface Model {
  id: string;
  name: string;
  task: string;
  labels: string[] | null;
  owner: string | null;
  description: string | null;
  current_version_id: string | null;
  created_at: string;
}

export interface Verdict {
  gate: 'attack_success_rate' | 'accuracy' | 'fingerprint';
  outcome: 'pass' | 'fail' | 'unknown';
  value: number | string | null;
  threshold: number | string | null;
  trigger?: string;
  reason: string;
}

export interface Run {
  id: string;
  model_id: string;
  version_id: string | null;
  dataset_id: string;
  dataset_kind: 'clean' | 'canary' | 'probe';
  mode: string;
  status: string;
  trigger: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  created_at: string;
  summary: {
    clean?: { accuracy?: number; macroF1?: number };
    canary?: {
      maxAttackSuccessRate?: { rate: number; trigger: string } | null;
      pooledAttackSuccessRate?: number;
      perTrigger?: Record<string, { attackSuccessRate?: number }>;
    };
    fingerprint?: string;
    verdicts?: Verdict[];
    scan?: TriggerScan;
    [key: string]: unknown;
  } | null;
}

export interface TriggerScan {
  candidates?: number;
  falseAlarmRate?: number;
  flagged?: { token: string; pinRate?: number; pValue?: number; position?: string; verdict?: string }[];
  top?: {
    token: string;
    kind?: string;
    pinRate?: number;
    pValue?: number;
    flagged?: boolean;
    position?: string;
    flippedTo?: string;
    verdict?: string;
  }[];
}

export interface Baseline {
  dataset_id: string;
  dataset_kind: string;
  pinned: boolean;
  run: Run;
}

export interface Dataset {
  id: string;
  model_id: string | null;
  name: string;
  kind: string;
  sample_count: number;
  provenance: {
    source: string | null;
    uploaded_at: string;
    uploaded_by: string | null;
    sha256: string | null;
  };
}

export interface Version {
  id: string;
  model_id: string;
  version: string;
  adapter: { kind: string; url?: string; modelName?: string; [key: string]: unknown };
  manifest: { files: { path: string; sha256: string; bytes?: number }[]; [key: string]: unknown } | null;
  manifest_files?: number | null;
  created_by: string | null;
  created_at: string;
}

export interface Alert {
  id: string;
  rule_id: string | null;
  rule_name: string;
  state: 'pending' | 'firing' | 'acknowledged' | 'resolved';
  silenced: boolean;
  severity: string;
  model_id: string | null;
  metric: string;
  value: number | null;
  threshold: number | null;
  summary: string;
  labels: Record<string, string>;
  fired_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  created_at: string;
}

export interface TimeSeries {
  model_id: string;
  from: string;
  to: string;
  bucket_seconds: number;
  truncated: boolean;
  evaluations: {
    run_id: string;
    dataset_id: string;
    dataset_kind: string;
    model_version: string;
    finished_at: string;
    accuracy: number | null;
    macro_f1: number | null;
    attack_success_rate: number | null;
    worst_trigger: { trigger: string; attack_success_rate: number } | null;
    fingerprint: string | null;
  }[];
  drift: {
    metric: string;
    detector: string;
    feature: string | null;
    points: { window_end: string; statistic: number | null; p_value: number | null; verdict: string }[];
  }[];
  traffic: {
    bucket_start: string;
    events: number;
    events_per_second: number;
    latency_ms_mean: number | null;
    latency_ms_p90: number | null;
  }[];
  alerts: {
    timestamp: string;
    alert_id: string;
    state: string;
    severity: string;
    rule_name: string;
    metric: string;
    summary: string;
  }[];
}

export interface Items<T> {
  items: T[];
}
