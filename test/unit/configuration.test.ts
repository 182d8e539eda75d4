import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigurationError, isolatedHistoryProblem, parseEnvironment } from '@tripline/config';

describe('configuration', () => {
  it('an empty environment is a valid standalone configuration with the documented defaults', () => {
    const environment = parseEnvironment({});
    assert.equal(environment.PORT, 8080);
    assert.equal(environment.TRIPLINE_DATA_DIR, '.tripline');
    assert.equal(environment.KAFKA_TOPIC_PREFIX, 'tripline.');
    assert.equal(environment.KAFKA_BROKERS, undefined);
    assert.equal(environment.DATABASE_URL, undefined);
    assert.equal(environment.CLICKHOUSE_URL, undefined);
    // Local model folders are always bounded: by default, a folder of the data directory.
    assert.equal(environment.TRIPLINE_MODELS_DIR, path.resolve('.tripline', 'models'));
  });

  it('resolves TRIPLINE_MODELS_DIR, and follows TRIPLINE_DATA_DIR when it is unset', () => {
    assert.equal(
      parseEnvironment({ TRIPLINE_DATA_DIR: '/srv/tripline' }).TRIPLINE_MODELS_DIR,
      path.resolve('/srv/tripline/models'),
    );
    assert.equal(
      parseEnvironment({ TRIPLINE_DATA_DIR: '/srv/tripline', TRIPLINE_MODELS_DIR: 'models-here' })
        .TRIPLINE_MODELS_DIR,
      path.resolve('models-here'),
    );
    assert.equal(
      parseEnvironment({ TRIPLINE_MODELS_DIR: '  ' }).TRIPLINE_MODELS_DIR,
      path.resolve('.tripline', 'models'),
    );
  });

  it('parses service variables', () => {
    const environment = parseEnvironment({
      PORT: '9000',
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      DATABASE_URL: 'postgres://u:p@db:5432/tripline',
      CLICKHOUSE_URL: 'http://ch:8123',
    });
    assert.equal(environment.PORT, 9000);
    assert.deepEqual(environment.KAFKA_BROKERS, ['k1:9092', 'k2:9093']);
    assert.equal(environment.CLICKHOUSE_URL, 'http://ch:8123');
  });

  it('names every bad variable, what it expects and what it got', () => {
    assert.throws(
      () => parseEnvironment({ PORT: 'eighty', KAFKA_BROKERS: 'kafka', CLICKHOUSE_URL: 'ftp://x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /PORT: expected an integer port between 1 and 65535 \(got "eighty"\)/);
        assert.match(error.message, /KAFKA_BROKERS: expected a comma-separated list of host:port pairs/);
        assert.match(error.message, /CLICKHOUSE_URL: expected a http: or https: URL/);
        assert.equal(error.problems.length, 3);
        return true;
      },
    );
  });

  it('never echoes a secret in its error message', () => {
    assert.throws(
      () =>
        parseEnvironment({ TRIPLINE_ADMIN_KEY: 'short-secret', DATABASE_URL: 'mysql://root:hunter2@db/x' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /TRIPLINE_ADMIN_KEY: expected at least 24 characters/);
        assert.match(error.message, /DATABASE_URL: expected a postgres: or postgresql: URL/);
        assert.doesNotMatch(error.message, /short-secret|hunter2/);
        return true;
      },
    );
  });
});

describe('isolatedHistoryProblem', () => {
  it('flags Kafka without a shared ClickHouse, and nothing else', () => {
    assert.match(
      isolatedHistoryProblem(parseEnvironment({ KAFKA_BROKERS: 'kafka:9092' }), 'api') ?? '',
      /^api has KAFKA_BROKERS but no CLICKHOUSE_URL/,
    );
    assert.equal(isolatedHistoryProblem(parseEnvironment({}), 'api'), undefined, 'standalone');
    assert.equal(
      isolatedHistoryProblem(
        parseEnvironment({ KAFKA_BROKERS: 'kafka:9092', CLICKHOUSE_URL: 'http://ch:8123' }),
        'api',
      ),
      undefined,
    );
    assert.equal(
      isolatedHistoryProblem(
        parseEnvironment({ KAFKA_BROKERS: 'kafka:9092', TRIPLINE_EMBEDDED_CLICKHOUSE: 'true' }),
        'ingestor',
      ),
      undefined,
      'explicitly kept embedded engine',
    );
  });
});
