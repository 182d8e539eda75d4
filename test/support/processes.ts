import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Writes a script that, preloaded with `node --require <file>`, makes resolving Nest, TypeORM,
 * kafkajs, pg or csv-parse fail the process: proof that a command runs without the server's
 * modules (the CLI reading a CSV). Returns the file.
 */
export function writeServerModulesGuard(file: string): string {
  writeFileSync(
    file,
    `'use strict';
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (/^(@nestjs\\/|typeorm$|kafkajs$|pg$|csv-parse$)/.test(request)) throw new Error('loaded ' + request + ', a module of the server');
  return resolve.call(this, request, ...rest);
};
`,
  );
  return file;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface RunningApp {
  baseUrl: string;
  process: ChildProcess;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Start-up may take as long as it keeps making progress, up to this. */
const START_LIMIT_MS = 600_000;
/** A start-up that neither used CPU nor printed anything for this long is stuck. */
const START_STALL_MS = 60_000;
/** Without /proc (no CPU figures), the whole start-up gets this long, as before. */
const START_LIMIT_WITHOUT_PROC_MS = 90_000;

/** CPU time the process has used so far, in clock ticks, or undefined where /proc cannot tell. */
function cpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (command) ": state is field 3, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * How long a start-up may wait is bounded by its progress, not by one fixed time: on a machine
 * loaded several times over, a healthy start (migrations, the embedded engines, the model runtime)
 * can take minutes, while a stuck one uses no CPU and prints nothing. Returns a check that answers
 * why to give up (stalled, or past the overall limit), or undefined to keep waiting.
 */
function startupProgress(child: ChildProcess, outputLength: () => number): () => string | undefined {
  const started = Date.now();
  let lastProgress = started;
  let lastCpu = cpuTicks(child.pid);
  let lastOutput = outputLength();
  const withProc = lastCpu !== undefined;
  return () => {
    const now = Date.now();
    if (!withProc)
      return now - started > START_LIMIT_WITHOUT_PROC_MS
        ? `not live within ${START_LIMIT_WITHOUT_PROC_MS} ms`
        : undefined;
    const cpu = cpuTicks(child.pid);
    const printed = outputLength();
    if ((cpu !== undefined && lastCpu !== undefined && cpu > lastCpu) || printed > lastOutput) {
      lastProgress = now;
    }
    lastCpu = cpu ?? lastCpu;
    lastOutput = printed;
    if (now - lastProgress > START_STALL_MS)
      return `no progress (no CPU time used, nothing printed) for ${START_STALL_MS} ms`;
    if (now - started > START_LIMIT_MS) return `not live within ${START_LIMIT_MS} ms`;
    return undefined;
  };
}

/**
 * Starts a compiled app (`dist/apps/<name>/src/main.js`) and waits until /health/live answers, for
 * as long as the start-up makes progress (see startupProgress).
 */
export async function startApp(
  name: 'standalone' | 'api' | 'ingestor' | 'evaluator' | 'alerter',
  environment: Record<string, string>,
): Promise<RunningApp> {
  const port = await freePort();
  let output = '';
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', path.join(ROOT, 'dist', 'apps', name, 'src', 'main.js')],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        TRIPLINE_DEMO: 'false', // a test's empty data directory is its own, not a demo workspace
        ...environment,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    const progress = startupProgress(child, () => output.length);
    const live = (async () => {
      for (;;) {
        try {
          const response = await fetch(`${baseUrl}/health/live`);
          if (response.ok) return;
        } catch {
          // not listening yet
        }
        const stalled = progress();
        if (stalled) throw new Error(stalled);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    // An app that exits during start-up fails the wait at once rather than at the deadline.
    await Promise.race([
      live,
      exited.then((code) => Promise.reject(new Error(`${name} exited with ${code}`))),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not become live: ${String(error)}\n--- output ---\n${output}`);
  }
  return {
    baseUrl,
    process: child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
