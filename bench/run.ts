/**
 * bench/run (`npm run bench`): builds when a source is newer than the last build, then runs every
 * benchmark in dist/bench (each `*.js` but this one), one child process at a time so they do not
 * disturb each other's timings, and prints one JSON summary on stdout:
 *
 *   { "machine": { "cpus": 8, "node": "v20.19.0" }, "benchmarks": { "ingest": {...}, "stats": { "error": "..." } } }
 *
 * A benchmark that fails, times out or prints no JSON is reported with an error and the tail of its
 * output; the others still run, and the exit code is 1 (a summary with a hole in it is not a
 * measurement). `summary` gathers the headline figures of every benchmark beside its goal, so three
 * runs can be compared at a glance; a goal missed is reported (`met: false`), not an error.
 * Progress goes to stderr.
 *
 *   node dist/bench/run.js [--only ingest,stats] [--timeout <seconds per benchmark>] [--no-build] [--dir <folder>]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const OUTPUT_TAIL = 2_000;

interface Options {
  only?: string[];
  timeoutSeconds?: number;
  build: boolean;
  directory: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { build: true, directory: __dirname };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${argument} needs a value`);
      return next;
    };
    if (argument === '--only') options.only = value().split(',').filter(Boolean);
    else if (argument === '--timeout') {
      options.timeoutSeconds = Number(value());
      if (!(options.timeoutSeconds > 0)) throw new Error('--timeout expects a number of seconds above 0');
    } else if (argument === '--no-build') options.build = false;
    else if (argument === '--dir') options.directory = path.resolve(value());
    else throw new Error(`unknown argument ${argument}; expected --only, --timeout, --no-build or --dir`);
  }
  return options;
}

/** The newest modification time of the TypeScript sources a benchmark can depend on. */
function newestSource(directory: string): number {
  let newest = 0;
  if (!existsSync(directory)) return newest;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function buildIfNeeded(): void {
  const buildInfo = path.join(ROOT, 'dist', '.tsbuildinfo');
  const built = existsSync(buildInfo) ? statSync(buildInfo).mtimeMs : 0;
  const sources = Math.max(
    ...['apps', 'libs', 'bench'].map((folder) => newestSource(path.join(ROOT, folder))),
  );
  if (built >= sources) return;
  process.stderr.write('bench: sources changed since the last build; building\n');
  // The build's own output goes to stderr: stdout carries the summary only.
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    process.stderr.write(
      `bench: the build failed (exit ${result.status ?? result.signal}); nothing was run\n`,
    );
    process.exit(1);
  }
}

function discover(options: Options): string[] {
  const names = readdirSync(options.directory)
    .filter((file) => file.endsWith('.js') && file !== 'run.js')
    .map((file) => file.slice(0, -'.js'.length))
    .sort();
  if (!options.only) return names;
  const missing = options.only.filter((name) => !names.includes(name));
  if (missing.length > 0)
    throw new Error(
      `no benchmark named ${missing.join(', ')} in ${options.directory} (found ${names.join(', ')})`,
    );
  return names.filter((name) => options.only!.includes(name));
}

/** The JSON object a benchmark printed: all of stdout, else the last object that starts a line. */
export function lastJsonObject(stdout: string): unknown {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    const lines = text.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      if (!lines[i].startsWith('{')) continue;
      try {
        return JSON.parse(lines.slice(i).join('\n'));
      } catch {
        // an earlier line may start the object
      }
    }
  }
  return undefined;
}

const tail = (text: string) => (text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text);

function runOne(directory: string, name: string, timeoutSeconds?: number): Promise<unknown> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(directory, `${name}.js`)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk.toString()).slice(-OUTPUT_TAIL);
    });
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          }, timeoutSeconds * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ error: `could not start: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const output = { stdout: tail(stdout.trim()), stderr: tail(stderr.trim()) };
      if (timedOut) return resolve({ error: `timed out after ${timeoutSeconds} s`, ...output });
      if (code !== 0)
        return resolve({ error: `exited with ${code ?? signal} after ${seconds} s`, ...output });
      const result = lastJsonObject(stdout);
      if (result === undefined || result === null || typeof result !== 'object')
        return resolve({ error: 'printed no JSON object on stdout', ...output });
      process.stderr.write(`bench: ${name} done in ${seconds} s\n`);
      resolve(result);
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.build) buildIfNeeded();
  const names = discover(options);
  if (names.length === 0) throw new Error(`no benchmarks in ${options.directory}`);
  const benchmarks: Record<string, unknown> = {};
  for (const name of names) {
    process.stderr.write(`bench: running ${name} (${names.indexOf(name) + 1} of ${names.length})\n`);
    benchmarks[name] = await runOne(options.directory, name, options.timeoutSeconds);
    if ((benchmarks[name] as { error?: unknown }).error !== undefined)
      process.stderr.write(`bench: ${name} failed: ${(benchmarks[name] as { error: string }).error}\n`);
  }
  const failed = Object.entries(benchmarks)
    .filter(([, result]) => (result as { error?: unknown }).error !== undefined)
    .map(([name]) => name);
  const machine = { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg().map(round2) };
  process.stdout.write(
    `${JSON.stringify({ machine, summary: summarise(benchmarks), failed, benchmarks }, null, 2)}\n`,
  );
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} benchmark(s) failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** A figure beside its goal. */
interface Headline {
  value: number | null;
  goal: string;
  met: boolean | null;
}
const atMost = (value: number | undefined, goal: number): Headline => ({
  value: value ?? null,
  goal: `<= ${goal}`,
  met: value === undefined ? null : value <= goal,
});
const atLeast = (value: number | undefined, goal: number): Headline => ({
  value: value ?? null,
  goal: `>= ${goal}`,
  met: value === undefined ? null : value >= goal,
});

/**
 * The figures issue 16 asks for, read from each benchmark's own JSON (a benchmark that did not run
 * leaves its figures out). Reading, not recomputing: each benchmark stays the one place that says
 * how its comparison is made.
 */
export function summarise(benchmarks: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  const ingest = benchmarks.ingest as IngestFigures | undefined;
  if (ingest?.ingestor_events_per_second) {
    summary.ingest = {
      eventsPerSecond: atLeast(ingest.ingestor_events_per_second.median, 50_000),
      ratioToKafkajsFloor: atLeast(ingest.ratio_to_kafkajs_floor, 0.8),
      ratioToPlatformaticFloor: ingest.ratio_to_platformatic_floor ?? null,
      produceToQueryable: (ingest.produce_to_queryable ?? []).map((rate) => ({
        offered: rate.offered_events_per_second,
        achieved: rate.achieved_offered_events_per_second,
        p50Ms: rate.p50_ms,
        p99Ms: rate.p99_ms,
      })),
    };
  }
  const stats = benchmarks.stats as StatsFigures | undefined;
  if (stats?.results) {
    summary.statistics = {
      worstRatioToScipy: atMost(stats.summary?.worstRatio, 1.5),
      ratios: stats.results.map((result) => ({
        function: result.function,
        n: result.n,
        ratio: result.ratio,
      })),
    };
  }
  const evaluate = benchmarks.evaluate as EvaluateFigures | undefined;
  if (evaluate?.overhead_percent !== undefined) {
    summary.replayOverheadPercent = atMost(evaluate.overhead_percent, 10);
  }
  const triggerScan = benchmarks['trigger-scan'] as TriggerScanFigures | undefined;
  if (triggerScan?.triggerScan) {
    summary.triggerScan = triggerScan.triggerScan.map((scan) => ({
      model: scan.model,
      candidates: scan.candidates,
      seconds: atMost(scan.seconds, 120),
      triggerRank: scan.triggerRank,
      triggerFlagged: scan.triggerFlagged,
      flagged: scan.flagged.length,
    }));
  }
  const datasetScan = benchmarks['dataset-scan-zoo'] as DatasetScanFigures | undefined;
  if (datasetScan?.datasetScan) {
    summary.datasetScan = datasetScan.datasetScan.map((figures) => ({
      set: figures.set,
      representation: figures.representation,
      recallTop2x: figures.recallTop2x,
      precision: figures.precision,
      recall: figures.recall,
      scanSeconds: figures.scanSeconds,
    }));
  }
  return summary;
}

interface IngestFigures {
  ingestor_events_per_second?: { median: number };
  ratio_to_kafkajs_floor?: number;
  ratio_to_platformatic_floor?: number;
  produce_to_queryable?: {
    offered_events_per_second: number;
    achieved_offered_events_per_second: number;
    p50_ms: number;
    p99_ms: number;
  }[];
}
interface StatsFigures {
  summary?: { worstRatio: number };
  results?: { function: string; n: number[]; ratio: number }[];
}
interface EvaluateFigures {
  overhead_percent?: number;
}
interface TriggerScanFigures {
  triggerScan?: {
    model: string;
    candidates: number;
    seconds: number;
    triggerRank: number | null;
    triggerFlagged: boolean | null;
    flagged: unknown[];
  }[];
}
interface DatasetScanFigures {
  datasetScan?: {
    set: string;
    representation: string;
    recallTop2x: number | null;
    precision: number | null;
    recall: number | null;
    scanSeconds: number;
  }[];
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
