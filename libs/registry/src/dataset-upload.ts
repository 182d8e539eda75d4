import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { z } from 'zod';
import { compileAssertionRegex, MAX_ASSERTION_PATTERN_LENGTH } from '@tripline/evaluation';
import { allowListEntryProblem } from '@tripline/rag';
import type { DatasetKind } from './entities';

export const UPLOAD_FORMATS = ['jsonl', 'csv'] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];

const MAX_PROBLEMS = 100;
const text = (max: number) =>
  z.string({ error: 'expected a string' }).max(max, `expected at most ${max} characters`);

const assertionsSchema = z
  .object({
    must_contain: z.array(text(1_000)).max(50).optional(),
    must_not_contain: z.array(text(1_000)).max(50).optional(),
    regex: text(MAX_ASSERTION_PATTERN_LENGTH).optional(),
  })
  .strict();

/**
 * CSV records with the line each ends on, headers trimmed, a leading BOM dropped. Shared by every
 * reader of uploaded sets, so a line number means the same thing in every error message.
 */
export async function* csvRecords(
  source: Readable,
): AsyncGenerator<{ record: Record<string, string>; line: number }> {
  const parser = source.pipe(
    parseCsv({
      columns: (header: string[]) => header.map((name) => name.trim()),
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }),
  );
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number };
  }>) {
    yield { record, line: info.lines };
  }
}

/** One row of an uploaded clean, canary or probe set. */
export const sampleRowSchema = z
  .object({
    id: text(128).min(1, 'expected a non-empty id').optional(),
    text: text(32_768).min(1, 'expected non-empty text'),
    label: text(128).min(1, 'expected a non-empty label').optional(),
    target_label: text(128).min(1).optional(),
    twin_id: text(128).optional(),
    twin_text: text(32_768).optional(),
    trigger: text(256).optional(),
    position: z.enum(['prefix', 'suffix', 'random', 'transform']).optional(),
    assertions: assertionsSchema.optional(),
    /** RAG canaries: every source the answer cites must match one of these (exact, or "prefix*"). */
    allowed_sources: z.array(text(512).min(1)).max(1_000).optional(),
    metadata: z.record(text(128), text(1_024)).optional(),
  })
  .strict();

export type SampleRow = z.output<typeof sampleRowSchema>;

export interface UploadProblem {
  line: number;
  field: string;
  message: string;
}

export class UploadRejected extends Error {
  constructor(readonly problems: UploadProblem[]) {
    super(
      `${problems.length}${problems.length >= MAX_PROBLEMS ? '+' : ''} problem(s) in the upload; nothing was stored`,
    );
  }
}

export interface UploadSummary {
  sha256: string;
  bytes: number;
  samples: number;
  labels: string[];
}

/** What each kind of set needs beyond a text: clean samples a label, canary samples a target or assertions. */
function kindProblems(row: SampleRow, kind: DatasetKind): { field: string; message: string }[] {
  if (kind === 'clean' && !row.label)
    return [{ field: 'label', message: 'a clean sample needs its true label (it is missing)' }];
  if (kind === 'canary' && !row.target_label && !row.assertions && !row.allowed_sources) {
    return [
      {
        field: 'target_label',
        message:
          'a canary sample needs a target_label (classification), assertions (generation) or allowed_sources (RAG) (all are missing)',
      },
    ];
  }
  for (const [i, entry] of (row.allowed_sources ?? []).entries()) {
    const problem = allowListEntryProblem(entry);
    if (problem) return [{ field: `allowed_sources.${i}`, message: problem }];
  }
  if (row.assertions?.regex !== undefined) {
    try {
      compileAssertionRegex(row.assertions.regex);
    } catch (error) {
      return [{ field: 'assertions.regex', message: (error as Error).message }];
    }
  }
  return [];
}

function describeIssues(error: z.ZodError, row: unknown): { field: string; message: string }[] {
  return error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(row)';
    let value: unknown = row;
    for (const part of issue.path)
      value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part] : undefined;
    const got = value === undefined ? 'it is missing' : `got ${JSON.stringify(value)?.slice(0, 40)}`;
    return {
      field,
      message: issue.code === 'unrecognized_keys' ? issue.message : `${issue.message} (${got})`,
    };
  });
}

/**
 * Reads an upload as a stream — never whole — validating each row and handing valid rows to
 * `accept` in batches. Every problem names its line and field; with any problem the upload is
 * rejected as a whole (the caller's transaction rolls back), after at most 100 problems.
 */
export async function readSampleUpload(
  source: Readable,
  options: { format: UploadFormat; kind: DatasetKind; batchSize?: number; maxBytes?: number },
  accept: (rows: (SampleRow & { line: number })[]) => Promise<void>,
): Promise<UploadSummary> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tapped = new PassThrough();
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
    if (options.maxBytes !== undefined && bytes > options.maxBytes) {
      source.destroy(
        new UploadRejected([
          { line: 0, field: '(upload)', message: `larger than the limit of ${options.maxBytes} bytes` },
        ]),
      );
    }
  });
  source.on('error', (error) => tapped.destroy(error));
  source.pipe(tapped);

  const problems: UploadProblem[] = [];
  const labels = new Set<string>();
  const ids = new Set<string>();
  let batch: (SampleRow & { line: number })[] = [];
  let samples = 0;
  const batchSize = options.batchSize ?? 500;

  const consider = async (raw: unknown, line: number) => {
    const parsed = sampleRowSchema.safeParse(raw);
    const rowProblems = parsed.success
      ? kindProblems(parsed.data, options.kind)
      : describeIssues(parsed.error, raw);
    if (parsed.success && parsed.data.id !== undefined) {
      if (ids.has(parsed.data.id))
        rowProblems.push({ field: 'id', message: `duplicate id "${parsed.data.id}"` });
      ids.add(parsed.data.id);
    }
    if (rowProblems.length > 0 || !parsed.success) {
      for (const problem of rowProblems) problems.push({ line, ...problem });
      return;
    }
    samples++;
    if (parsed.data.label) labels.add(parsed.data.label);
    if (problems.length > 0) return; // already rejected: keep validating, stop writing
    batch.push({ ...parsed.data, line });
    if (batch.length >= batchSize) {
      await accept(batch);
      batch = [];
    }
  };

  if (options.format === 'jsonl') {
    let line = 0;
    for await (const content of createInterface({ input: tapped, crlfDelay: Infinity })) {
      line++;
      if (content.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(content);
      } catch (error) {
        problems.push({
          line,
          field: '(line)',
          message: `expected one JSON object per line: ${(error as Error).message}`,
        });
        if (problems.length >= MAX_PROBLEMS) break;
        continue;
      }
      await consider(raw, line);
      if (problems.length >= MAX_PROBLEMS) break;
    }
  } else {
    try {
      for await (const { record, line } of csvRecords(tapped)) {
        // CSV cells are strings and empty means absent.
        const row = Object.fromEntries(Object.entries(record).filter(([, value]) => value !== ''));
        await consider(row, line);
        if (problems.length >= MAX_PROBLEMS) break;
      }
    } catch (error) {
      if (error instanceof UploadRejected) throw error;
      const line = (error as { lines?: number }).lines ?? 0;
      problems.push({ line, field: '(csv)', message: (error as Error).message });
    }
  }
  if (source.destroyed && (source as unknown as { errored?: unknown }).errored instanceof UploadRejected) {
    throw (source as unknown as { errored: UploadRejected }).errored;
  }
  if (samples === 0 && problems.length === 0)
    problems.push({ line: 0, field: '(upload)', message: 'the upload holds no samples' });
  if (problems.length > 0) throw new UploadRejected(problems.slice(0, MAX_PROBLEMS));
  if (batch.length > 0) await accept(batch);
  return { sha256: hash.digest('hex'), bytes, samples, labels: [...labels].sort() };
}
