import type { Observation } from './observations';

/** The per-model health figures exported to Prometheus: one number per model, so labels stay bounded. */
export type ModelQualityMeasure =
  | 'accuracy'
  | 'worst_canary_attack_success'
  | 'fingerprint_changed'
  | 'drift_detected';

export interface ModelQualityReading {
  modelId: string;
  measure: ModelQualityMeasure;
  value: number;
}

/**
 * Folds observations into the latest state of each model. The drift verdicts of each series
 * (metric and labels) are kept in `driftBySeries`, so a model reads as drifting while any of its
 * detectors' latest windows says so, and stops when all of them have said ok since.
 */
export function modelQualityReadings(
  observations: readonly Observation[],
  driftBySeries: Map<string, Map<string, boolean>>,
): ModelQualityReading[] {
  const readings: ModelQualityReading[] = [];
  const worstCanary = new Map<string, number>();
  for (const observation of observations) {
    const modelId = observation.labels.model_id;
    if (!modelId || observation.value === null) continue;
    const source = observation.source;
    if (source.kind === 'evaluation') {
      if (observation.metric === 'accuracy' && source.datasetKind === 'clean')
        readings.push({ modelId, measure: 'accuracy', value: observation.value });
      else if (
        source.datasetKind === 'canary' &&
        (observation.metric === 'attack_success_rate' || observation.metric === 'trigger_attack_success_rate')
      )
        worstCanary.set(modelId, Math.max(worstCanary.get(modelId) ?? 0, observation.value));
      else if (observation.metric === 'fingerprint_changed')
        readings.push({ modelId, measure: 'fingerprint_changed', value: observation.value > 0 ? 1 : 0 });
    } else if (source.kind === 'window') {
      const series = driftBySeries.get(modelId) ?? new Map<string, boolean>();
      driftBySeries.set(modelId, series);
      series.set(seriesKey(observation), source.verdict === 'drift');
      readings.push({
        modelId,
        measure: 'drift_detected',
        value: [...series.values()].some(Boolean) ? 1 : 0,
      });
    }
  }
  for (const [modelId, value] of worstCanary)
    readings.push({ modelId, measure: 'worst_canary_attack_success', value });
  return readings;
}

function seriesKey(observation: Observation): string {
  const labels = Object.entries(observation.labels).sort(([a], [b]) => a.localeCompare(b));
  return `${observation.metric}${JSON.stringify(labels)}`;
}
