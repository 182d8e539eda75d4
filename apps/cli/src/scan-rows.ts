import { LineReadError, readCsvRecords, readJsonLines, type ChunkSource } from '@tripline/line-readers';
import type { ScanRow } from '@tripline/poisoning';

export interface RowProblem {
  line: number;
  field: string;
  message: string;
}

const MAX_TEXT = 1_000_000;
const KEPT_PROBLEMS = 1_000;
/**
 * Longest line (or CSV record) of a local file: room for a text of MAX_TEXT characters however it
 * is encoded or escaped, and a clear stop, naming the line, for a file that is not line-based.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

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
 * and skipped, so one bad line does not hide the rest of the file from the scan. What cannot be
 * read past (a line over MAX_LINE_BYTES, bytes that are not UTF-8, a broken CSV quote) is
 * recorded too, and ends the reading there.
 */
export async function* readScanRows(
  source: ChunkSource,
  format: 'jsonl' | 'csv',
  problems: RowProblems,
): AsyncGenerator<{ row: ScanRow; line: number }> {
  const bounds = { maxLineBytes: MAX_LINE_BYTES, maxRecordBytes: MAX_LINE_BYTES };
  try {
    if (format === 'jsonl') {
      for await (const item of readJsonLines(source, bounds)) {
        const parsed =
          'problem' in item ? { field: '(line)', message: item.problem } : scanRowFrom(item.value);
        if ('field' in parsed) problems.add({ line: item.line, ...parsed });
        else yield { row: parsed, line: item.line };
      }
      return;
    }
    for await (const { record, line } of readCsvRecords(source, bounds)) {
      const parsed = scanRowFrom(record);
      if ('field' in parsed) problems.add({ line, ...parsed });
      else yield { row: parsed, line };
    }
  } catch (error) {
    if (!(error instanceof LineReadError)) throw error;
    problems.add({
      line: error.line,
      field: format === 'csv' && error.problem !== 'line-too-long' ? '(csv)' : '(line)',
      message: `${error.reason}; the file was read up to here`,
    });
  }
}
