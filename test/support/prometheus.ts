import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './processes';
import { eventually } from './services';

const hasCommand = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/**
 * Debian's `prometheus` package brings both `prometheus` and `promtool`. Installed here when
 * missing, the way deploy/local/stack.js provisions PostgreSQL: only as root with apt-get, and a
 * failed install retried once after refreshing stale package lists.
 */
export function ensurePrometheus(): void {
  if (hasCommand('promtool') && hasCommand('prometheus')) return;
  if (!hasCommand('apt-get') || process.getuid?.() !== 0)
    throw new Error(
      'promtool and prometheus are missing and cannot be installed (needs root and apt-get): apt-get install prometheus',
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', 'prometheus'], { env, encoding: 'utf8' });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
    result = install();
  }
  if (result.status !== 0 || !hasCommand('promtool'))
    throw new Error(`apt-get install prometheus failed:\n${(result.stdout ?? '') + (result.stderr ?? '')}`);
}

/** Runs promtool; stdin is fed when given. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export interface RunningPrometheus {
  url: string;
  /** GET /api/v1/<path>, answering `data`. */
  api: <T>(pathAndQuery: string) => Promise<T>;
  stop: () => Promise<void>;
}

/** A Prometheus of its own (storage in a temporary directory) scraping the targets every second. */
export async function startPrometheus(options: {
  targets: string[];
  rules: string;
  intervalSeconds?: number;
}): Promise<RunningPrometheus> {
  const directory = mkdtempSync(path.join(tmpdir(), 'tripline-prometheus-'));
  const interval = `${options.intervalSeconds ?? 1}s`;
  writeFileSync(path.join(directory, 'tripline.rules.yml'), options.rules);
  writeFileSync(
    path.join(directory, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'rule_files: [tripline.rules.yml]',
      'scrape_configs:',
      '  - job_name: tripline',
      '    static_configs:',
      `      - targets: [${options.targets.map((target) => JSON.stringify(target)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  let output = '';
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(directory, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    await eventually(async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000);
  } catch (error) {
    await stop();
    throw new Error(`prometheus did not become ready: ${String(error)}\n${output}`);
  }
  return {
    url,
    stop,
    api: async <T>(pathAndQuery: string) => {
      const response = await fetch(`${url}/api/v1/${pathAndQuery}`);
      const body = (await response.json()) as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error}`);
      return body.data;
    },
  };
}
