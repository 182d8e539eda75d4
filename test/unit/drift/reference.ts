/**
 * Loads libs/domain/drift/fixtures/scipy-reference.json (written by generate.py beside it) and compares
 * numbers against it. Compiled tests run from dist/test/unit/drift, so the repository root is
 * found by walking up to package.json.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

function repositoryRoot(): string {
  let directory = __dirname;
  while (!existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${__dirname}`);
    directory = parent;
  }
  return directory;
}

export interface Recipe {
  recipe: { n: number; mul: number; add: number; mod: number; scale: number; offset: number };
}

export type SampleSpec = number[] | Recipe;

/** The fixture's JSON, with "Infinity" / "-Infinity" / "NaN" strings turned back into numbers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const reference: any = JSON.parse(
  readFileSync(
    path.join(repositoryRoot(), 'libs', 'domain', 'drift', 'fixtures', 'scipy-reference.json'),
    'utf8',
  ),
  (_key, value) =>
    value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value === 'NaN' ? NaN : value,
);

/** Rebuilds a stored sample or a recipe (integer arithmetic, so bit-identical to generate.py). */
export function sample(spec: SampleSpec): number[] | Float64Array {
  if (Array.isArray(spec)) return spec;
  const { n, mul, add, mod, scale, offset } = spec.recipe;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = offset + scale * (((mul * i + add) % mod) / mod);
  return values;
}

/**
 * Collects mismatches instead of stopping at the first, so one run shows every case that drifted
 * from SciPy. Equal values (including equal infinities and NaN) always match; otherwise
 * |actual - expected| ≤ atol + rtol·|expected|.
 */
export class Comparison {
  private readonly failures: string[] = [];
  private checked = 0;

  close(actual: number, expected: number, rtol: number, label: string, atol = 0): void {
    this.checked++;
    if (Object.is(actual, expected) || actual === expected) return;
    if (Number.isNaN(expected) || Number.isNaN(actual)) {
      this.failures.push(`${label}: ${actual} vs ${expected}`);
      return;
    }
    const error = Math.abs(actual - expected);
    if (!(error <= atol + rtol * Math.abs(expected))) {
      const relative = expected === 0 ? Infinity : error / Math.abs(expected);
      this.failures.push(`${label}: ${actual} vs ${expected} (relative error ${relative.toExponential(2)})`);
    }
  }

  equal(actual: unknown, expected: unknown, label: string): void {
    this.checked++;
    if (!Object.is(actual, expected))
      this.failures.push(`${label}: ${String(actual)} vs ${String(expected)}`);
  }

  /** Fails with every mismatch; also fails if nothing was compared, so an empty fixture cannot pass. */
  assert(): void {
    assert.ok(this.checked > 0, 'no reference values were compared');
    assert.deepEqual(
      this.failures,
      [],
      `${this.failures.length} of ${this.checked} values differ from SciPy`,
    );
  }
}
