/**
 * Measures how deeply JSON text nests, byte by byte, without parsing it. JSON.parse builds every
 * level it meets: four million "[" (under 8 KB gzipped) keep the event loop busy for seconds
 * before any check on the parsed value can run. The gauge runs on the bytes first and stops at the
 * first level too deep, so the cost of a hostile body is one linear scan.
 *
 * It only needs to know whether a bracket lies inside a string: in UTF-8 no byte of a multi-byte
 * character is below 0x80, so quotes, backslashes and brackets are recognised on raw bytes.
 * Malformed JSON is not its concern (JSON.parse refuses it next); it never reports a depth
 * shallower than the one JSON.parse would build.
 */
export class JsonDepthGauge {
  private depth = 0;
  private values = 0;
  private inString = false;
  private escaped = false;
  private offset = 0;
  /** Byte offset of the first bracket past the limit (or value past maxValues), once one was seen. */
  exceededAt: number | undefined;
  /** Which limit was passed. */
  exceeded: 'depth' | 'values' | undefined;

  /**
   * `maxValues` optionally also bounds how many objects, arrays and strings the text holds: what
   * JSON.parse allocates one by one, so what its time grows with.
   */
  constructor(
    readonly maxDepth: number,
    readonly maxValues = Infinity,
  ) {}

  /** Feeds the next bytes; false once a limit was passed (and from then on). */
  feed(bytes: Uint8Array): boolean {
    if (this.exceededAt !== undefined) return false;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
      } else if (byte === 0x22) {
        this.inString = true;
        if (++this.values > this.maxValues) return this.stop('values', i);
      } else if (byte === 0x5b || byte === 0x7b) {
        if (++this.depth > this.maxDepth) return this.stop('depth', i);
        if (++this.values > this.maxValues) return this.stop('values', i);
      } else if (byte === 0x5d || byte === 0x7d) {
        if (this.depth > 0) this.depth--;
      }
    }
    this.offset += bytes.length;
    return true;
  }

  private stop(limit: 'depth' | 'values', index: number): false {
    this.exceeded = limit;
    this.exceededAt = this.offset + index;
    return false;
  }
}

/** The problem with JSON nested deeper than `maxDepth`, or undefined when it is not. */
export function jsonDepthProblem(bytes: Uint8Array | string, maxDepth: number): string | undefined {
  const gauge = new JsonDepthGauge(maxDepth);
  if (gauge.feed(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes)) return undefined;
  return describeTooDeep(maxDepth, gauge.exceededAt!);
}

export function describeTooDeep(maxDepth: number, offset: number): string {
  return `JSON nested deeper than ${maxDepth} levels (at byte ${offset}); the limit is ${maxDepth} levels of objects and arrays`;
}

export function describeTooManyValues(maxValues: number, offset: number): string {
  return (
    `JSON body holds more than ${maxValues} objects, arrays and strings (at byte ${offset}); ` +
    'split it into smaller requests'
  );
}
