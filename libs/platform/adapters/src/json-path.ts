export type PathSegment = string | number;

/**
 * Splits "result.label", "choices[0].message.content", "data['x.y']" or "$.a.b" into keys and
 * indices. Only what response mappings need: no wildcards, filters or slices.
 */
export function parseJsonPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let rest = path.trim().replace(/^\$\.?/, '');
  const invalid = () =>
    new Error(`invalid response path "${path}"; expected e.g. "result.label" or "choices[0].text"`);
  if (rest === '') throw invalid();
  while (rest.length > 0) {
    const index = /^\[(\d+)\]/.exec(rest);
    const quoted = /^\[(?:'([^']*)'|"([^"]*)")\]/.exec(rest);
    const key = /^[^.[\]]+/.exec(rest);
    if (index) {
      segments.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    } else if (quoted) {
      segments.push(quoted[1] ?? quoted[2]);
      rest = rest.slice(quoted[0].length);
    } else if (key) {
      segments.push(key[0]);
      rest = rest.slice(key[0].length);
    } else {
      throw invalid();
    }
    if (rest.startsWith('.')) {
      rest = rest.slice(1);
      if (rest === '' || rest.startsWith('.')) throw invalid();
    } else if (rest !== '' && !rest.startsWith('[')) {
      throw invalid();
    }
  }
  return segments;
}

/** The value at `path`, or `{ found: false }` when any step is missing or of the wrong type. */
export function resolveJsonPath(
  value: unknown,
  path: string | PathSegment[],
): { found: boolean; value?: unknown } {
  let current = value;
  for (const segment of typeof path === 'string' ? parseJsonPath(path) : path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length) return { found: false };
      current = current[segment];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return { found: false };
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return { found: false };
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return { found: true, value: current };
}
