import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { CommanderError, type Command } from 'commander';
import { LineReadError, readJsonLines, readLines } from '@tripline/line-readers';
import {
  allowListEntryProblem,
  scanKnowledgeBase,
  type KnowledgeBaseDocument,
  type KnowledgeBaseScanReport,
} from '@tripline/rag';
import { MAX_LINE_BYTES, RowProblems } from './scan-rows';
import type { CliContext } from './scan-command';

const MAX_TEXT = 1_000_000;

const usage = (message: string) => new CommanderError(2, 'tripline.usage', message);

/** Epoch ms from RFC 3339 text or epoch milliseconds. */
function instant(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/** A knowledge-base document, or what is wrong with it. */
export function documentFrom(
  raw: unknown,
  line: number,
): KnowledgeBaseDocument | { field: string; message: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { field: '(line)', message: 'expected an object with id, source and text' };
  const { id, source, text, added_at: addedAt } = raw as Record<string, unknown>;
  if (typeof text !== 'string') return { field: 'text', message: 'expected the document text as a string' };
  if (text.length > MAX_TEXT) return { field: 'text', message: `expected at most ${MAX_TEXT} characters` };
  if (typeof source !== 'string' || source.trim() === '')
    return { field: 'source', message: 'expected the source the document came from' };
  if (id !== undefined && typeof id !== 'string' && typeof id !== 'number')
    return { field: 'id', message: 'expected a string id' };
  const added = addedAt === undefined || addedAt === null ? undefined : instant(addedAt);
  if (addedAt !== undefined && addedAt !== null && added === undefined)
    return { field: 'added_at', message: 'expected an RFC 3339 timestamp or epoch milliseconds' };
  return {
    id: id === undefined ? `line-${line}` : String(id),
    source: source.trim(),
    text,
    ...(added !== undefined ? { addedAt: added } : {}),
  };
}

/** Documents of a JSONL file (one per line) or a JSON array; malformed entries are recorded and skipped. */
async function readDocuments(file: string, problems: RowProblems): Promise<KnowledgeBaseDocument[]> {
  const documents: KnowledgeBaseDocument[] = [];
  const take = (raw: unknown, line: number) => {
    const document = documentFrom(raw, line);
    if ('field' in document) problems.add({ line, ...document });
    else documents.push(document);
  };
  if (file.toLowerCase().endsWith('.json')) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const items = Array.isArray(parsed) ? parsed : (parsed as { documents?: unknown })?.documents;
    if (!Array.isArray(items))
      throw usage(`${file}: expected a JSON array of documents, or {"documents": [...]}`);
    items.forEach((item, i) => take(item, i + 1));
    return documents;
  }
  try {
    for await (const item of readJsonLines(createReadStream(file), { maxLineBytes: MAX_LINE_BYTES })) {
      if ('problem' in item) problems.add({ line: item.line, field: '(line)', message: item.problem });
      else take(item.value, item.line);
    }
  } catch (error) {
    if (!(error instanceof LineReadError)) throw error;
    problems.add({
      line: error.line,
      field: '(line)',
      message: `${error.reason}; the file was read up to here`,
    });
  }
  return documents;
}

/** Canary queries (or sources): one per line, or JSONL of {query} / {text}; blank lines skipped. */
async function readQueries(file: string): Promise<string[]> {
  const queries: string[] = [];
  try {
    for await (const { line, text } of readLines(createReadStream(file), { maxLineBytes: MAX_LINE_BYTES })) {
      const entry = text.trim();
      if (entry === '') continue;
      if (!entry.startsWith('{')) {
        queries.push(entry);
        continue;
      }
      let parsed: { query?: unknown; text?: unknown };
      try {
        parsed = JSON.parse(entry) as { query?: unknown; text?: unknown };
      } catch (error) {
        throw usage(`${file}: line ${line}: expected a query or a JSON object: ${(error as Error).message}`);
      }
      const query = parsed.query ?? parsed.text;
      if (typeof query !== 'string')
        throw usage(`${file}: line ${line}: a JSON line needs "query" or "text"`);
      queries.push(query);
    }
  } catch (error) {
    if (error instanceof LineReadError) throw usage(`${file}: ${error.message}`);
    throw error;
  }
  return queries;
}

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean),
];

/** `tripline scan rag FILE --allow SOURCES [--queries FILE]`: a local knowledge-base scan, no server needed. */
export function registerRagScanCommand(program: Command, context: CliContext): void {
  const scan = program.commands.find((command) => command.name() === 'scan');
  if (!scan) throw new Error('the scan command must be registered first');
  scan
    .command('rag <file>')
    .description(
      'scan a RAG knowledge base (JSONL or a JSON array of {id, source, text, added_at?}) for poisoning: ' +
        'documents from unapproved or new sources, instruction-like content aimed at the model, and documents ' +
        'unusually close to many canary queries. No server needed. Exit 12 when documents are flagged.',
    )
    .requiredOption(
      '--allow <sources>',
      'approved sources, comma-separated or repeated; an entry ending in "*" is a prefix',
      collect,
      [] as string[],
    )
    .option('--queries <file>', 'canary queries: one per line, or JSONL of {"query": ...}')
    .option('--known-sources <file>', 'sources of an earlier reviewed state, one per line: others are new')
    .option('--new-since <time>', 'RFC 3339 or epoch ms: sources first added on or after this are new')
    .option('--top-k <n>', 'documents each canary query retrieves', '5')
    .option('--top <n>', 'documents listed', '100')
    .action(
      async (
        file: string,
        options: {
          allow: string[];
          queries?: string;
          knownSources?: string;
          newSince?: string;
          topK: string;
          top: string;
        },
      ) => {
        for (const entry of options.allow) {
          const problem = allowListEntryProblem(entry);
          if (problem) throw usage(`--allow: ${problem}`);
        }
        if (options.allow.length === 0) throw usage('--allow needs at least one approved source');
        const newSince = options.newSince === undefined ? undefined : instant(options.newSince);
        if (options.newSince !== undefined && newSince === undefined)
          throw usage('--new-since must be an RFC 3339 timestamp or epoch milliseconds');
        const topK = Number(options.topK);
        const top = Number(options.top);
        if (!Number.isInteger(topK) || topK < 1) throw usage('--top-k must be a positive integer');
        if (!Number.isInteger(top) || top < 1) throw usage('--top must be a positive integer');

        const problems = new RowProblems();
        const documents = await readDocuments(file, problems);
        if (documents.length === 0) {
          for (const problem of problems.list.slice(0, 20))
            process.stderr.write(`line ${problem.line}: ${problem.field}: ${problem.message}\n`);
          process.stderr.write(`tripline: ${file} holds no document with id, source and text to scan\n`);
          process.exitCode = context.exit.rejected;
          return;
        }
        const report = scanKnowledgeBase(documents, {
          allowedSources: options.allow,
          queries: options.queries ? await readQueries(options.queries) : [],
          knownSources: options.knownSources ? await readQueries(options.knownSources) : undefined,
          newSince,
          topK,
          top,
        });
        const output = {
          ...report,
          file: path.resolve(file),
          problems: { count: problems.count, first: problems.list.slice(0, 100) },
        };
        if (context.json()) process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
        else printSummary(report, problems);
        if (report.flagged > 0) process.exitCode = context.exit.suspiciousRows;
      },
    );
}

function printSummary(report: KnowledgeBaseScanReport, problems: RowProblems): void {
  const write = (line = '') => process.stdout.write(`${line}\n`);
  write(
    `${report.documents} documents from ${report.sources.length} sources scanned; ` +
      `${report.proximity.queries} canary queries (top ${report.proximity.topK})`,
  );
  if (problems.count > 0) {
    write(`${problems.count} line(s) skipped:`);
    for (const problem of problems.list.slice(0, 10))
      write(`  line ${problem.line}: ${problem.field}: ${problem.message}`);
  }
  write(`${report.flagged} flagged, ${report.review} for review`);
  const notable = report.sources.filter((source) => !source.approved || source.new);
  if (notable.length > 0) {
    write();
    write('sources not on the allow-list or new:');
    for (const source of notable.slice(0, 20))
      write(
        `  ${source.approved ? 'approved  ' : 'UNAPPROVED'} ${source.new ? 'new' : '   '} ${String(source.documents).padStart(6)} docs ` +
          `${String(source.flagged).padStart(5)} flagged  ${source.source}`,
      );
  }
  if (report.patterns.length > 0) {
    write();
    write('instruction-like patterns:');
    for (const pattern of report.patterns)
      write(`  ${pattern.id.padEnd(22)} ${pattern.documents} document(s)`);
  }
  write();
  write('most suspicious documents:');
  for (const verdict of report.top.slice(0, 15)) {
    const label =
      verdict.level === 'flagged' ? 'FLAGGED' : verdict.level === 'review' ? 'review ' : '       ';
    write(`  ${verdict.score.toFixed(3)} ${label} ${verdict.id} [${verdict.source}]`);
    for (const finding of verdict.findings.slice(0, 3))
      write(`         ${finding.detector}: ${finding.reason}`);
  }
  if (report.top.length === 0) write('  (none)');
}
