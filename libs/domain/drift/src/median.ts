/**
 * The median of a sample (the mean of the two middle values of an even one); NaN when empty. The
 * one median of the domain libs: robust scales and z-scores (rag, poisoning, trigger scans) use it.
 */
export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
