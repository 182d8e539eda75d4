import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel, type Producer, type ProducerConfig } from 'kafkajs';
import { Client } from 'pg';
import { temporaryDirectory } from './services';

/**
 * Fault targets: services of its own for a test that stops, kills or restarts them. The shared
 * broker and PostgreSQL that `npm test` provides are used by every other test running at the same
 * time, so a fault test never touches those; it starts one of these instead.
 *
 * - startDedicatedKafka(): a second single-node KRaft broker from the jars deploy/local/stack.js
 *   fetched (.cache/stack/kafka/libs), with the same server settings, its own data directory and
 *   free ports. restart() and kill() keep the ports and the data, so clients reconnect to it.
 * - startDedicatedPostgres(): a throwaway Debian cluster (pg_createcluster) of the newest
 *   installed PostgreSQL on a free port, trust auth on loopback, dropped by drop().
 *
 * Both are also torn down synchronously when the test process exits, whatever the outcome.
 *
 * The fault suite (issue 8, item 4) that uses them, one file per fault:
 * - Kafka broker restarted mid-stream: test/integration/faults-kafka-restart.test.ts;
 *   SIGKILLed mid-stream: test/integration/faults-kafka-kill.test.ts.
 * - ingestor SIGKILLed mid-stream: test/e2e/ingestor-crash.test.ts.
 * - ClickHouse unavailable: test/integration/ingestion.test.ts ("while ClickHouse is unavailable").
 * - PostgreSQL restarted: test/e2e/faults-postgres.test.ts.
 * - model endpoint timing out, erroring, answering garbage: test/integration/faults-model-endpoint.test.ts.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const KAFKA_LIBS = path.join(ROOT, '.cache', 'stack', 'kafka', 'libs');
const KAFKA_LOG4J = path.join(ROOT, 'deploy', 'local', 'kafka', 'log4j.properties');
const KAFKA_READY_TIMEOUT_MS = 90_000;
const KAFKA_STOP_TIMEOUT_MS = 30_000;
const POSTGRES_READY_TIMEOUT_MS = 60_000;
/** A broker without an owner file (started by an older copy of this file) counts as orphaned only when this old. */
const ORPHAN_WITHOUT_OWNER_MS = 2 * 60 * 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Synchronous clean-ups for whatever a test left running: at exit, and on SIGTERM/SIGINT (how the
 * test runner cancels a file), which would otherwise end the process without an 'exit' event.
 * A process killed outright leaves its services behind; the next start of the same kind removes
 * those whose creator is gone (see removeOrphans*).
 */
const exitHooks = new Set<() => void>();
function runExitHooks(): void {
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // best effort: the process is going away
    }
  }
  exitHooks.clear();
}
process.once('exit', runExitHooks);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    runExitHooks();
    process.kill(process.pid, signal);
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Distinct free loopback ports: every listener stays open until all are picked. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

function tailOf(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} could not be run: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${output}`);
  }
  return result.stdout ?? '';
}

function tcpOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------
// Kafka
// ---------------------------------------------------------------------------

/**
 * Metadata v4 over a raw socket: the number of live, unfenced brokers, i.e. whether the broker
 * serves requests (topic creation included) rather than just having its port open. 0 on any error.
 */
function kafkaLiveBrokers(port: number, timeoutMs = 2_000): Promise<number> {
  const clientId = Buffer.from('tripline-faults');
  const correlationId = randomInt(1, 2 ** 31 - 1);
  const header = Buffer.alloc(10);
  header.writeInt16BE(3, 0); // api key: Metadata
  header.writeInt16BE(4, 2); // version 4
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const body = Buffer.alloc(5);
  body.writeInt32BE(-1, 0); // all topics
  body.writeInt8(0, 4); // allow_auto_topic_creation: false
  const payload = Buffer.concat([header, clientId, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    const done = (count: number) => {
      socket.destroy();
      resolve(count);
    };
    socket.setTimeout(timeoutMs, () => done(0));
    socket.once('error', () => done(0));
    socket.once('close', () => done(0));
    socket.once('connect', () => socket.write(Buffer.concat([size, payload])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      // size, correlation id, throttle_time_ms, then the brokers array length
      done(received.readInt32BE(4) === correlationId ? received.readInt32BE(12) : 0);
    });
  });
}

export interface DedicatedKafka {
  /** "127.0.0.1:<port>", the same across restarts. */
  readonly brokers: string[];
  readonly port: number;
  /** The broker's process id, or undefined while it is stopped. */
  pid(): number | undefined;
  /** Controlled shutdown (SIGTERM), waiting until the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL: no controlled shutdown, the log is recovered at the next start. */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data directory, once it serves requests. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** A kafkajs client of this broker (no logging). */
  client(clientId?: string): Kafka;
  /** The broker's log tail, for failure messages. */
  logTail(): string;
  /** Stops the broker and deletes its data. */
  remove(): Promise<void>;
}

function kafkaProperties(port: number, controllerPort: number, dataDirectory: string): string {
  // The settings of deploy/local/stack.js's broker, on other ports and another data directory.
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${dataDirectory}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
offsets.topic.num.partitions=3
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
num.partitions=3
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
`;
}

/** Brokers started by a test process that no longer exists (killed before it could clean up). */
function removeOrphanKafkas(): void {
  if (!existsSync('/proc')) return;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv.includes('kafka.Kafka')) continue;
    const properties = argv.find((arg) => /\/tripline-kafka-[^/]+\/server\.properties$/.test(arg));
    if (!properties) continue;
    const directory = path.dirname(properties);
    const ownerFile = path.join(directory, 'owner.pid');
    if (existsSync(ownerFile)) {
      const owner = Number(readFileSync(ownerFile, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    } else {
      let age = 0;
      try {
        age = Date.now() - statSync(properties).mtimeMs;
      } catch {
        continue; // removed meanwhile: its owner is cleaning up
      }
      if (age < ORPHAN_WITHOUT_OWNER_MS) continue;
    }
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A single-node KRaft broker of its own, for a test that restarts or kills it. */
export async function startDedicatedKafka(): Promise<DedicatedKafka> {
  if (
    !existsSync(path.join(KAFKA_LIBS, '.complete')) ||
    !readdirSync(KAFKA_LIBS).some((f) => f.endsWith('.jar'))
  )
    throw new Error(
      `no Kafka jars in ${KAFKA_LIBS}: run \`npm run stack:up\` (or the tests through npm test) first`,
    );
  removeOrphanKafkas();
  const scratch = temporaryDirectory('tripline-kafka-');
  writeFileSync(path.join(scratch.path, 'owner.pid'), `${process.pid}\n`);
  const data = path.join(scratch.path, 'data');
  const logs = path.join(scratch.path, 'logs');
  const properties = path.join(scratch.path, 'server.properties');
  mkdirSync(data, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const [port, controllerPort] = await freePorts(2);
  writeFileSync(properties, kafkaProperties(port, controllerPort, data));
  const java = (mainClass: string, args: string[], jvm: string[] = []) => [
    ...jvm,
    `-Dkafka.logs.dir=${logs}`,
    `-Dlog4j.configuration=file:${KAFKA_LOG4J}`,
    '-cp',
    path.join(KAFKA_LIBS, '*'),
    mainClass,
    ...args,
  ];
  try {
    const clusterId = run('java', java('kafka.tools.StorageTool', ['random-uuid'])).trim();
    run('java', java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', properties]));
  } catch (error) {
    scratch.remove();
    throw error;
  }

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stdoutLog = path.join(logs, 'stdout.log');
  const serverLog = path.join(logs, 'server.log');
  const logTail = () =>
    `--- ${serverLog} ---\n${tailOf(serverLog)}\n--- ${stdoutLog} ---\n${tailOf(stdoutLog, 10)}`;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const killNow = () => {
    if (alive()) child!.kill('SIGKILL');
  };
  const discard = () => {
    killNow();
    scratch.remove();
  };
  exitHooks.add(discard);

  const start = async () => {
    if (alive()) throw new Error(`the dedicated Kafka on port ${port} is already running`);
    const out = openSync(stdoutLog, 'a');
    try {
      child = spawn(
        'java',
        java(
          'kafka.Kafka',
          [properties],
          ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'],
        ),
        { cwd: scratch.path, stdio: ['ignore', out, out] },
      );
    } finally {
      closeSync(out);
    }
    const current = child;
    exited = new Promise((resolve) => current.once('exit', () => resolve()));
    const deadline = Date.now() + KAFKA_READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!alive()) throw new Error(`the dedicated Kafka exited during start-up\n${logTail()}`);
      if ((await kafkaLiveBrokers(port)) > 0) return;
      await sleep(200);
    }
    killNow();
    throw new Error(
      `the dedicated Kafka did not serve on port ${port} within ${KAFKA_READY_TIMEOUT_MS} ms\n${logTail()}`,
    );
  };

  const stop = async () => {
    if (!alive()) return;
    child!.kill('SIGTERM');
    const timer = setTimeout(killNow, KAFKA_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const kill = async () => {
    killNow();
    await exited;
  };

  try {
    await start();
  } catch (error) {
    discard();
    exitHooks.delete(discard);
    throw error;
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    pid: () => (alive() ? child!.pid : undefined),
    start,
    stop,
    kill,
    restart: async () => {
      await stop();
      await start();
    },
    client: (clientId = 'tripline-fault-test') =>
      new Kafka({ clientId, brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }),
    logTail,
    remove: async () => {
      await stop();
      exitHooks.delete(discard);
      scratch.remove();
    },
  };
}

/**
 * An idempotent producer that keeps retrying through a broker outage of up to about `outageMs`.
 * The retry budget is the client's as well as the producer's: kafkajs nests retriers (connect,
 * metadata, send), and an inner one that gives up turns the error non-retriable for the outer one.
 */
export async function patientProducer(brokers: string[], outageMs = 60_000): Promise<Producer> {
  const maxRetryTime = 2_000;
  const retry = {
    retries: Math.ceil(outageMs / (maxRetryTime / 2)) + 5,
    initialRetryTime: 200,
    maxRetryTime,
  };
  const config: ProducerConfig = {
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry,
  };
  const kafka = new Kafka({
    clientId: 'tripline-fault-producer',
    brokers,
    retry,
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer(config);
  await producer.connect();
  return producer;
}

/** True once the group has committed every partition of the topics up to the high watermark. */
export async function groupCaughtUpOn(kafka: Kafka, groupId: string, topics: string[]): Promise<boolean> {
  const admin = kafka.admin();
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

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

export interface DedicatedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth on loopback). */
  readonly url: string;
  readonly port: number;
  readonly version: string;
  readonly cluster: string;
  /** A URL of another database on this server. */
  urlOf(database: string): string;
  /** pg_ctlcluster stop -m fast: sessions are ended, the port closes. */
  stop(): Promise<void>;
  /** pg_ctlcluster start, resolving once the server accepts connections. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** The server log tail, for failure messages. */
  logTail(): string;
  /** pg_dropcluster --stop: the cluster and its data are gone. */
  drop(): Promise<void>;
}

/** The newest PostgreSQL major installed the Debian way (/usr/lib/postgresql/<major>/bin). */
function installedPostgresVersion(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return versions[0];
}

async function postgresAccepting(port: number): Promise<boolean> {
  if (!(await tcpOpen(port))) return false;
  const client = new Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    connectionTimeoutMillis: 3_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    return rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Clusters of a test process that no longer exists (killed before it could drop them). */
function removeOrphanClusters(version: string): void {
  const directory = `/etc/postgresql/${version}`;
  if (!existsSync(directory)) return;
  for (const cluster of readdirSync(directory)) {
    const owner = /^tripline_fault_(\d+)_/.exec(cluster);
    if (owner && !pidAlive(Number(owner[1])))
      spawnSync('pg_dropcluster', ['--stop', version, cluster], { stdio: 'ignore' });
  }
}

/**
 * A throwaway PostgreSQL cluster, created as Debian's tools do (owned by the postgres OS user,
 * config under /etc/postgresql/<version>/<name>), on a free port, with trust auth so tests need
 * no password. Not started at boot (start.conf manual); drop() removes it entirely.
 */
export async function startDedicatedPostgres(): Promise<DedicatedPostgres> {
  for (const tool of ['pg_createcluster', 'pg_ctlcluster', 'pg_dropcluster']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is not installed: apt-get install postgresql postgresql-common`);
  }
  if (process.getuid?.() !== 0)
    throw new Error('creating a PostgreSQL cluster needs root (pg_createcluster)');
  const version = installedPostgresVersion();
  removeOrphanClusters(version);
  // The creator's pid in the name lets a later run drop it if this process dies without cleaning up.
  const cluster = `tripline_fault_${process.pid}_${randomBytes(3).toString('hex')}`;
  const [port] = await freePorts(1);
  const logFile = `/var/log/postgresql/postgresql-${version}-${cluster}.log`;
  run('pg_createcluster', [
    version,
    cluster,
    '--port',
    String(port),
    '--start-conf',
    'manual',
    '-o',
    'max_connections=50',
    '-o',
    'fsync=off',
    '--',
    '--auth-local=trust',
    '--auth-host=trust',
  ]);
  const dropNow = () => {
    spawnSync('pg_dropcluster', ['--stop', version, cluster], { stdio: 'ignore' });
  };
  exitHooks.add(dropNow);
  const logTail = () => `--- ${logFile} ---\n${tailOf(logFile)}`;
  const control = (action: 'start' | 'stop') => {
    const args = [
      '--skip-systemctl-redirect',
      version,
      cluster,
      action,
      ...(action === 'stop' ? ['-m', 'fast'] : []),
    ];
    const result = spawnSync('pg_ctlcluster', args, { encoding: 'utf8' });
    // 2: already in the requested state
    if (result.status !== 0 && result.status !== 2)
      throw new Error(
        `pg_ctlcluster ${args.join(' ')} exited with ${result.status}: ${result.stderr ?? ''}\n${logTail()}`,
      );
  };
  const start = async () => {
    control('start');
    const deadline = Date.now() + POSTGRES_READY_TIMEOUT_MS;
    while (!(await postgresAccepting(port))) {
      if (Date.now() > deadline)
        throw new Error(
          `PostgreSQL ${version}/${cluster} did not accept connections on ${port}\n${logTail()}`,
        );
      await sleep(200);
    }
  };
  const stop = async () => {
    control('stop');
    const deadline = Date.now() + POSTGRES_READY_TIMEOUT_MS;
    while (await tcpOpen(port)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL ${version}/${cluster} still listens on ${port}`);
      await sleep(100);
    }
  };
  try {
    await start();
  } catch (error) {
    dropNow();
    exitHooks.delete(dropNow);
    throw error;
  }
  const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url: urlOf('postgres'),
    port,
    version,
    cluster,
    urlOf,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    logTail,
    drop: async () => {
      dropNow();
      exitHooks.delete(dropNow);
    },
  };
}
