import type { Random } from '@tripline/evaluation';

/** Mean of the given rows of a rows × dimension matrix. */
export function rowMean(values: Float32Array, members: readonly number[], dimension: number): Float64Array {
  const mean = new Float64Array(dimension);
  for (const i of members) for (let d = 0; d < dimension; d++) mean[d] += values[i * dimension + d];
  for (let d = 0; d < dimension; d++) mean[d] /= Math.max(members.length, 1);
  return mean;
}

/**
 * The top `count` principal directions of the centred rows (eigenvectors of their covariance,
 * i.e. right singular vectors of M = rows − mean), by power iteration with deflation on the
 * dimension × dimension covariance. Forming the covariance costs members × dimension² / 2 once;
 * every iteration after that costs dimension², whatever the number of rows.
 */
export function principalDirections(
  values: Float32Array,
  members: readonly number[],
  dimension: number,
  mean: Float64Array,
  count: number,
  random: Random,
  iterations = 300,
): Float64Array[] {
  const covariance = new Float64Array(dimension * dimension);
  const centred = new Float64Array(dimension);
  for (const i of members) {
    for (let d = 0; d < dimension; d++) centred[d] = values[i * dimension + d] - mean[d];
    for (let a = 0; a < dimension; a++) {
      const x = centred[a];
      if (x === 0) continue;
      const row = a * dimension;
      for (let b = a; b < dimension; b++) covariance[row + b] += x * centred[b];
    }
  }
  for (let a = 0; a < dimension; a++)
    for (let b = a + 1; b < dimension; b++) covariance[b * dimension + a] = covariance[a * dimension + b];

  const directions: Float64Array[] = [];
  for (let c = 0; c < Math.min(count, dimension); c++) {
    let v = Float64Array.from({ length: dimension }, () => random() - 0.5);
    if (!orthonormalise(v, directions)) break;
    for (let iteration = 0; iteration < iterations; iteration++) {
      const next = new Float64Array(dimension);
      for (let a = 0; a < dimension; a++) {
        let sum = 0;
        const row = a * dimension;
        for (let b = 0; b < dimension; b++) sum += covariance[row + b] * v[b];
        next[a] = sum;
      }
      if (!orthonormalise(next, directions)) return directions;
      let change = 0;
      for (let d = 0; d < dimension; d++) change = Math.max(change, Math.abs(next[d] - v[d]));
      v = next;
      if (change < 1e-7) break;
    }
    directions.push(v);
  }
  return directions;
}

/** Removes the components along `basis` and scales to unit length; false when nothing is left. */
function orthonormalise(vector: Float64Array, basis: readonly Float64Array[]): boolean {
  for (const u of basis) {
    let along = 0;
    for (let d = 0; d < vector.length; d++) along += vector[d] * u[d];
    for (let d = 0; d < vector.length; d++) vector[d] -= along * u[d];
  }
  let norm = 0;
  for (let d = 0; d < vector.length; d++) norm += vector[d] * vector[d];
  if (!(norm > 1e-24)) return false;
  const scale = 1 / Math.sqrt(norm);
  for (let d = 0; d < vector.length; d++) vector[d] *= scale;
  return true;
}

/** Coordinates of the centred rows on the given directions: members × directions, row-major. */
export function project(
  values: Float32Array,
  members: readonly number[],
  dimension: number,
  mean: Float64Array,
  directions: readonly Float64Array[],
): Float64Array {
  const out = new Float64Array(members.length * directions.length);
  members.forEach((i, m) => {
    directions.forEach((v, c) => {
      let sum = 0;
      for (let d = 0; d < dimension; d++) sum += (values[i * dimension + d] - mean[d]) * v[d];
      out[m * directions.length + c] = sum;
    });
  });
  return out;
}

export interface TwoMeans {
  /** 0 or 1 per point. */
  assignment: Uint8Array;
  centres: [Float64Array, Float64Array];
  inertia: number;
}

/**
 * 2-means (Lloyd's algorithm) on n points of `dimension` coordinates, seeded k-means++ starts,
 * the best of `restarts` by inertia.
 */
export function twoMeans(points: Float64Array, dimension: number, random: Random, restarts = 4): TwoMeans {
  const n = points.length / dimension;
  const distance = (p: number, centre: Float64Array) => {
    let sum = 0;
    for (let d = 0; d < dimension; d++) sum += (points[p * dimension + d] - centre[d]) ** 2;
    return sum;
  };
  let best: TwoMeans | undefined;
  for (let restart = 0; restart < restarts; restart++) {
    const first = Math.floor(random() * n);
    const a = points.slice(first * dimension, (first + 1) * dimension);
    // k-means++: the second centre drawn with probability proportional to squared distance.
    const weights = Float64Array.from({ length: n }, (_, p) => distance(p, a));
    const total = weights.reduce((sum, w) => sum + w, 0);
    let pick = random() * total;
    let second = n - 1;
    for (let p = 0; p < n; p++) {
      pick -= weights[p];
      if (pick <= 0) {
        second = p;
        break;
      }
    }
    const centres: [Float64Array, Float64Array] = [
      a,
      points.slice(second * dimension, (second + 1) * dimension),
    ];
    const assignment = new Uint8Array(n);
    let inertia = Infinity;
    for (let iteration = 0; iteration < 100; iteration++) {
      let changed = iteration === 0;
      inertia = 0;
      for (let p = 0; p < n; p++) {
        const d0 = distance(p, centres[0]);
        const d1 = distance(p, centres[1]);
        const side = d1 < d0 ? 1 : 0;
        if (side !== assignment[p]) changed = true;
        assignment[p] = side;
        inertia += Math.min(d0, d1);
      }
      if (!changed) break;
      for (const side of [0, 1] as const) {
        const centre = new Float64Array(dimension);
        let size = 0;
        for (let p = 0; p < n; p++) {
          if (assignment[p] !== side) continue;
          size++;
          for (let d = 0; d < dimension; d++) centre[d] += points[p * dimension + d];
        }
        if (size > 0) for (let d = 0; d < dimension; d++) centre[d] /= size;
        else centre.set(centres[side]);
        centres[side] = centre;
      }
    }
    if (!best || inertia < best.inertia) best = { assignment, centres, inertia };
  }
  return best!;
}
