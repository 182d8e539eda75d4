#!/usr/bin/env node
'use strict';
/**
 * `npm test`: build, start the real services the integration and end-to-end suites need (a
 * Kafka broker from Maven Central jars, a PostgreSQL server), run every suite with Node's test
 * runner, and stop what this run started, whatever the outcome.
 *
 *   node scripts/test.js [--suite unit|integration|e2e]... [file filter]
 */
const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SUITES = ['unit', 'integration', 'e2e'];

function parseArguments(argv) {
  const suites = [];
  const filters = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--suite') suites.push(argv[++i]);
    else filters.push(argv[i]);
  }
  for (const suite of suites) {
    if (!SUITES.includes(suite))
      throw new Error(`unknown suite "${suite}"; expected one of ${SUITES.join(', ')}`);
  }
  return { suites: suites.length ? suites : SUITES, filters };
}

function testFiles(suite, filters) {
  const directory = path.join(ROOT, 'dist', 'test', suite);
  if (!fs.existsSync(directory)) return [];
  return fs
    .readdirSync(directory, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.test.js'))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort()
    .map((file) => path.join(directory, file));
}

function pruneStaleTests() {
  // A compiled test whose source was deleted or renamed would otherwise still run.
  const compiled = path.join(ROOT, 'dist', 'test');
  if (!fs.existsSync(compiled)) return;
  for (const file of fs.readdirSync(compiled, { recursive: true }).map(String)) {
    if (!file.endsWith('.js')) continue;
    const source = path.join(ROOT, 'test', file.replace(/\.js$/, '.ts'));
    if (!fs.existsSync(source)) fs.rmSync(path.join(compiled, file), { force: true });
  }
}

function build() {
  pruneStaleTests();
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function runNodeTests(files, environment) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--enable-source-maps',
        '--test',
        '--test-reporter=spec',
        `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
        ...files,
      ],
      { cwd: ROOT, stdio: 'inherit', env: environment },
    );
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main() {
  const { suites, filters } = parseArguments(process.argv.slice(2));
  build();
  const files = suites.flatMap((suite) => testFiles(suite, filters));
  if (files.length === 0) {
    console.error(
      `no test files matched (suites: ${suites.join(', ')}; filters: ${filters.join(', ') || 'none'})`,
    );
    process.exit(1);
  }
  const needsServices = suites.some((suite) => suite !== 'unit');
  const stack = require(path.join(ROOT, 'deploy', 'local', 'stack.js'));
  const environment = { ...process.env, NODE_ENV: 'test' };
  let started;
  if (needsServices) {
    const services = await stack.up({ quiet: false, lease: process.pid });
    started = services.started;
    environment.TRIPLINE_TEST_KAFKA_BROKERS = services.kafkaBrokers;
    environment.TRIPLINE_TEST_DATABASE_URL = services.databaseUrl;
  }
  let code = 1;
  const began = Date.now();
  try {
    code = await runNodeTests(files, environment);
  } finally {
    if (needsServices && started && (started.kafka || started.postgres)) {
      await stack
        .down({ lease: process.pid })
        .catch((error) => console.error(`stack down failed: ${error.message}`));
    }
  }
  console.error(
    `\n${files.length} test files in ${((Date.now() - began) / 1000).toFixed(1)} s: ${code === 0 ? 'passed' : 'FAILED'}`,
  );
  process.exit(code);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
