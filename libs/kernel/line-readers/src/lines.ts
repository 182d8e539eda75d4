/**
 * Physical lines of a byte stream, bounded and strictly decoded. Dependency-free (no Node module,
 * no framework): it reads any async or sync iterable of chunks, so a file stream, an HTTP body, a
 * web stream or an array of strings in a test all work, and the CLI can load it without the server.
 */

/** A piece of the input: bytes (a Buffer is a Uint8Array) or text, which is read as UTF-8. */
export type Chunk = Uint8Array | string;
export type ChunkSource = AsyncIterable<Chunk> | Iterable<Chunk>;

/** 1 MiB: the default bound on one line, the same as an upload line (LIMITS.uploadLineBytes). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface LineReaderOptions {
  /** Longest line accepted, in bytes of UTF-8 without its line break. */
  maxLineBytes?: number;
}

export interface Line {
  /** 1-based physical line number, blank lines counted. */
  line: number;
  text: string;
  /** The line's UTF-8 bytes, without the line break (and without a leading byte order mark). */
  bytes: Uint8Array;
}

export type LineReadProblem =
  | 'line-too-long'
  | 'invalid-utf8'
  | 'record-too-long'
  | 'unclosed-quote'
  | 'stray-quote'
  | 'duplicate-column';

/**
 * Why reading stopped, and where: the rest of the input cannot be read past this point (a line
 * longer than the bound, bytes that are not UTF-8, a CSV quote that breaks the syntax).
 * `message` is "line N: reason"; `reason` is the same without the line, for callers that show
 * the line in a field of their own.
 */
export class LineReadError extends Error {
  constructor(
    readonly line: number,
    readonly problem: LineReadProblem,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'LineReadError';
  }
}

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF starting a later line is content (a zero-width character, perhaps a
// trigger), not an encoding mark; only the input's first bytes are checked for one.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** "1 MiB", "512 KiB" or "1000 bytes": a bound as a person would write it. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * The lines of `source` in order: split on LF, a CR before it dropped (CRLF), a UTF-8 byte order
 * mark at the very start dropped, each decoded strictly. Memory stays at one line plus one chunk
 * whatever the input holds: a line past `maxLineBytes` is refused as soon as it gets there, not
 * after it was buffered whole. A final line without a line break is still a line; the empty
 * "line" after a final line break is not.
 */
export async function* readLines(source: ChunkSource, options: LineReaderOptions = {}): AsyncGenerator<Line> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let line = 0;
  let first = true;
  const tooLong = () =>
    new LineReadError(
      line + 1,
      'line-too-long',
      `longer than the limit of ${maxLineBytes} bytes per line (${describeBytes(maxLineBytes)})`,
    );
  const complete = (parts: Uint8Array[], total: number): Line => {
    line++;
    let bytes = join(parts, total);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (first) {
      first = false;
      if (bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2])
        bytes = bytes.subarray(3);
    }
    // The CR of a CRLF is allowed beyond the bound; the content is not.
    if (bytes.length > maxLineBytes) {
      line--;
      throw tooLong();
    }
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw new LineReadError(line, 'invalid-utf8', 'not valid UTF-8 text');
    }
    return { line, text, bytes };
  };
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? encoder.encode(piece) : piece;
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      const end = newline < 0 ? chunk.length : newline;
      // +1 for a CR that may end the line, and +3 for a BOM that may start the first one.
      if (pendingBytes + end - start > maxLineBytes + 1 + (first ? 3 : 0)) throw tooLong();
      if (newline < 0) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        break;
      }
      const parts = [...pending, chunk.subarray(start, newline)];
      const total = pendingBytes + newline - start;
      pending = [];
      pendingBytes = 0;
      yield complete(parts, total);
      start = newline + 1;
    }
  }
  if (pendingBytes > 0) yield complete(pending, pendingBytes);
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
