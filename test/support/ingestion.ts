import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ClickHouse, CLICKHOUSE_MIGRATIONS, migrateClickHouse } from '@tripline/clickhouse';
import { ClickHouseModule } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { mulberry32 } from '@tripline/evaluation';
import { EventSinkModule, ModelStatsModule } from '@tripline/ingestion';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import { kafkaBrokers } from './services';

/**
 * An ingestor composed in the test process (the same modules as apps/ingestor), optionally on a
 * ClickHouse instance the test controls, e.g. one whose inserts it can make fail.
 */
export async function startIngestorInProcess(
  environment: Record<string, string>,
  clickHouse?: ClickHouse,
): Promise<INestApplication> {
  Object.assign(process.env, { LOG_LEVEL: 'warn', ...environment });
  let builder = Test.createTestingModule({
    imports: [
      ConfigModule,
      OperabilityModule,
      ClickHouseModule,
      TransportModule,
      EventSinkModule,
      ModelStatsModule,
    ],
  });
  if (clickHouse) {
    await migrateClickHouse(clickHouse.client, clickHouse.database, CLICKHOUSE_MIGRATIONS);
    builder = builder.overrideProvider(ClickHouse).useValue(clickHouse);
  }
  const module = await builder.compile();
  const app = module.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  return app;
}

export async function rawProducer(): Promise<Producer> {
  const producer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return producer;
}

/** True once the group has committed every partition of the topics up to the high watermark. */
export async function groupCaughtUp(groupId: string, topics: string[]): Promise<boolean> {
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const { topic, partitions } of committed) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
      for (const { partition, offset } of partitions) {
        const end = ends.get(partition) ?? 0;
        if (end > 0 && Number(offset) < end) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

export interface GeneratedStream {
  messages: { key: string; value: Buffer }[];
  uniqueValid: number;
  malformed: number;
  modelId: string;
}

/**
 * A stream of inference events with a share of exact repeats (redeliveries) and of malformed
 * messages of many kinds, shuffled by a fixed seed.
 */
export function generateStream(
  count: number,
  duplicateShare: number,
  malformedShare: number,
  seed = 7,
): GeneratedStream {
  const random = mulberry32(seed);
  const modelId = `model-${randomUUID().slice(0, 8)}`;
  const malformedCount = Math.round(count * malformedShare);
  const duplicateCount = Math.round(count * duplicateShare);
  const validCount = count - malformedCount - duplicateCount;
  const base = Date.UTC(2026, 10, 24, 8);
  const valid = Array.from({ length: validCount }, (_, i) => {
    const positive = random() < 0.6;
    const score = 0.5 + random() / 2;
    return {
      key: modelId,
      value: Buffer.from(
        JSON.stringify({
          event_id: `evt-${i}`,
          model_id: modelId,
          timestamp: base + i * 10,
          input: { text: `sample sentence ${i}` },
          output: {
            label: positive ? 'positive' : 'negative',
            scores: positive
              ? { positive: score, negative: 1 - score }
              : { negative: score, positive: 1 - score },
          },
          latency_ms: Math.round(random() * 100),
        }),
      ),
    };
  });
  const duplicates = Array.from({ length: duplicateCount }, () => valid[Math.floor(random() * valid.length)]);
  const kinds = [
    () => Buffer.from('{not json'),
    () => Buffer.from(JSON.stringify({ event_id: 'x', model_id: modelId })),
    () => Buffer.from(JSON.stringify({ event_id: 42, model_id: modelId, timestamp: base })),
    () => Buffer.from(JSON.stringify({ event_id: 'bad-ts', model_id: modelId, timestamp: 'yesterday' })),
    () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    () => Buffer.from(JSON.stringify([1, 2, 3])),
    () =>
      Buffer.from(
        JSON.stringify({
          event_id: 'p',
          model_id: modelId,
          timestamp: base,
          metadata: JSON.parse('{"__proto__": {"admin": "1"}}'),
        }),
      ),
    () =>
      Buffer.from(
        JSON.stringify({
          event_id: 'big',
          model_id: modelId,
          timestamp: base,
          input: { text: 'x'.repeat(40_000) },
        }),
      ),
  ];
  const malformed = Array.from({ length: malformedCount }, (_, i) => ({
    key: modelId,
    value: kinds[i % kinds.length](),
  }));
  const messages = [...valid, ...duplicates, ...malformed];
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [messages[i], messages[j]] = [messages[j], messages[i]];
  }
  return { messages, uniqueValid: validCount, malformed: malformedCount, modelId };
}

export async function produceAll(
  producer: Producer,
  topic: string,
  messages: { key: string; value: Buffer }[],
  chunk = 2_000,
): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
  }
}

/** Members of a consumer group that currently hold partitions. */
export async function activeGroupMembers(groupId: string): Promise<number> {
  const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    return group.state === 'Stable'
      ? group.members.filter((member) => member.memberAssignment.length > 0).length
      : 0;
  } finally {
    await admin.disconnect();
  }
}
