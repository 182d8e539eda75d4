/**
 * bench/stats: libs/domain/drift next to SciPy/NumPy on the same data, measured in the same run.
 *
 *   node dist/bench/stats.js [--rounds 7] [--warmup 3] [--mmd-rounds 3] [--permutations 500]
 *                            [--sizes 1000,10000,100000,1000000] [--mmd-rows 1000,2000,3000]
 *                            [--linear-rows 20000,100000,1000000] [--block-rows 20000]
 *                            [--feature-events 100000] [--features 50] [--feature-rounds 5]
 *                            [--python <interpreter>]
 *
 * The cases of issue 14's "done when": per-feature drift (`detectFeatureDrift`) of 50 features
 * (40 numeric, 10 categorical) × 10^5 events per window and per reference; MMD at 2,000 points
 * (quadratic `mmdTest`, 500 permutations) and at 20,000 points (the linear-time `linearMmdTest`
 * and the block `blockMmdTest` that embedding drift uses), each beside SciPy/NumPy.
 *
 * Fairness, because the machine is shared and noisy:
 * - SciPy/NumPy run single-threaded (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS,
 *   NUMEXPR_NUM_THREADS, VECLIB_MAXIMUM_THREADS = 1), as Node runs these functions on one thread.
 * - One Python worker stays up for the whole run and each case's data is loaded into it once, so no
 *   interpreter start-up or file reading is timed; the Node side likewise times only the call.
 * - Rounds interleave the two sides (TypeScript then Python, Python then TypeScript, ...) so a burst
 *   of load from another process hits both; each side times its own call with its own monotonic
 *   clock. `ratio` is the median over rounds of (drift ms / SciPy ms) in the same round; the
 *   medians of each side are reported too.
 * - Untimed warm-up calls on both sides before the rounds (V8 compiles the hot loops, NumPy fills
 *   its caches): at least --warmup calls and 1 s; MMD has none at 3000 rows and above, where one
 *   call takes seconds. Calls faster than 30 ms are timed in batches (the same count on both sides)
 *   and reported per call.
 * - Both sides get identical inputs (float64 files written by this benchmark) and both results are
 *   printed, so the comparison is of the same computation: `ks_2samp` itself for KS, and for PSI
 *   and MMD, which SciPy lacks, the same algorithms written in NumPy (quantile edges, searchsorted
 *   and bincount; pdist, BLAS products of the kernel with all permutations at once).
 *
 * Without a Python that imports SciPy and NumPy the TypeScript figures are still printed, with
 * `"scipy": null` and the reason (which interpreters were tried and how each failed). Prints one
 * JSON object on stdout; exits non-zero only on an error of its own.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { detectFeatureDrift, type FeatureColumn, type FeatureWindow } from '@tripline/detectors';
import { blockMmdTest, ksTest, linearMmdTest, mmdTest, psi, seededRandom } from '@tripline/drift';

const DIMENSION = 16;
/** Categories of each categorical feature of the per-feature case. */
const CATEGORIES = 8;
const BLOCK_SIZE = 50;
const GOAL = 1.5;
const WARMUP_MS = 1000;
const MAX_WARMUP_CALLS = 10_000;
const ROUND_MS = 30;
const SINGLE_THREAD = {
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
  MKL_NUM_THREADS: '1',
  NUMEXPR_NUM_THREADS: '1',
  VECLIB_MAXIMUM_THREADS: '1',
};

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
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

function toRows(values: Float64Array): Float64Array[] {
  return Array.from({ length: values.length / DIMENSION }, (_, r) =>
    values.subarray(r * DIMENSION, (r + 1) * DIMENSION),
  );
}

const PYTHON = String.raw`
import json, sys, time
import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon, pdist, squareform

def psi(reference, current, bins=10, epsilon=1e-4):
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    k = len(edges) + 1
    rc = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=k)
    cc = np.bincount(np.searchsorted(edges, current, side="left"), minlength=k)
    r = np.where(rc == 0, epsilon, rc / len(reference))
    c = np.where(cc == 0, epsilon, cc / len(current))
    return {"statistic": float(np.sum((c - r) * np.log(c / r)))}

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
    return {"statistic": float(observed), "pValue": float((1 + np.sum(permuted >= observed)) / (1 + permutations))}

def linear_mmd(x, y):
    pairs = min(len(x), len(y)) // 2
    used = 2 * pairs
    x1, x2, y1, y2 = x[0:used:2], x[1:used:2], y[0:used:2], y[1:used:2]
    squared = np.empty((pairs, 4))
    squared[:, 0] = np.einsum("ij,ij->i", x1 - x2, x1 - x2)
    squared[:, 1] = np.einsum("ij,ij->i", y1 - y2, y1 - y2)
    squared[:, 2] = np.einsum("ij,ij->i", x1 - y2, x1 - y2)
    squared[:, 3] = np.einsum("ij,ij->i", x2 - y1, x2 - y1)
    sigma = np.median(np.sqrt(squared))
    k = np.exp(squared * (-1 / (2 * sigma * sigma)))
    h = k[:, 0] + k[:, 1] - k[:, 2] - k[:, 3]
    mean = h.mean()
    se = h.std(ddof=1) / np.sqrt(pairs)
    return {"statistic": float(mean), "pValue": float(stats.norm.sf(mean / se))}

def block_mmd(x, y, bandwidth, block=${BLOCK_SIZE}):
    blocks = min(len(x), len(y)) // block
    X = x[: blocks * block].reshape(blocks, block, -1)
    Y = y[: blocks * block].reshape(blocks, block, -1)
    scale = -1 / (2 * bandwidth * bandwidth)
    def sq(A, B):
        return (np.einsum("kid,kid->ki", A, A)[:, :, None] + np.einsum("kjd,kjd->kj", B, B)[:, None, :]
                - 2 * np.einsum("kid,kjd->kij", A, B))
    iu = np.triu_indices(block, 1)
    kxx = np.exp(np.maximum(sq(X, X), 0) * scale)[:, iu[0], iu[1]].sum(axis=1)
    kyy = np.exp(np.maximum(sq(Y, Y), 0) * scale)[:, iu[0], iu[1]].sum(axis=1)
    kxy = np.exp(np.maximum(sq(X, Y), 0) * scale).sum(axis=(1, 2))
    values = 2 * (kxx + kyy) / (block * (block - 1)) - 2 * kxy / (block * block)
    mean = values.mean()
    se = values.std(ddof=1) / np.sqrt(blocks)
    return {"statistic": float(mean), "pValue": float(stats.norm.sf(mean / se))}

def feature_drift(ref_num, cur_num, ref_cat, cur_cat):
    """The per-feature tests of libs/domain/detectors/src/feature-drift.ts in SciPy: numeric columns KS
    (ks_2samp), Wasserstein / reference sd, PSI; categorical columns chi-square on the 2 x K counts
    (chi2_contingency), Jensen-Shannon distance, unseen share; Benjamini-Hochberg across features."""
    p_values, total = [], 0.0
    for j in range(ref_num.shape[1]):
        a, b = ref_num[:, j], cur_num[:, j]
        ks = stats.ks_2samp(a, b)
        sd = a.std()
        stats.wasserstein_distance(a, b) / (sd if sd > 0 else 1)
        psi(a, b)
        a.mean(), b.mean()
        p_values.append(ks.pvalue)
        total += ks.statistic
    for a, b in zip(ref_cat, cur_cat):
        categories, ref_counts = np.unique(a, return_counts=True)
        cur_categories, cur_all = np.unique(b, return_counts=True)
        position = np.searchsorted(categories, cur_categories).clip(0, len(categories) - 1)
        known = categories[position] == cur_categories
        cur_counts = np.zeros(len(categories))
        cur_counts[position[known]] = cur_all[known]
        unseen = cur_all[~known].sum()
        table = np.vstack([ref_counts, cur_counts])
        if unseen > 0:
            table = np.hstack([table, [[0], [unseen]]])
        chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
        jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum(), base=2)
        p_values.append(p)
        total += chi2
    stats.false_discovery_control(np.array(p_values), method="bh")
    return {"statistic": float(total)}

run = None
print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__}), flush=True)
for line in sys.stdin:
    task = json.loads(line)
    if task["op"] == "load":
        data = [np.fromfile(f) for f in task["files"]]
        if task["kind"] in ("mmd", "linear", "block"):
            data = [d.reshape(-1, ${DIMENSION}) for d in data]
        kind = task["kind"]
        if kind == "features":
            numeric, categorical = task["numeric"], task["categorical"]
            names = np.array(["c%d" % k for k in range(${CATEGORIES})])
            ref_num, cur_num = data[0].reshape(-1, numeric), data[1].reshape(-1, numeric)
            ref_cat = [names[c.astype(int)] for c in data[2].reshape(categorical, -1)]
            cur_cat = [names[c.astype(int)] for c in data[3].reshape(categorical, -1)]
        if kind == "ks":
            def run():
                r = stats.ks_2samp(data[0], data[1])
                return {"statistic": float(r.statistic), "pValue": float(r.pvalue)}
        elif kind == "psi":
            run = lambda: psi(data[0], data[1])
        elif kind == "mmd":
            run = lambda p=task["permutations"]: mmd(data[0], data[1], p)
        elif kind == "block":
            run = lambda bw=task["bandwidth"]: block_mmd(data[0], data[1], bw)
        elif kind == "features":
            run = lambda: feature_drift(ref_num, cur_num, ref_cat, cur_cat)
        else:
            run = lambda: linear_mmd(data[0], data[1])
        print(json.dumps({"loaded": True}), flush=True)
    else:
        repeat = task.get("repeat", 1)
        start = time.perf_counter()
        for _ in range(repeat):
            result = run()
        ms = (time.perf_counter() - start) * 1000 / repeat
        print(json.dumps({"ms": ms, **result}), flush=True)
`;

interface PythonResult {
  ms: number;
  statistic: number;
  pValue?: number;
}

/** One long-lived Python process answering one JSON line per request. */
class PythonWorker {
  private readonly lines: AsyncIterator<string>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly versions: { scipy: string; numpy: string },
    lines: AsyncIterator<string>,
  ) {
    this.lines = lines;
  }

  /** The first interpreter that imports SciPy and NumPy, or the reasons none did. */
  static async start(candidates: string[]): Promise<PythonWorker | { reason: string }> {
    const failures: string[] = [];
    for (const interpreter of candidates) {
      const probe = spawnSync(interpreter, ['-c', 'import numpy, scipy'], { encoding: 'utf8' });
      if (probe.error) {
        failures.push(`${interpreter}: ${probe.error.message}`);
        continue;
      }
      if (probe.status !== 0) {
        failures.push(`${interpreter}: ${probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`}`);
        continue;
      }
      const child = spawn(interpreter, ['-c', PYTHON], {
        env: { ...process.env, ...SINGLE_THREAD },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`python: ${chunk.toString()}`));
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const first = await lines.next();
      if (first.done) {
        failures.push(`${interpreter}: the worker exited before it started`);
        continue;
      }
      return new PythonWorker(child, JSON.parse(first.value) as { scipy: string; numpy: string }, lines);
    }
    return { reason: `no Python with SciPy and NumPy: ${failures.join('; ')}` };
  }

  async request<T>(message: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    const line = await this.lines.next();
    if (line.done) throw new Error('the Python worker exited (see its stderr above)');
    return JSON.parse(line.value) as T;
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

interface Case {
  function: 'ksTest' | 'psi' | 'mmdTest' | 'linearMmdTest' | 'blockMmdTest' | 'detectFeatureDrift';
  kind: 'ks' | 'psi' | 'mmd' | 'linear' | 'block' | 'features';
  n: number[];
  rounds: number;
  warmup: number;
  files: string[];
  permutations?: number;
  dimension?: number;
  /** Sent to the Python worker with the files (bandwidth, feature counts). */
  extra?: Record<string, number>;
  /** What the case measures, beside its function's name. */
  note?: string;
  run: () => { statistic: number; pValue?: number; method?: string };
}

async function measure(testCase: Case, python: PythonWorker | undefined): Promise<Record<string, unknown>> {
  const { run, files, kind, permutations } = testCase;
  if (python) await python.request({ op: 'load', kind, files, permutations, ...testCase.extra });
  let result: ReturnType<Case['run']> | undefined;
  let reference: PythonResult | undefined;
  // Warm-up: at least `warmup` calls and, for fast cases, WARMUP_MS of calls, so V8 has compiled
  // the hot loops (its optimising compiler runs on a background thread, which a loaded machine
  // starves); the steady state is what a detector calling these every window sees.
  const warmStart = performance.now();
  let warmCalls = 0;
  let warmElapsed = 0;
  while (
    warmCalls < testCase.warmup ||
    (testCase.warmup > 0 && warmElapsed < WARMUP_MS && warmCalls < MAX_WARMUP_CALLS)
  ) {
    result = run();
    warmCalls++;
    warmElapsed = performance.now() - warmStart;
  }
  // Fast calls are timed in batches of `repeat` calls per round (the same on both sides), so one
  // round lasts about ROUND_MS and the clock's resolution and call overheads do not dominate.
  const perCall = warmCalls > 0 ? warmElapsed / warmCalls : Infinity;
  const repeat = Math.max(1, Math.min(1000, Math.floor(ROUND_MS / perCall)));
  for (let i = 0; i < testCase.warmup && python; i++) reference = await python.request({ op: 'run', repeat });
  const driftMs: number[] = [];
  const scipyMs: number[] = [];
  const ratios: number[] = [];
  const timeDrift = () => {
    const start = performance.now();
    for (let i = 0; i < repeat; i++) result = run();
    driftMs.push((performance.now() - start) / repeat);
  };
  for (let r = 0; r < testCase.rounds; r++) {
    if (!python) {
      timeDrift();
      continue;
    }
    // Alternate which side goes first, so load that builds up or fades within a round is shared.
    if (r % 2 === 0) timeDrift();
    reference = await python.request<PythonResult>({ op: 'run', repeat });
    scipyMs.push(reference.ms);
    if (r % 2 === 1) timeDrift();
    ratios.push(driftMs[r] / scipyMs[r]);
  }
  if (!result) throw new Error('no rounds were run');
  const entry: Record<string, unknown> = {
    function: testCase.function,
    ...(testCase.note ? { note: testCase.note } : {}),
    n: testCase.n,
    ...(testCase.dimension ? { dimension: testCase.dimension } : {}),
    ...(permutations !== undefined ? { permutations } : {}),
    callsPerRound: repeat,
    ms: round(median(driftMs)),
    ...(result.method ? { method: result.method } : {}),
    statistic: result.statistic,
    ...(result.pValue !== undefined ? { pValue: result.pValue } : {}),
  };
  if (!python || !reference) return entry;
  const ratio = round(median(ratios));
  return {
    ...entry,
    scipy: { ms: round(median(scipyMs)), statistic: reference.statistic, pValue: reference.pValue },
    ratio,
    ratioOfMedians: round(median(driftMs) / median(scipyMs)),
    withinGoal: ratio <= GOAL,
    statisticRelativeDifference: Number(
      (
        Math.abs(result.statistic - reference.statistic) / Math.max(Math.abs(reference.statistic), 1e-300)
      ).toPrecision(2),
    ),
  };
}

async function main(): Promise<void> {
  const rounds = Number(argument('rounds', '7'));
  const warmup = Number(argument('warmup', '3'));
  const mmdRounds = Number(argument('mmd-rounds', '3'));
  const permutations = Number(argument('permutations', '500'));
  const sizes = argument('sizes', '1000,10000,100000,1000000').split(',').map(Number);
  const mmdRows = argument('mmd-rows', '1000,2000,3000').split(',').map(Number);
  const linearRows = argument('linear-rows', '20000,100000,1000000').split(',').map(Number);
  const blockRows = argument('block-rows', '20000').split(',').map(Number);
  const featureEvents = Number(argument('feature-events', '100000'));
  const featureCount = Number(argument('features', '50'));
  const featureRounds = Number(argument('feature-rounds', '5'));
  const explicit = argument('python', process.env.TRIPLINE_BENCH_PYTHON ?? '');
  const interpreters = explicit ? [explicit] : ['python3', '/usr/bin/python3'];
  const directory = mkdtempSync(path.join(os.tmpdir(), 'tripline-bench-stats-'));
  const file = (name: string, values: Float64Array) => {
    const target = path.join(directory, name);
    writeFileSync(target, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    return target;
  };

  const started = await PythonWorker.start(interpreters);
  const python = started instanceof PythonWorker ? started : undefined;
  try {
    const cases: Case[] = [];
    for (const n of sizes) {
      const a = normals(n, 1, 0);
      const b = normals(n, 2, 0.05);
      const files = [file(`a-${n}.f64`, a), file(`b-${n}.f64`, b)];
      cases.push({
        function: 'ksTest',
        kind: 'ks',
        n: [n, n],
        rounds,
        warmup,
        files,
        run: () => ksTest(a, b),
      });
      cases.push({ function: 'psi', kind: 'psi', n: [n, n], rounds, warmup, files, run: () => psi(a, b) });
    }
    // Unequal sizes take the other exact path (lattice paths rather than the closed form).
    {
      const a = normals(10_000, 5, 0);
      const b = normals(7_000, 6, 0.05);
      const files = [file('a-unequal.f64', a), file('b-unequal.f64', b)];
      cases.push({
        function: 'ksTest',
        kind: 'ks',
        n: [a.length, b.length],
        rounds,
        warmup,
        files,
        run: () => ksTest(a, b),
      });
    }
    for (const rows of mmdRows) {
      const half = Math.floor(rows / 2);
      const x = normals(half * DIMENSION, 3, 0);
      const y = normals((rows - half) * DIMENSION, 4, 0.05);
      const [xRows, yRows] = [toRows(x), toRows(y)];
      cases.push({
        function: 'mmdTest',
        kind: 'mmd',
        n: [half, rows - half],
        dimension: DIMENSION,
        permutations,
        rounds: mmdRounds,
        warmup: rows < 3000 ? 1 : 0,
        files: [file(`x-${rows}.f64`, x), file(`y-${rows}.f64`, y)],
        run: () => mmdTest(xRows, yRows, { permutations, seed: 1 }),
      });
    }
    for (const rows of linearRows) {
      const half = Math.floor(rows / 2);
      const x = normals(half * DIMENSION, 7, 0);
      const y = normals((rows - half) * DIMENSION, 8, 0.05);
      const [xRows, yRows] = [toRows(x), toRows(y)];
      cases.push({
        function: 'linearMmdTest',
        kind: 'linear',
        n: [half, rows - half],
        dimension: DIMENSION,
        rounds: mmdRounds + 2,
        warmup: 1,
        files: [file(`lx-${rows}.f64`, x), file(`ly-${rows}.f64`, y)],
        run: () => linearMmdTest(xRows, yRows),
      });
    }

    for (const rows of blockRows) {
      const half = Math.floor(rows / 2);
      const x = normals(half * DIMENSION, 9, 0);
      const y = normals((rows - half) * DIMENSION, 10, 0.05);
      const [xRows, yRows] = [toRows(x), toRows(y)];
      // Embedding drift takes the bandwidth from a quadratic MMD on 500 rows of each side; the
      // block test is timed with that bandwidth given, on both sides.
      const bandwidth = mmdTest(xRows.slice(0, 500), yRows.slice(0, 500), { permutations: 0 }).bandwidth;
      cases.push({
        function: 'blockMmdTest',
        kind: 'block',
        n: [half, rows - half],
        dimension: DIMENSION,
        rounds: mmdRounds + 2,
        warmup: 1,
        extra: { bandwidth },
        files: [file(`bx-${rows}.f64`, x), file(`by-${rows}.f64`, y)],
        run: () => blockMmdTest(xRows, yRows, { bandwidth, blockSize: BLOCK_SIZE }),
      });
    }
    if (featureEvents > 0 && featureCount > 0)
      cases.push(featureCase(featureEvents, featureCount, featureRounds, file));

    const results: Record<string, unknown>[] = [];
    for (const testCase of cases) {
      process.stderr.write(`stats: ${testCase.function} n=${testCase.n.join('+')}\n`);
      results.push(await measure(testCase, python));
    }
    const compared = results.filter((result) => typeof result.ratio === 'number');
    console.log(
      JSON.stringify(
        {
          benchmark: 'stats',
          node: process.version,
          cpus: os.cpus().length,
          loadAverage: os.loadavg().map((value) => round(value)),
          rounds: {
            ksTest: rounds,
            psi: rounds,
            mmdTest: mmdRounds,
            linearMmdTest: mmdRounds + 2,
            blockMmdTest: mmdRounds + 2,
            detectFeatureDrift: featureRounds,
          },
          warmup,
          ratio:
            'median over interleaved rounds of drift ms / scipy ms in the same round (same data, same machine, one thread each)',
          goal: `ratio <= ${GOAL}`,
          baselines: {
            ksTest: 'scipy.stats.ks_2samp',
            psi: 'NumPy: np.quantile + np.searchsorted + np.bincount (SciPy has no PSI)',
            mmdTest:
              'NumPy/SciPy: pdist, BLAS matrix products for all permutations at once (SciPy has no MMD); p-values differ because the permutations come from different generators',
            linearMmdTest:
              'NumPy: the same linear-time estimator (Gretton et al. 2012, section 6), vectorised, normal p-value',
            blockMmdTest:
              'NumPy: the same block estimator (B-test, blocks of 50), batched einsum kernels per block, normal p-value',
            detectFeatureDrift:
              'SciPy per feature: ks_2samp, wasserstein_distance, std and the NumPy PSI (numeric); np.unique counts, chi2_contingency, jensenshannon (categorical); false_discovery_control (BH) across features',
          },
          ...(python
            ? { scipy: { ...python.versions, threads: SINGLE_THREAD } }
            : { scipy: null, reason: (started as { reason: string }).reason }),
          ...(python
            ? {
                summary: {
                  compared: compared.length,
                  withinGoal: compared.filter((result) => result.withinGoal).length,
                  worstRatio: Math.max(...compared.map((result) => result.ratio as number)),
                },
              }
            : {}),
          results,
        },
        null,
        2,
      ),
    );
  } finally {
    python?.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Per-feature drift of `features` columns (four in five numeric, the rest categorical with
 * CATEGORIES values) × `events` events in the window and in the reference, every value present, so
 * nothing is sampled (the reservoir's capacity is the window). A few columns are shifted, so both
 * sides also compute drifted features. The windows are built before timing, as the Python side
 * loads its arrays before timing.
 */
function featureCase(
  events: number,
  features: number,
  rounds: number,
  file: (name: string, values: Float64Array) => string,
): Case {
  const numeric = Math.round(features * 0.8);
  const categorical = features - numeric;
  const random = seededRandom(11);
  const referenceNumeric = new Float64Array(events * numeric);
  const currentNumeric = new Float64Array(events * numeric);
  for (let i = 0; i < events; i++) {
    for (let j = 0; j < numeric; j++) {
      referenceNumeric[i * numeric + j] = random.normal() * (j + 1) + j;
      // One numeric column in eight moves by 0.2 of its spread.
      currentNumeric[i * numeric + j] = random.normal() * (j + 1) + j + (j % 8 === 0 ? 0.2 * (j + 1) : 0);
    }
  }
  const codes = (shifted: boolean) => {
    const values = new Float64Array(events * categorical);
    for (let j = 0; j < categorical; j++) {
      for (let i = 0; i < events; i++) {
        // Geometric-ish category frequencies; a shifted column sends a fifth of its values to category 0.
        let code = Math.min(CATEGORIES - 1, Math.floor(-Math.log(1 - random.next()) * 2));
        if (shifted && j % 4 === 0 && random.next() < 0.2) code = 0;
        values[j * events + i] = code;
      }
    }
    return values;
  };
  const referenceCodes = codes(false);
  const currentCodes = codes(true);
  const window = (numbers: Float64Array, categories: Float64Array): FeatureWindow => {
    const columns = new Map<string, FeatureColumn>();
    for (let j = 0; j < numeric; j++) {
      const values = new Array<number>(events);
      for (let i = 0; i < events; i++) values[i] = numbers[i * numeric + j];
      columns.set(`n${String(j).padStart(2, '0')}`, { values, present: events });
    }
    for (let j = 0; j < categorical; j++) {
      const values = new Array<string>(events);
      for (let i = 0; i < events; i++) values[i] = `c${categories[j * events + i]}`;
      columns.set(`s${String(j).padStart(2, '0')}`, { values, present: events });
    }
    return { events, features: columns };
  };
  const reference = window(referenceNumeric, referenceCodes);
  const current = window(currentNumeric, currentCodes);
  return {
    function: 'detectFeatureDrift',
    kind: 'features',
    note: `${numeric} numeric + ${categorical} categorical features, ${events} events each side, no sampling`,
    n: [events, events],
    rounds,
    warmup: 1,
    extra: { numeric, categorical },
    files: [
      file('features-ref-numeric.f64', referenceNumeric),
      file('features-cur-numeric.f64', currentNumeric),
      file('features-ref-codes.f64', referenceCodes),
      file('features-cur-codes.f64', currentCodes),
    ],
    run: () => {
      const results = detectFeatureDrift(reference, current, { maxFeatures: features });
      let statistic = 0;
      let drifted = 0;
      for (const result of results) {
        if (!result.metric.startsWith('feature.')) continue;
        statistic += result.statistic ?? 0;
        if (result.verdict === 'drift') drifted++;
      }
      return { statistic, method: `${drifted} of ${features} features drifted` };
    },
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`stats: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
