import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ScanRow } from '@tripline/poisoning';
import { csvRecords } from '@tripline/registry';

export interface RowProblem {
  line: number;
  field: string;
  message: string;
}

const MAX_TEXT = 1_000_000;
const KEPT_PROBLEMS = 1_000;

/** Problems of a file: all counted, the first thousand kept, so a file of garbage cannot fill memory. */
export class RowProblems {
  readonly list: RowProblem[] = [];
  count = 0;

  add(problem: RowProblem): void {
    this.count++;
    if (this.list.length < KEPT_PROBLEMS) this.list.push(problem);
  }
}

/** A row of training data, or what is wrong with it; other fields (ids, metadata) are ignored. */
export function scanRowFrom(raw: unknown): ScanRow | { field: string; message: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return {
      field: '(row)',
      message: `expected an object with text and label (got ${JSON.stringify(raw)?.slice(0, 40)})`,
    };
  const record = raw as Record<string, unknown>;
  const { text, label, source } = record;
  if (typeof text !== 'string' || text.trim() === '')
    return {
      field: 'text',
      message: `expected non-empty text (${text === undefined ? 'it is missing' : `got ${JSON.stringify(text).slice(0, 40)}`})`,
    };
  if (text.length > MAX_TEXT) return { field: 'text', message: `expected at most ${MAX_TEXT} characters` };
  // Labels are often class numbers in training files; they are compared as strings.
  if ((typeof label !== 'string' || label.trim() === '') && typeof label !== 'number')
    return {
      field: 'label',
      message: `expected a label (${label === undefined ? 'it is missing' : `got ${JSON.stringify(label).slice(0, 40)}`})`,
    };
  if (source !== undefined && source !== null && typeof source !== 'string')
    return { field: 'source', message: `expected a string (got ${JSON.stringify(source).slice(0, 40)})` };
  return {
    text,
    label: String(label).trim(),
    ...(typeof source === 'string' && source !== '' ? { source } : {}),
  };
}

/**
 * Rows of a JSONL or CSV file as they stream in, never the file whole, with the line each came
 * from. A malformed row is recorded in `problems` (line, field, what was expected and what came)
 * and skipped, so one bad line does not hide the rest of the file from the scan.
 */
export async function* readScanRows(
  source: Readable,
  format: 'jsonl' | 'csv',
  problems: RowProblems,
): AsyncGenerator<{ row: ScanRow; line: number }> {
  if (format === 'jsonl') {
    let line = 0;
    for await (const content of createInterface({ input: source, crlfDelay: Infinity })) {
      line++;
      if (content.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(content);
      } catch (error) {
        problems.add({
          line,
          field: '(line)',
          message: `expected one JSON object per line: ${(error as Error).message}`,
        });
        continue;
      }
      const parsed = scanRowFrom(raw);
      if ('field' in parsed) problems.add({ line, ...parsed });
      else yield { row: parsed, line };
    }
    return;
  }
  try {
    for await (const { record, line } of csvRecords(source)) {
      const parsed = scanRowFrom(record);
      if ('field' in parsed) problems.add({ line, ...parsed });
      else yield { row: parsed, line };
    }
  } catch (error) {
    // A CSV syntax error (an unclosed quote) leaves the rest of the file unreadable.
    problems.add({
      line: (error as { lines?: number }).lines ?? 0,
      field: '(csv)',
      message: (error as Error).message,
    });
  }
}
