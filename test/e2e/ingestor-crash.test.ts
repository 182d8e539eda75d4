import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ClickHouse } from '@tripline/clickhouse';
import {
  eventually,
  generateStream,
  groupCaughtUp,
  kafkaBrokers,
  produceAll,
  rawProducer,
  startApp,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';

const scratch = temporaryDirectory();
after(() => scratch.remove());

async function rowsWritten(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = /tripline_ingest_rows_written_total\{[^}]*table="inference_events"[^}]*\} (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

describe('ingestor killed mid-stream', () => {
  it('SIGKILL then restart: every event stored, none counted twice', async () => {
    const prefix = `${uniqueName('crash')}.`;
    const environment = {
      TRIPLINE_DATA_DIR: scratch.path,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      TRIPLINE_EMBEDDED_CLICKHOUSE: 'true', // one process's own history is what this test reads
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '3',
      INGEST_BATCH_MAX_ROWS: '500',
      INGEST_BATCH_MAX_WAIT_MS: '50',
    };
    const topic = `${prefix}inference.v1`;
    const stream = generateStream(20_000, 0.05, 0, 21);
    const producer = await rawProducer();

    const first = await startApp('ingestor', environment);
    await produceAll(producer, topic, stream.messages.slice(0, 10_000), 500);
    await eventually(async () => ((await rowsWritten(first.baseUrl)) > 0 ? true : undefined), 60_000, 50);
    assert.equal(await first.stop('SIGKILL'), null, 'killed, not exited');
    await produceAll(producer, topic, stream.messages.slice(10_000), 500);
    await producer.disconnect();

    const second = await startApp('ingestor', environment);
    await eventually(
      () => groupCaughtUp(`${prefix}ingestor`, [topic]).then((done) => (done ? true : undefined)),
      120_000,
      500,
    );
    assert.equal(await second.stop('SIGTERM'), 0, second.output());

    const clickHouse = new ClickHouse({
      database: 'tripline',
      dataDirectory: path.join(scratch.path, 'clickhouse'),
    });
    try {
      const result = await clickHouse.client.query({
        query:
          'SELECT count() AS n, uniqExact(event_id) AS ids FROM tripline.inference_events FINAL WHERE model_id = {m:String}',
        query_params: { m: stream.modelId },
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string; ids: string }>();
      assert.equal(Number(row.ids), stream.uniqueValid, 'no event lost');
      assert.equal(Number(row.n), stream.uniqueValid, 'no event counted twice');
    } finally {
      await clickHouse.close();
    }
  });
});
