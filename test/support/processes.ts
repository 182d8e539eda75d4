import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { eventually } from './services';

const ROOT = path.resolve(__dirname, '..', '..', '..');

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

/** Starts a compiled app (`dist/apps/<name>/src/main.js`) and waits until /health/live answers. */
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
    const live = eventually(async () => {
      const response = await fetch(`${baseUrl}/health/live`);
      return response.ok ? true : undefined;
    }, 90_000);
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
