/**
 * out[j] = ‖p_i - p_j‖² for from ≤ j < to, where p_k is row k of `flat` (rows of `dimension`
 * values one after another). Each is the sum of its squared differences in coordinate order from
 * 0, as a plain per-pair loop adds them, so every caller and every pass gets the same bits. Four
 * rows j at a time: four independent chains of additions instead of one, and row i's coordinates
 * loaded once for the four.
 */
export function squaredDistances(
  flat: Float64Array,
  dimension: number,
  i: number,
  from: number,
  to: number,
  out: Float64Array,
): void {
  const oi = i * dimension;
  let j = from;
  for (; j + 4 <= to; j += 4) {
    const o0 = j * dimension;
    const o1 = o0 + dimension;
    const o2 = o1 + dimension;
    const o3 = o2 + dimension;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < dimension; c++) {
      const a = flat[oi + c];
      const e0 = a - flat[o0 + c];
      const e1 = a - flat[o1 + c];
      const e2 = a - flat[o2 + c];
      const e3 = a - flat[o3 + c];
      s0 += e0 * e0;
      s1 += e1 * e1;
      s2 += e2 * e2;
      s3 += e3 * e3;
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }
  for (; j < to; j++) {
    const oj = j * dimension;
    let sum = 0;
    for (let c = 0; c < dimension; c++) {
      const difference = flat[oi + c] - flat[oj + c];
      sum += difference * difference;
    }
    out[j] = sum;
  }
}

/**
 * The same for two rows at once: first[j] = ‖p_i - p_j‖² and second[j] = ‖p_{i+1} - p_j‖² for
 * from ≤ j < to. Each p_j loaded serves both rows: eight chains of additions over four rows j,
 * about a third faster per distance than one row at a time, the same bits.
 */
export function squaredDistancesOfTwo(
  flat: Float64Array,
  dimension: number,
  i: number,
  from: number,
  to: number,
  first: Float64Array,
  second: Float64Array,
): void {
  const oa = i * dimension;
  const ob = oa + dimension;
  let j = from;
  for (; j + 4 <= to; j += 4) {
    const o0 = j * dimension;
    const o1 = o0 + dimension;
    const o2 = o1 + dimension;
    const o3 = o2 + dimension;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let c = 0; c < dimension; c++) {
      const q0 = flat[o0 + c];
      const q1 = flat[o1 + c];
      const q2 = flat[o2 + c];
      const q3 = flat[o3 + c];
      const u = flat[oa + c];
      const v = flat[ob + c];
      const e0 = u - q0;
      const e1 = u - q1;
      const e2 = u - q2;
      const e3 = u - q3;
      const f0 = v - q0;
      const f1 = v - q1;
      const f2 = v - q2;
      const f3 = v - q3;
      a0 += e0 * e0;
      a1 += e1 * e1;
      a2 += e2 * e2;
      a3 += e3 * e3;
      b0 += f0 * f0;
      b1 += f1 * f1;
      b2 += f2 * f2;
      b3 += f3 * f3;
    }
    first[j] = a0;
    first[j + 1] = a1;
    first[j + 2] = a2;
    first[j + 3] = a3;
    second[j] = b0;
    second[j + 1] = b1;
    second[j + 2] = b2;
    second[j + 3] = b3;
  }
  squaredDistances(flat, dimension, i, j, to, first);
  squaredDistances(flat, dimension, i + 1, j, to, second);
}

/**
 * visit(i, row) for every row i of the pooled rows in `flat`, in order, with row[j] = ‖p_i - p_j‖²
 * for i < j < N (the entries j ≤ i are left over from other rows; visit may overwrite any entry).
 * Rows are computed two at a time; the kernel is never held whole.
 */
export function forEachDistanceRow(
  flat: Float64Array,
  dimension: number,
  visit: (i: number, row: Float64Array) => void,
): void {
  const total = flat.length / dimension;
  const first = new Float64Array(total);
  const second = new Float64Array(total);
  for (let i = 0; i < total; i += 2) {
    if (i + 1 < total) {
      squaredDistances(flat, dimension, i, i + 1, i + 2, first);
      squaredDistancesOfTwo(flat, dimension, i, i + 2, total, first, second);
      visit(i, first);
      visit(i + 1, second);
    } else {
      visit(i, first);
    }
  }
}
