/**
 * bench/stats: libs/drift next to SciPy on the same data, measured in the same run.
 *
 *   node dist/bench/stats.js [--runs 5] [--warmup 3] [--mmd-runs 3] [--permutations 500]
 *                            [--sizes 10000,100000,1000000] [--mmd-rows 1000,3000,10000]
 *
 * ksTest and psi run on two samples of n values each (N(0,1) against N(0.05,1)); mmdTest on n rows
 * in all (half from each sample, 16 dimensions, the second shifted by 0.05), at smaller n because
 * it is quadratic: O(n²·d) for the kernel plus O((n/2)²) per permutation.
 *
 * The baseline is `scipy.stats.ks_2samp` for KS. SciPy has no PSI or MMD, so those baselines are
 * the same algorithms written with NumPy and `scipy.spatial.distance.pdist` (BLAS for the
 * permutations). Timings are medians of several runs, after untimed warm-up calls for KS and PSI
 * on both sides (V8 needs a few to compile the hot loops; none for MMD, whose runs are long).
 * `ratio` is drift time / SciPy time: above 1 is slower. Without python3 and SciPy it prints the
 * TypeScript figures and `"scipy": null` with the reason. Prints one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ksTest, mmdTest, psi, seededRandom } from '@tripline/drift';

const DIMENSION = 16;

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median of `runs` timed calls after `warmup` untimed ones (which let V8 compile the hot loops). */
function time<T>(runs: number, run: () => T, warmup: number): { ms: number; result: T } {
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = run();
    times.push(performance.now() - start);
  }
  return { ms: round(median(times)), result };
}

function round(value: number, digits = 3): number {
  return Number(value.toPrecision(digits));
}

function normals(count: number, seed: number, shift: number): Float64Array {
  const random = seededRandom(seed);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = random.normal() + shift;
  return values;
}

interface Task {
  kind: 'ks' | 'psi' | 'mmd';
  n: number;
  runs: number;
  warmup: number;
  files: string[];
  permutations?: number;
}

const PYTHON = String.raw`
import json, sys, time
import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import pdist, squareform

def psi(reference, current, bins=10, epsilon=1e-4):
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    k = len(edges) + 1
    rc = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=k)
    cc = np.bincount(np.searchsorted(edges, current, side="left"), minlength=k)
    r = np.where(rc == 0, epsilon, rc / len(reference))
    c = np.where(cc == 0, epsilon, cc / len(current))
    return float(np.sum((c - r) * np.log(c / r)))

def mmd(x, y, permutations, seed=0):
    pooled = np.vstack([x, y])
    total, small = len(pooled), min(len(x), len(y))
    d2 = pdist(pooled, "sqeuclidean")
    sigma = np.median(np.sqrt(d2))
    K = squareform(np.exp(-d2 / (2 * sigma * sigma)))
    rows = K.sum(axis=1)
    grand = rows.sum() / 2
    def statistics(Z):
        within = 0.5 * np.einsum("ij,ij->j", Z, K @ Z)
        cross = rows @ Z - 2 * within
        other = grand - within - cross
        large = total - small
        return (2 * within / (small * (small - 1)) + 2 * other / (large * (large - 1))
                - 2 * cross / (small * large))
    first = 0 if len(x) <= len(y) else len(x)
    z = np.zeros((total, 1))
    z[first:first + small] = 1
    observed = statistics(z)[0]
    rng = np.random.default_rng(seed)
    Z = np.zeros((total, permutations))
    for t in range(permutations):
        Z[rng.permutation(total)[:small], t] = 1
    permuted = statistics(Z)
    return float(observed), float((1 + np.sum(permuted >= observed)) / (1 + permutations))

out = {"scipy": scipy.__version__, "numpy": np.__version__, "results": []}
for task in json.load(open(sys.argv[1])):
    data = [np.fromfile(f) for f in task["files"]]
    if task["kind"] == "mmd":
        data = [d.reshape(-1, ${DIMENSION}) for d in data]
    if task["kind"] == "ks":
        run = lambda: stats.ks_2samp(data[0], data[1])
    elif task["kind"] == "psi":
        run = lambda: psi(data[0], data[1])
    else:
        run = lambda: mmd(data[0], data[1], task["permutations"])
    for _ in range(task["warmup"]):
        run()
    times = []
    for _ in range(task["runs"]):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    if task["kind"] == "ks":
        summary = {"statistic": float(result.statistic), "pValue": float(result.pvalue)}
    elif task["kind"] == "psi":
        summary = {"statistic": result}
    else:
        summary = {"statistic": result[0], "pValue": result[1]}
    out["results"].append({"ms": float(np.median(times)), **summary})
print(json.dumps(out))
`;

function runScipy(
  tasks: Task[],
  directory: string,
): { scipy: unknown; reason?: string; results?: unknown[] } {
  const spec = path.join(directory, 'tasks.json');
  writeFileSync(spec, JSON.stringify(tasks));
  const child = spawnSync('python3', ['-c', PYTHON, spec], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (child.error) return { scipy: null, reason: `python3 could not be started: ${child.error.message}` };
  if (child.status !== 0) {
    const lastLine = child.stderr.trim().split('\n').pop() ?? '';
    return { scipy: null, reason: `python3 failed (${child.status}): ${lastLine}` };
  }
  const parsed = JSON.parse(child.stdout) as { scipy: string; numpy: string; results: unknown[] };
  return { scipy: { version: parsed.scipy, numpy: parsed.numpy }, results: parsed.results };
}

function main(): void {
  const runs = Number(argument('runs', '5'));
  const warmup = Number(argument('warmup', '3'));
  const mmdRuns = Number(argument('mmd-runs', '3'));
  const permutations = Number(argument('permutations', '500'));
  const sizes = argument('sizes', '10000,100000,1000000').split(',').map(Number);
  const mmdRows = argument('mmd-rows', '1000,3000,10000').split(',').map(Number);
  const directory = mkdtempSync(path.join(os.tmpdir(), 'tripline-bench-stats-'));
  const file = (name: string, values: Float64Array) => {
    const target = path.join(directory, name);
    writeFileSync(target, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    return target;
  };

  try {
    const tasks: Task[] = [];
    const drift: Record<string, unknown>[] = [];
    for (const n of sizes) {
      const a = normals(n, 1, 0);
      const b = normals(n, 2, 0.05);
      const files = [file(`a-${n}.f64`, a), file(`b-${n}.f64`, b)];
      const ks = time(runs, () => ksTest(a, b), warmup);
      drift.push({
        function: 'ksTest',
        n,
        ms: ks.ms,
        method: ks.result.method,
        statistic: ks.result.statistic,
        pValue: ks.result.pValue,
      });
      tasks.push({ kind: 'ks', n, runs, warmup, files });
      const index = time(runs, () => psi(a, b), warmup);
      drift.push({ function: 'psi', n, ms: index.ms, statistic: index.result.statistic });
      tasks.push({ kind: 'psi', n, runs, warmup, files });
    }
    for (const rows of mmdRows) {
      const half = Math.floor(rows / 2);
      const x = normals(half * DIMENSION, 3, 0);
      const y = normals((rows - half) * DIMENSION, 4, 0.05);
      const asRows = (values: Float64Array) =>
        Array.from({ length: values.length / DIMENSION }, (_, r) =>
          values.subarray(r * DIMENSION, (r + 1) * DIMENSION),
        );
      const [xRows, yRows] = [asRows(x), asRows(y)];
      const result = time(mmdRuns, () => mmdTest(xRows, yRows, { permutations, seed: 1 }), 0);
      drift.push({
        function: 'mmdTest',
        n: rows,
        dimension: DIMENSION,
        permutations,
        ms: result.ms,
        statistic: result.result.statistic,
        pValue: result.result.pValue,
      });
      tasks.push({
        kind: 'mmd',
        n: rows,
        runs: mmdRuns,
        warmup: 0,
        files: [file(`x-${rows}.f64`, x), file(`y-${rows}.f64`, y)],
        permutations,
      });
    }

    const baseline = runScipy(tasks, directory);
    const results = drift.map((entry, i) => {
      const reference = baseline.results?.[i] as
        | { ms: number; statistic: number; pValue?: number }
        | undefined;
      if (!reference) return entry;
      return {
        ...entry,
        scipy: { ms: round(reference.ms), statistic: reference.statistic, pValue: reference.pValue },
        ratio: round((entry.ms as number) / reference.ms),
      };
    });
    console.log(
      JSON.stringify(
        {
          benchmark: 'stats',
          node: process.version,
          cpus: os.cpus().length,
          runs: { ksTest: runs, psi: runs, mmdTest: mmdRuns },
          warmup: { ksTest: warmup, psi: warmup, mmdTest: 0 },
          ratio: 'drift ms / scipy ms (median of runs, same data, same machine, same run)',
          baselines: {
            ksTest: 'scipy.stats.ks_2samp',
            psi: 'NumPy: np.quantile + np.searchsorted + np.bincount (SciPy has no PSI)',
            mmdTest:
              'NumPy/SciPy: pdist, BLAS matrix products for all permutations at once (SciPy has no MMD)',
          },
          scipy: baseline.scipy,
          ...(baseline.reason ? { reason: baseline.reason } : {}),
          results,
        },
        null,
        2,
      ),
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

main();
