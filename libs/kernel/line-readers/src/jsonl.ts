import { readLines, type ChunkSource, type LineReaderOptions } from './lines';

export interface JsonLinesOptions extends LineReaderOptions {
  /**
   * Checked on a line's bytes before it is parsed (a nesting bound, say): the reason to refuse
   * the line, or undefined to parse it.
   */
  check?: (bytes: Uint8Array) => string | undefined;
}

/** One line of a JSONL input: its parsed value, or why it could not be parsed. */
export type JsonLine =
  | { line: number; value: unknown; bytes: Uint8Array }
  | { line: number; problem: string };

/**
 * The values of a JSONL input (one JSON text per line), streamed with the line each came from.
 * Blank lines are skipped. A line that is not JSON is yielded as a problem, so one bad line does
 * not hide the rest; a line over the bound or not UTF-8 ends the reading with a LineReadError.
 */
export async function* readJsonLines(
  source: ChunkSource,
  options: JsonLinesOptions = {},
): AsyncGenerator<JsonLine> {
  for await (const { line, text, bytes } of readLines(source, options)) {
    if (text.trim() === '') continue;
    const refused = options.check?.(bytes);
    if (refused !== undefined) {
      yield { line, problem: refused };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { line, problem: `expected one JSON object per line: ${(error as Error).message}` };
      continue;
    }
    yield { line, value, bytes };
  }
}
