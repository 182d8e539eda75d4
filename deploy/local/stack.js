#!/usr/bin/env node
'use strict';
/**
 * Local service stack for tests and for users without Docker: a single-node
 * KRaft Kafka run straight from Maven Central jars, and a PostgreSQL found or
 * started on this machine.
 *
 *   node deploy/local/stack.js up|down|status      (npm run stack:up|stack:down|stack:status)
 *   const stack = require('./deploy/local/stack'); await stack.up({ quiet: true });
 *
 * Dependency-free on purpose: it has to run before `npm ci` has produced
 * anything useful and from CI scripts, so only node: built-ins are used.
 * See deploy/local/README.md.
 */

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'stack');
const STATE_FILE = path.join(CACHE_DIR, 'state.json');
const LOCK_FILE = path.join(CACHE_DIR, 'stack.lock');

const KAFKA_DIR = path.join(CACHE_DIR, 'kafka');
const KAFKA_LIBS = path.join(KAFKA_DIR, 'libs');
const KAFKA_LIBS_MARKER = path.join(KAFKA_LIBS, '.complete');
const KAFKA_DATA = path.join(KAFKA_DIR, 'data');
const KAFKA_LOGS = path.join(KAFKA_DIR, 'logs');
const KAFKA_PROPS = path.join(KAFKA_DIR, 'server.properties');
const KAFKA_POM = path.join(__dirname, 'kafka', 'pom.xml');
const KAFKA_LOG4J = path.join(__dirname, 'kafka', 'log4j.properties');
const KAFKA_SERVER_LOG = path.join(KAFKA_LOGS, 'server.log');
const KAFKA_STDOUT_LOG = path.join(KAFKA_LOGS, 'stdout.log');

const KAFKA_READY_TIMEOUT_MS = 90_000;
const KAFKA_STOP_TIMEOUT_MS = 30_000;
const LOCK_STALE_MS = 5 * 60_000;
const LOCK_WAIT_MS = 6 * 60_000;
const PG_DEFAULT_PORT = 5432;
const PG_START_TIMEOUT_MS = 30_000;

let quiet = false;

function log(msg) {
  if (!quiet) process.stderr.write(`[stack] ${msg}\n`);
}

// ---------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isPidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: exists but belongs to someone else - still alive.
    return err.code === 'EPERM';
  }
}

function tcpProbe(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Ask the kernel for free ports; all servers stay open until the end so the ports are distinct. */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Run a command to completion; throws with the output tail on failure. */
function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw new Error(`${cmd} could not be run: ${res.error.message}`);
  if (res.status !== 0) {
    const out = `${res.stdout || ''}${res.stderr || ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status}:\n${out}`);
  }
  return res.stdout || '';
}

function tailFile(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return {};
  }
}

function writeState(state) {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  // Write-then-rename so a concurrent reader (status) never sees half a file.
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, STATE_FILE);
}

// ---------------------------------------------------------------------------
// Lock: two simultaneous `up`s (parallel test runners) must not both start a broker.
// ---------------------------------------------------------------------------

function lockIsStale() {
  let stat;
  try {
    stat = fs.statSync(LOCK_FILE);
  } catch {
    return false; // released meanwhile: just retry the create
  }
  if (Date.now() - stat.mtimeMs > LOCK_STALE_MS) return true;
  try {
    return !isPidAlive(JSON.parse(fs.readFileSync(LOCK_FILE, 'utf8')).pid);
  } catch {
    // Unreadable: either its creator is between create and write (give it a moment) or it is garbage.
    return Date.now() - stat.mtimeMs > 5000;
  }
}

async function withLock(fn) {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, JSON.stringify({ pid: process.pid, at: new Date().toISOString() }), {
        flag: 'wx',
      });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (lockIsStale()) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_FILE}`);
      if (!announced) log('another stack command is running; waiting for its lock');
      announced = true;
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

// ---------------------------------------------------------------------------
// Kafka wire protocol, just enough to know a Kafka broker (not just anything on that
// port) is serving requests and is unfenced, i.e. topic creation will work.
// ---------------------------------------------------------------------------

function kafkaRequest(host, port, apiKey, apiVersion, body, timeoutMs = 3000) {
  const clientId = Buffer.from('tripline-stack');
  const correlationId = crypto.randomInt(1, 2 ** 31 - 1);
  // Request header v1: api_key, api_version, correlation_id, client_id (int16-prefixed string).
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);

  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error('kafka request timed out')));
    socket.once('error', fail);
    socket.once('close', () => reject(new Error('kafka connection closed before a response')));
    socket.once('connect', () => socket.write(Buffer.concat([size, payload])));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      socket.destroy();
      if (received.readInt32BE(4) !== correlationId)
        return reject(new Error('kafka correlation id mismatch'));
      resolve(received.subarray(8)); // response body after size + correlation id (response header v0)
    });
  });
}

/** ApiVersions v0 (supported by every broker version): proves a Kafka broker is answering. */
async function kafkaApiVersionsOk(host, port) {
  try {
    const body = await kafkaRequest(host, port, 18, 0, Buffer.alloc(0));
    return body.readInt16BE(0) === 0;
  } catch {
    return false;
  }
}

/** Metadata v4 lists only live, unfenced brokers: >= 1 means topics can be created now. */
async function kafkaLiveBrokerCount(host, port) {
  try {
    const req = Buffer.alloc(5);
    req.writeInt32BE(-1, 0); // topics: null = all
    req.writeInt8(0, 4); // allow_auto_topic_creation: false
    const body = await kafkaRequest(host, port, 3, 4, req);
    return body.readInt32BE(4); // after throttle_time_ms
  } catch {
    return 0;
  }
}

function parseBrokers(list) {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => {
      const idx = hp.lastIndexOf(':');
      return { host: hp.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(hp.slice(idx + 1)) };
    });
}

async function brokersReachable(list) {
  for (const { host, port } of parseBrokers(list)) {
    if (port > 0 && (await kafkaApiVersionsOk(host, port))) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Kafka from jars
// ---------------------------------------------------------------------------

function pomHash() {
  return crypto.createHash('sha256').update(fs.readFileSync(KAFKA_POM)).digest('hex');
}

/**
 * Resolve the broker classpath with Maven once. The marker stores the POM hash so a
 * version bump refetches, and a half-finished download (no marker) is redone from scratch:
 * leftover jars of another version on a `libs/*` classpath would shadow each other.
 */
function ensureKafkaLibs() {
  const hash = pomHash();
  if (fs.existsSync(KAFKA_LIBS_MARKER) && fs.readFileSync(KAFKA_LIBS_MARKER, 'utf8').trim() === hash) return;
  if (!hasCommand('mvn'))
    throw new Error('Maven (mvn) is required to fetch the Kafka jars: apt-get install maven');
  log('fetching Kafka jars from Maven Central (first run only)...');
  const started = Date.now();
  fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
  run('mvn', [
    '-B',
    '-q',
    '-f',
    KAFKA_POM,
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${KAFKA_LIBS}`,
  ]);
  const jars = fs.readdirSync(KAFKA_LIBS).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => /^kafka_2\.13-.*\.jar$/.test(f)))
    throw new Error(`Maven left no kafka jar in ${KAFKA_LIBS}`);
  fs.writeFileSync(KAFKA_LIBS_MARKER, `${hash}\n`);
  log(`fetched ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function serverProperties(port, controllerPort) {
  return `# Generated by deploy/local/stack.js - rewritten on every broker start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${KAFKA_DATA}

# Single node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Internal topics default to 50 partitions; creating them is most of the first consumer group's join latency.
offsets.topic.num.partitions=3
transaction.state.log.num.partitions=3
# Tests start consumers right away; the default 3 s delay would stall every first group join.
group.initial.rebalance.delay.ms=0
num.partitions=3

# Sized for a 2-core dev/CI box and a 512 MB heap (the cleaner buffer alone defaults to 128 MB).
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
`;
}

function kafkaJava(mainClass, args, extraJvm = []) {
  return [
    ...extraJvm,
    `-Dkafka.logs.dir=${KAFKA_LOGS}`, // log4j.properties resolves its file paths from this
    `-Dlog4j.configuration=file:${KAFKA_LOG4J}`,
    '-cp',
    path.join(KAFKA_LIBS, '*'), // expanded by java itself, not by a shell
    mainClass,
    ...args,
  ];
}

/** A fresh cluster id and data dir per start: KRaft metadata remembers the controller port it was formatted with. */
function formatKafkaStorage() {
  fs.rmSync(KAFKA_DATA, { recursive: true, force: true });
  fs.mkdirSync(KAFKA_DATA, { recursive: true });
  const clusterId = run('java', kafkaJava('kafka.tools.StorageTool', ['random-uuid'])).trim();
  run(
    'java',
    kafkaJava('kafka.tools.StorageTool', [
      'format',
      '-t',
      clusterId,
      '-c',
      KAFKA_PROPS,
      '--ignore-formatted',
    ]),
  );
  return clusterId;
}

function spawnKafka() {
  const out = fs.openSync(KAFKA_STDOUT_LOG, 'w');
  try {
    const child = spawn(
      'java',
      kafkaJava(
        'kafka.Kafka',
        [KAFKA_PROPS],
        ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'],
      ),
      // detached: own process group, survives the test runner / CLI exiting.
      { cwd: KAFKA_DIR, detached: true, stdio: ['ignore', out, out] },
    );
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(out);
  }
}

async function waitForKafka(pid, port) {
  const deadline = Date.now() + KAFKA_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isPidAlive(pid)) throw kafkaError(`Kafka (pid ${pid}) exited during startup`);
    if ((await tcpProbe('127.0.0.1', port, 500)) && (await kafkaLiveBrokerCount('127.0.0.1', port)) > 0)
      return;
    await sleep(250);
  }
  throw kafkaError(
    `Kafka did not become ready on 127.0.0.1:${port} within ${KAFKA_READY_TIMEOUT_MS / 1000}s`,
  );
}

function kafkaError(msg) {
  return new Error(
    `${msg}\n--- ${KAFKA_SERVER_LOG} (tail) ---\n${tailFile(KAFKA_SERVER_LOG)}\n` +
      `--- ${KAFKA_STDOUT_LOG} (tail) ---\n${tailFile(KAFKA_STDOUT_LOG)}`,
  );
}

function readCmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** Guards against pid reuse: only a java running kafka.Kafka on *our* server.properties counts. */
function isOurKafka(pid) {
  if (!isPidAlive(pid)) return false;
  if (!fs.existsSync('/proc')) return true; // no procfs (macOS): trust the pid
  const cmd = readCmdline(pid);
  return !!cmd && cmd.includes('kafka.Kafka') && cmd.includes(KAFKA_PROPS);
}

/** Brokers of this checkout that state.json lost track of (killed CLI, deleted state file). */
function strayKafkaPids() {
  if (!fs.existsSync('/proc')) return [];
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && isOurKafka(pid));
}

async function stopKafka(pid) {
  if (!isOurKafka(pid)) return false;
  log(`stopping Kafka (pid ${pid})...`);
  signal(pid, 'SIGTERM'); // controlled shutdown; data is throwaway but it keeps the log readable
  const deadline = Date.now() + KAFKA_STOP_TIMEOUT_MS;
  while (Date.now() < deadline && isPidAlive(pid)) await sleep(200);
  if (isPidAlive(pid)) {
    log(`Kafka ignored SIGTERM for ${KAFKA_STOP_TIMEOUT_MS / 1000}s; killing its process group`);
    signal(-pid, 'SIGKILL'); // detached spawn made pid the group leader
    signal(pid, 'SIGKILL');
    while (isPidAlive(pid)) await sleep(100);
  }
  return true;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function startKafka() {
  if (!hasCommand('java'))
    throw new Error('Java 17+ is required to run Kafka: apt-get install openjdk-17-jre-headless');
  ensureKafkaLibs();
  for (const pid of strayKafkaPids()) await stopKafka(pid); // would hold the data dir we are about to wipe
  // Logs belong to one broker run; old runs' lines would make a startup failure's log tail misleading.
  fs.rmSync(KAFKA_LOGS, { recursive: true, force: true });
  fs.mkdirSync(KAFKA_LOGS, { recursive: true });
  try {
    return await launchKafka();
  } catch (err) {
    // The ports were free when we asked, but another process may have bound one since.
    if (!/Address already in use/.test(err.message)) throw err;
    log('a picked port was taken before Kafka bound it; retrying with new ports');
    return launchKafka();
  }
}

async function launchKafka() {
  const [port, controllerPort] = await freePorts(2);
  fs.writeFileSync(KAFKA_PROPS, serverProperties(port, controllerPort));
  const t0 = Date.now();
  const clusterId = formatKafkaStorage();
  const pid = spawnKafka();
  log(`Kafka starting (pid ${pid}, port ${port}, controller ${controllerPort})...`);
  try {
    await waitForKafka(pid, port);
  } catch (err) {
    await stopKafka(pid);
    throw err;
  }
  log(`Kafka ready on 127.0.0.1:${port} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return { kafkaPid: pid, kafkaPort: port, kafkaControllerPort: controllerPort, kafkaClusterId: clusterId };
}

/** Returns the broker list to use plus the fields to keep in state.json. */
async function provideKafka(prev) {
  const envBrokers = process.env.KAFKA_BROKERS;
  const owned = prev.kafkaPid && isOurKafka(prev.kafkaPid) ? pickKafkaState(prev) : {};
  if (envBrokers) {
    // A broker we started earlier stays recorded so `down` still stops it.
    if (await brokersReachable(envBrokers)) return { kafkaBrokers: envBrokers, started: false, ...owned };
    log(`KAFKA_BROKERS=${envBrokers} is not reachable; using a local broker instead`);
  }
  if (owned.kafkaPid && (await kafkaLiveBrokerCount('127.0.0.1', owned.kafkaPort)) > 0) {
    log(`reusing Kafka (pid ${owned.kafkaPid}) on 127.0.0.1:${owned.kafkaPort}`);
    return { kafkaBrokers: `127.0.0.1:${owned.kafkaPort}`, started: true, ...owned };
  }
  if (owned.kafkaPid) await stopKafka(owned.kafkaPid); // alive but not serving: wedged
  const fresh = await startKafka();
  return { kafkaBrokers: `127.0.0.1:${fresh.kafkaPort}`, started: true, ...fresh };
}

function pickKafkaState(s) {
  return {
    kafkaPid: s.kafkaPid,
    kafkaPort: s.kafkaPort,
    kafkaControllerPort: s.kafkaControllerPort,
    kafkaClusterId: s.kafkaClusterId,
  };
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

function psqlOk(url) {
  // -w: never prompt for a password (stdin is not a terminal in CI anyway).
  const res = spawnSync('psql', [url, '-X', '-w', '-q', '-t', '-A', '-c', 'select 1'], {
    encoding: 'utf8',
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return res.status === 0 && res.stdout.trim() === '1';
}

async function databaseReachable(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  // No hostname = unix socket URL; leave that to psql.
  if (parsed.hostname && !(await tcpProbe(parsed.hostname, Number(parsed.port) || PG_DEFAULT_PORT)))
    return false;
  return hasCommand('psql') ? psqlOk(url) : true;
}

function localUrls(port) {
  const users = ['postgres', os.userInfo().username].filter((u, i, all) => all.indexOf(u) === i);
  return [
    ...users.map((u) => `postgres://${u}@127.0.0.1:${port}/postgres`),
    // Password fallback set by ensurePostgresPassword() on clusters we started ourselves.
    `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
  ];
}

function firstWorkingUrl(port) {
  if (!hasCommand('psql')) return localUrls(port)[0]; // cannot verify further than TCP
  for (const url of localUrls(port)) if (psqlOk(url)) return url;
  return null;
}

/** Debian layout: /etc/postgresql/<version>/<cluster>/postgresql.conf. Newest version first. */
function findLocalCluster() {
  const root = '/etc/postgresql';
  if (!fs.existsSync(root) || !hasCommand('pg_ctlcluster')) return null;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'main', 'postgresql.conf')))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions.length) return null;
  const conf = fs.readFileSync(path.join(root, versions[0], 'main', 'postgresql.conf'), 'utf8');
  const port = Number((conf.match(/^\s*port\s*=\s*(\d+)/m) || [])[1]) || PG_DEFAULT_PORT;
  return { version: versions[0], name: 'main', port };
}

async function startCluster(cluster) {
  log(`starting PostgreSQL cluster ${cluster.version}/${cluster.name}...`);
  const res = spawnSync(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', cluster.version, cluster.name, 'start'],
    {
      encoding: 'utf8',
    },
  );
  // Exit 2 = "already running" (e.g. the apt install started it): fine, we still wait for the port.
  if (res.status !== 0 && res.status !== 2) {
    throw new Error(`pg_ctlcluster start failed (${res.status}): ${(res.stderr || res.stdout || '').trim()}`);
  }
  const deadline = Date.now() + PG_START_TIMEOUT_MS;
  while (!(await tcpProbe('127.0.0.1', cluster.port))) {
    if (Date.now() > deadline)
      throw new Error(`PostgreSQL ${cluster.version}/${cluster.name} did not open port ${cluster.port}`);
    await sleep(250);
  }
}

function stopCluster(cluster) {
  log(`stopping PostgreSQL cluster ${cluster.version}/${cluster.name}...`);
  spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'stop'], {
    stdio: 'ignore',
  });
}

/**
 * A fresh Debian cluster only allows peer auth on the socket and scram on TCP, so a
 * password-less TCP URL fails. On a cluster we started, give `postgres` the password
 * "postgres" - but never overwrite one that is already set.
 */
function ensurePostgresPassword(cluster) {
  if (process.getuid?.() !== 0 || !hasCommand('runuser')) return;
  const sql =
    "DO $$ BEGIN IF (SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = 'postgres') " +
    "THEN ALTER ROLE postgres PASSWORD 'postgres'; END IF; END $$;";
  spawnSync(
    'runuser',
    ['-u', 'postgres', '--', 'psql', '-X', '-w', '-q', '-p', String(cluster.port), '-c', sql],
    {
      stdio: 'ignore',
    },
  );
}

function installPostgres() {
  log('installing PostgreSQL with apt-get (this takes a minute)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-q', 'postgresql'], { env });
  try {
    install();
  } catch {
    run('apt-get', ['update', '-q'], { env }); // stale or empty package lists on fresh machines
    install();
  }
}

/** Returns the database URL plus the cluster we started (or keep owning), if any. */
async function providePostgres(prev) {
  const tried = [];
  const owned = prev.postgresCluster || null;

  const envUrl = process.env.DATABASE_URL;
  if (envUrl) {
    if (await databaseReachable(envUrl)) return { databaseUrl: envUrl, postgresCluster: owned };
    tried.push(`DATABASE_URL (${redact(envUrl)}) not reachable`);
    log(`DATABASE_URL is set but not reachable; looking for a local PostgreSQL`);
  }

  if (await tcpProbe('127.0.0.1', PG_DEFAULT_PORT)) {
    const url = firstWorkingUrl(PG_DEFAULT_PORT);
    if (url) return { databaseUrl: url, postgresCluster: owned };
    throw new Error(
      `PostgreSQL on 127.0.0.1:${PG_DEFAULT_PORT} refused all of: ${localUrls(PG_DEFAULT_PORT).map(redact).join(', ')}. ` +
        'Set DATABASE_URL to a URL that works.',
    );
  }
  tried.push(`nothing listening on 127.0.0.1:${PG_DEFAULT_PORT}`);

  let cluster = findLocalCluster();
  if (!cluster) {
    tried.push('no Debian cluster under /etc/postgresql (or no pg_ctlcluster)');
    if (!hasCommand('apt-get') || process.getuid?.() !== 0) {
      throw new Error(
        `no PostgreSQL available. Tried: ${tried.join('; ')}; cannot apt-get install (needs root + apt-get). Set DATABASE_URL.`,
      );
    }
    installPostgres();
    cluster = findLocalCluster();
    if (!cluster)
      throw new Error(`apt-get installed postgresql but no cluster appeared. Tried: ${tried.join('; ')}`);
  }

  await startCluster(cluster);
  let url = firstWorkingUrl(cluster.port);
  if (!url) {
    ensurePostgresPassword(cluster);
    url = firstWorkingUrl(cluster.port);
  }
  const postgresCluster = { version: cluster.version, name: cluster.name, port: cluster.port };
  if (!url) {
    stopCluster(postgresCluster);
    throw new Error(
      `started PostgreSQL ${cluster.version}/${cluster.name} but could not log in. Tried: ${tried.join('; ')}`,
    );
  }
  return { databaseUrl: url, postgresCluster };
}

function redact(url) {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/**
 * Provision Kafka + PostgreSQL (reusing anything already running).
 * `started.kafka` / `started.postgres` are true when this stack owns the service in use
 * (started it now or in an earlier `up`), i.e. when `down` will stop it.
 */
/** Live holders of the stack: test runs register their pid; `npm run stack:up` registers "cli". */
function liveLeases(state) {
  return (state.leases ?? []).filter((lease) => lease === 'cli' || isPidAlive(lease));
}

async function up({ quiet: q = false, lease = 'cli' } = {}) {
  quiet = q;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  return withLock(async () => {
    const prev = readState();
    const leases = [...new Set([...liveLeases(prev), lease])];
    const { started: kafkaOwned, ...kafka } = await provideKafka(prev);
    const pg = await providePostgres(prev);
    const state = {
      kafkaBrokers: kafka.kafkaBrokers,
      databaseUrl: pg.databaseUrl,
      started: { kafka: kafkaOwned, postgres: !!pg.postgresCluster },
      ...kafka,
      postgresCluster: pg.postgresCluster,
      leases,
      updatedAt: new Date().toISOString(),
    };
    writeState(state);
    return { kafkaBrokers: state.kafkaBrokers, databaseUrl: state.databaseUrl, started: state.started };
  });
}

/**
 * Stop only what `up` started, then forget it. With a lease, only that holder lets go, and the
 * services stop once no other live holder (a concurrent test run, a manual stack:up) remains.
 */
async function down({ lease } = {}) {
  return withLock(async () => {
    const prev = readState();
    const stopped = { kafka: false, postgres: false };
    if (lease !== undefined) {
      const remaining = liveLeases(prev).filter((holder) => holder !== lease);
      if (remaining.length > 0) {
        writeState({ ...prev, leases: remaining, updatedAt: new Date().toISOString() });
        log(`still in use by ${remaining.join(', ')}; leaving the services running`);
        return { stopped, sharedWith: remaining };
      }
    }
    const pids = new Set([prev.kafkaPid, ...strayKafkaPids()].filter(Boolean));
    for (const pid of pids) stopped.kafka = (await stopKafka(pid)) || stopped.kafka;
    if (prev.postgresCluster) {
      stopCluster(prev.postgresCluster);
      stopped.postgres = true;
    }
    fs.rmSync(STATE_FILE, { force: true });
    return { stopped };
  });
}

async function status() {
  const state = readState();
  const kafkaAlive = !!state.kafkaPid && isOurKafka(state.kafkaPid);
  return {
    state,
    live: {
      kafkaProcess: state.kafkaPid ? kafkaAlive : null,
      kafkaReachable: state.kafkaBrokers ? await brokersReachable(state.kafkaBrokers) : false,
      databaseReachable: state.databaseUrl ? await databaseReachable(state.databaseUrl) : false,
      strayKafkaPids: strayKafkaPids().filter((p) => p !== state.kafkaPid),
    },
  };
}

module.exports = { up, down, status };

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

if (require.main === module) {
  const commands = { up, down, status };
  const cmd = process.argv[2];
  if (!commands[cmd]) {
    process.stderr.write('usage: node deploy/local/stack.js up|down|status\n');
    process.exit(2);
  }
  commands[cmd]()
    .then((result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`))
    .catch((err) => {
      process.stderr.write(`[stack] ${cmd} failed: ${err.message}\n`);
      process.exit(1);
    });
}
