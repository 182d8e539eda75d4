import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

/** Brokers of the real Kafka that `npm test` started; a clear failure when run outside it. */
export function kafkaBrokers(): string[] {
  const brokers = process.env.TRIPLINE_TEST_KAFKA_BROKERS;
  if (!brokers)
    throw new Error('TRIPLINE_TEST_KAFKA_BROKERS is not set: run integration tests through `npm test`');
  return brokers.split(',');
}

/** URL of the real PostgreSQL server that `npm test` found or started. */
export function postgresServerUrl(): string {
  const url = process.env.TRIPLINE_TEST_DATABASE_URL;
  if (!url)
    throw new Error('TRIPLINE_TEST_DATABASE_URL is not set: run integration tests through `npm test`');
  return url;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** A fresh database on the real server, dropped again by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = postgresServerUrl();
  const name = uniqueName('tripline_test');
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export function temporaryDirectory(prefix = 'tripline-test-'): { path: string; remove: () => void } {
  const directory = mkdtempSync(path.join(tmpdir(), prefix));
  return { path: directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

/** Polls until `probe` returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
}
