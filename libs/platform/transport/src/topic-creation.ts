import type { Admin } from 'kafkajs';
import { backoffDelay, sleep } from '@tripline/retry';

/** One topic to create: its name and partition count; replication defaults to the broker's. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor?: number;
}

export interface TopicCreationOptions {
  /** Rounds of create-missing-then-check-leaders before giving up. */
  attempts?: number;
  /** Backoff between rounds (libs/retry's equal-jitter exponential backoff). */
  baseDelayMs?: number;
  capDelayMs?: number;
  /** Told why a round did not finish and how long the next one waits (for a log line). */
  onRetry?: (reason: string, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/**
 * Creates the topics that are missing and resolves once every partition of every topic has a
 * leader; returns the names this call created (for a log line). Idempotent: existing topics are left as they are and a
 * concurrent creator's TOPIC_ALREADY_EXISTS counts as success.
 *
 * Why not `createTopics({ waitForLeaders: true })`: kafkajs then asks the controller for the
 * topics' metadata right after creating them, and a fresh single-node KRaft broker answers
 * UNKNOWN_TOPIC_OR_PARTITION until its metadata has caught up; kafkajs retries only
 * LEADER_NOT_AVAILABLE there, so start-up failed intermittently. Here the leaders are awaited by
 * polling `fetchTopicMetadata`, each round creating whatever is still missing, with bounded
 * backoff, so a transient answer costs a round and never the start-up.
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: readonly TopicSpec[],
  options: TopicCreationOptions = {},
): Promise<string[]> {
  const { attempts = 12, baseDelayMs = 100, capDelayMs = 3_000 } = options;
  const created = new Set<string>();
  let reason = 'not attempted';
  let tried = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    tried = attempt;
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter(({ topic }) => !existing.has(topic));
      if (missing.length > 0) {
        if (await createIgnoringExisting(admin, missing)) for (const { topic } of missing) created.add(topic);
      }
      const leaderless = await topicsWithoutLeaders(admin, topics);
      if (leaderless.length === 0) return [...created];
      reason = `partitions without a leader yet in ${leaderless.join(', ')}`;
    } catch (error) {
      reason = describeError(error);
    }
    if (attempt === attempts || options.signal?.aborted) break;
    const delay = backoffDelay(attempt, baseDelayMs, capDelayMs);
    options.onRetry?.(reason, attempt, delay);
    await sleep(delay, options.signal);
  }
  throw new Error(
    `Kafka topics ${topics.map(({ topic }) => topic).join(', ')} not ready after ${tried} attempt(s): ${reason}`,
  );
}

/** False when some of the topics existed already (kafkajs does not say which): created by someone else. */
async function createIgnoringExisting(admin: Admin, topics: readonly TopicSpec[]): Promise<boolean> {
  try {
    return await admin.createTopics({
      waitForLeaders: false,
      topics: topics.map(({ topic, numPartitions, replicationFactor }) => ({
        topic,
        numPartitions,
        ...(replicationFactor === undefined ? {} : { replicationFactor }),
      })),
    });
  } catch (error) {
    // Another replica (or an earlier round whose answer was lost) created them first.
    if (!isTopicAlreadyExists(error)) throw error;
    return false;
  }
}

/** Names of the topics whose metadata is unknown, short of partitions, or has a leaderless partition. */
async function topicsWithoutLeaders(admin: Admin, topics: readonly TopicSpec[]): Promise<string[]> {
  const metadata = await admin.fetchTopicMetadata({ topics: topics.map(({ topic }) => topic) });
  const known = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions]));
  return topics
    .filter(({ topic, numPartitions }) => {
      const partitions = known.get(topic);
      return (
        partitions === undefined ||
        partitions.length < numPartitions ||
        partitions.some((partition) => partition.leader < 0)
      );
    })
    .map(({ topic }) => topic);
}

interface KafkaErrorShape {
  type?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/** True when every error kafkajs reports (an aggregate, or a wrapped cause) is TOPIC_ALREADY_EXISTS. */
export function isTopicAlreadyExists(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as KafkaErrorShape;
  if (shape.type === 'TOPIC_ALREADY_EXISTS') return true;
  if (Array.isArray(shape.errors) && shape.errors.length > 0)
    return shape.errors.every((inner) => isTopicAlreadyExists(inner));
  return shape.cause !== undefined && shape.cause !== error && isTopicAlreadyExists(shape.cause);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const type = (error as KafkaErrorShape).type;
  return typeof type === 'string' && !error.message.includes(type)
    ? `${type}: ${error.message}`
    : error.message;
}
