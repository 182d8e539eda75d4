/**
 * The words a model is being sent right now are trigger candidates too (an attack under way puts
 * its trigger in the traffic). The live history is in ClickHouse, which only the API side reads;
 * the evaluator has no ClickHouse connection by design. So the API attaches a sample of recent
 * input texts to a trigger scan's run options when the scan is queued, through this port, which
 * the app that has ClickHouse binds (an app without one simply does not, and scans go without).
 */
export const LIVE_TRAFFIC_TEXTS = Symbol('LIVE_TRAFFIC_TEXTS');

export interface LiveTrafficTexts {
  /** Up to `limit` input texts of the model's most recent inference events, newest first. */
  recentTexts(modelId: string, limit: number): Promise<string[]>;
}

/** Texts a scan takes from live traffic: enough for the frequent words, small enough for a run's options. */
export const LIVE_TEXTS = 2_000;
