/** The Kafka topics of the design, without the configurable prefix. Names are a stable contract. */
export const TOPICS = {
  inference: 'inference.v1',
  feedback: 'feedback.v1',
  evaluations: 'evaluations.v1',
  /** The per-sample rows of each finished evaluation run, in parts (the history's eval_samples). */
  evaluationSamples: 'evaluation-samples.v1',
  metrics: 'metrics.v1',
  alerts: 'alerts.v1',
  dlq: 'dlq.v1',
  /** Model settings the stream side needs (feature types), from the registry. */
  models: 'models.v1',
} as const;

export type TopicKey = keyof typeof TOPICS;

export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}${TOPICS[key]}`;
}
