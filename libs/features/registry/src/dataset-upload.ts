import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { describeTooDeep, JsonDepthGauge, LIMITS, validate } from '@tripline/contracts';
import { compileAssertionRegex, MAX_ASSERTION_PATTERN_LENGTH } from '@tripline/evaluation';
import { LineReadError, readCsvRecords, readJsonLines } from '@tripline/line-readers';
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
    /**
     * Where the row came from (a file, a vendor, a labelling batch): the column `tripline scan
     * dataset` reads, so one file serves both. Kept with the sample as metadata.source.
     */
    source: text(512).min(1, 'expected a non-empty source').optional(),
  })
  .strict();

export type SampleRow = z.output<typeof sampleRowSchema>;

export interface UploadProblem {
  line: number;
  field: string;
  message: string;
}

export class UploadRejected extends Error {
  constructor(
    readonly problems: UploadProblem[],
    /** 413 when the upload or one of its lines is over a size limit, 408 when it took too long. */
    readonly status: 400 | 408 | 413 = 400,
  ) {
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
  if (row.source !== undefined && row.metadata?.source !== undefined && row.metadata.source !== row.source)
    return [
      {
        field: 'source',
        message: `differs from metadata.source (got "${row.source.slice(0, 40)}" and "${row.metadata.source.slice(0, 40)}"); give it once`,
      },
    ];
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

/**
 * Chunks of a body, counted and hashed, refused past `maxBytes`. The body is read with
 * destroyOnReturn off: when a problem stops the reading, the caller still answers on the same
 * connection and lets the rest drain, instead of resetting it before the client sees why.
 */
async function* countedChunks(
  source: Readable,
  maxBytes: number | undefined,
  tally: { bytes: number; hash: ReturnType<typeof createHash> },
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer | string>;
  // A stalled client sends nothing, so the deadline must interrupt the wait for the next chunk.
  const aborted = signal
    ? new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        else signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      })
    : undefined;
  aborted?.catch(() => undefined);
  try {
    for (;;) {
      const next = aborted ? await Promise.race([chunks.next(), aborted]) : await chunks.next();
      if (next.done) return;
      const buffer = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      tally.bytes += buffer.length;
      tally.hash.update(buffer);
      if (maxBytes !== undefined && tally.bytes > maxBytes) {
        throw new UploadRejected(
          [{ line: 0, field: '(upload)', message: `larger than the limit of ${maxBytes} bytes` }],
          413,
        );
      }
      yield buffer;
    }
  } finally {
    // Not awaited: after a deadline a read is still pending, and return() would queue behind it.
    void chunks.return?.();
  }
}

/**
 * Hands each row of the upload to `consider` — a JSON line, or a CSV record with its empty cells
 * dropped — and notes the lines that are not JSON; stops after MAX_PROBLEMS problems.
 */
async function eachRow(
  chunks: AsyncIterable<Uint8Array>,
  format: UploadFormat,
  problems: UploadProblem[],
  consider: (raw: unknown, line: number) => Promise<void>,
): Promise<void> {
  const bounds = { maxLineBytes: LIMITS.uploadLineBytes, maxRecordBytes: LIMITS.uploadLineBytes };
  if (format === 'jsonl') {
    const check = (bytes: Uint8Array) => {
      const gauge = new JsonDepthGauge(LIMITS.bodyDepth);
      return gauge.feed(bytes) ? undefined : describeTooDeep(LIMITS.bodyDepth, gauge.exceededAt!);
    };
    for await (const item of readJsonLines(chunks, { ...bounds, check })) {
      if ('problem' in item) problems.push({ line: item.line, field: '(line)', message: item.problem });
      else await consider(item.value, item.line);
      if (problems.length >= MAX_PROBLEMS) return;
    }
  } else {
    for await (const { record, line } of readCsvRecords(chunks, bounds)) {
      // CSV cells are strings and empty means absent.
      const row = Object.fromEntries(Object.entries(record).filter(([, value]) => value !== ''));
      await consider(row, line);
      if (problems.length >= MAX_PROBLEMS) return;
    }
  }
}

/**
 * Where the line reader gave up. A line or record too long (413) or bytes that are not UTF-8
 * reject the upload at once; broken CSV syntax is one more problem, the last: nothing after it
 * can be read as records.
 */
function syntaxProblem(error: LineReadError, format: UploadFormat): UploadProblem {
  const field = format === 'csv' && error.problem !== 'line-too-long' ? '(csv)' : '(line)';
  switch (error.problem) {
    case 'line-too-long':
    case 'record-too-long':
      throw new UploadRejected([{ line: error.line, field, message: error.reason }], 413);
    case 'invalid-utf8':
      throw new UploadRejected([
        {
          line: error.line,
          field: '(line)',
          message: 'not valid UTF-8 text; uploads must be UTF-8 encoded',
        },
      ]);
    default:
      return { line: error.line, field, message: error.reason };
  }
}

/**
 * Reads an upload as a stream — never whole — validating each row with the same checks as an
 * inference event (no NUL, no unpaired surrogates, no prototype keys, bounded nesting) and handing
 * valid rows to `accept` in batches. Every problem names its line and field; with any problem the
 * upload is rejected as a whole, after at most 100 problems. A line (or CSV record) over
 * LIMITS.uploadLineBytes or bytes that are not UTF-8 stop the reading at once. Lines and records
 * are read by libs/kernel/line-readers, as the CLI reads them, so a line number means the same in both.
 */
export async function readSampleUpload(
  source: Readable,
  options: {
    format: UploadFormat;
    kind: DatasetKind;
    batchSize?: number;
    maxBytes?: number;
    /** Aborted with an UploadRejected (408) when the upload took too long. */
    signal?: AbortSignal;
  },
  accept: (rows: (SampleRow & { line: number })[]) => Promise<void>,
): Promise<UploadSummary> {
  const tally = { bytes: 0, hash: createHash('sha256') };
  const chunks = countedChunks(source, options.maxBytes, tally, options.signal);

  const problems: UploadProblem[] = [];
  const labels = new Set<string>();
  const ids = new Set<string>();
  let batch: (SampleRow & { line: number })[] = [];
  let samples = 0;
  const batchSize = options.batchSize ?? 500;

  const consider = async (raw: unknown, line: number) => {
    const validated = validate(sampleRowSchema, raw);
    const rowProblems = validated.ok
      ? kindProblems(validated.value, options.kind)
      : validated.errors.map((error) => ({
          field: error.field === '(event)' ? '(row)' : error.field,
          message: error.message,
        }));
    if (validated.ok && validated.value.id !== undefined) {
      if (ids.has(validated.value.id))
        rowProblems.push({ field: 'id', message: `duplicate id "${validated.value.id}"` });
      ids.add(validated.value.id);
    }
    if (rowProblems.length > 0 || !validated.ok) {
      for (const problem of rowProblems) problems.push({ line, ...problem });
      return;
    }
    samples++;
    if (validated.value.label) labels.add(validated.value.label);
    if (problems.length > 0) return; // already rejected: keep validating, stop writing
    batch.push({ ...validated.value, line });
    if (batch.length >= batchSize) {
      await accept(batch);
      batch = [];
    }
  };

  try {
    await eachRow(chunks, options.format, problems, consider);
  } catch (error) {
    if (!(error instanceof LineReadError)) throw error;
    problems.push(syntaxProblem(error, options.format));
  }
  if (samples === 0 && problems.length === 0)
    problems.push({ line: 0, field: '(upload)', message: 'the upload holds no samples' });
  if (problems.length > 0) throw new UploadRejected(problems.slice(0, MAX_PROBLEMS));
  if (batch.length > 0) await accept(batch);
  return { sha256: tally.hash.digest('hex'), bytes: tally.bytes, samples, labels: [...labels].sort() };
}
