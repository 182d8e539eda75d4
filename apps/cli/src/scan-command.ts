import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { CommanderError, type Command } from 'commander';
import type { OnnxRepresentations } from '@tripline/adapters';
import {
  DatasetScan,
  renderScanReportHtml,
  type DatasetScanReport,
  type ScanPhase,
  type ScanRow,
} from '@tripline/poisoning';
import { assertManifest, MANIFEST_FILE_NAME, type ArtefactManifest } from '@tripline/supply-chain';
import { readScanRows, RowProblems } from './scan-rows';

/** Rows embedded by the model per forward pass. */
const REPRESENTATION_BATCH = 64;

export interface CliContext {
  json: () => boolean;
  exit: { rejected: number; suspiciousRows: number; verificationFailed: number };
}

/** A progress bar on a terminal's stderr; nothing when stderr is a pipe or the output is JSON. */
function progressBar(enabled: boolean) {
  if (!enabled || !process.stderr.isTTY) return undefined;
  return new SingleBar({
    format: '{phase} [{bar}] {percentage}% | {detail}',
    hideCursor: true,
    stream: process.stderr,
  });
}

type ScanFormat = 'jsonl' | 'csv';
type ProgressBar = ReturnType<typeof progressBar>;

interface ScanDatasetOptions {
  model?: string;
  format?: string;
  out?: string;
  top: string;
  seed: string;
}

export function registerScanCommands(program: Command, context: CliContext): void {
  const scan = program.command('scan').description('poisoning scans of local files');
  scan
    .command('dataset <file>')
    .description(
      'scan training data (JSONL or CSV rows of text, label and optional source) for poisoning: rare tokens ' +
        'that pin a label, label disagreement with neighbours, class outliers, near-duplicates, spectral ' +
        'signatures and activation clustering. Reads the file as a stream; no server needed. Exit 12 when ' +
        'suspicious rows are found.',
    )
    .option(
      '--model <dir>',
      'a transformers.js model folder whose mean-pooled last_hidden_state represents each row (default: a bag-of-words hashing embedding); use a trusted reference model, not one trained on this data. A tripline-manifest.json in the folder is verified first',
    )
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--out <file>', 'write the report as a self-contained HTML page')
    .option('--top <n>', 'rows listed in the report', '100')
    .option('--seed <n>', 'seed of the sampled and clustered steps', '1')
    .action((file: string, options: ScanDatasetOptions) => scanDataset(file, options, context));
}

/** `tripline scan dataset`: read, verify, scan, report; the exit code says what was found. */
async function scanDataset(file: string, options: ScanDatasetOptions, context: CliContext): Promise<void> {
  const json = context.json();
  const format = scanFormat(file, options.format);
  const size = statSync(file).size;
  let representations: OnnxRepresentations | undefined;
  if (options.model) {
    if (!(await modelFolderVerified(options.model))) {
      process.exitCode = context.exit.verificationFailed;
      return;
    }
    // Loaded only with --model: a plain scan reads the file without the model adapters (and
    // the configuration module they bring, which needs Nest).
    const adapters = require('@tripline/adapters') as typeof import('@tripline/adapters');
    representations = new adapters.OnnxRepresentations(options.model);
  }
  const scanner = new DatasetScan({
    topRows: Number(options.top),
    seed: Number(options.seed),
    representationSource: options.model
      ? `mean-pooled last_hidden_state of ${path.resolve(options.model)}`
      : undefined,
  });
  const bar = progressBar(!json);
  bar?.start(size, 0, { phase: 'reading', detail: '0 rows' });
  const problems = await readIntoScan(file, format, scanner, representations, bar);
  bar?.update(size, { phase: 'reading', detail: `${scanner.rows} rows` });
  if (scanner.rows === 0) {
    bar?.stop();
    for (const problem of problems.list.slice(0, 20))
      process.stderr.write(`line ${problem.line}: ${problem.field}: ${problem.message}\n`);
    process.stderr.write(`tripline: ${file} holds no row with text and label to scan\n`);
    process.exitCode = context.exit.rejected;
    return;
  }
  const result = finishWithProgress(scanner, bar);
  bar?.stop();
  const report = {
    ...result.report,
    file: path.resolve(file),
    problems: { count: problems.count, first: problems.list.slice(0, 100) },
  };
  if (options.out)
    writeFileSync(
      options.out,
      renderScanReportHtml(report, `Tripline dataset scan of ${path.basename(file)}`),
    );
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else printSummary(report, problems, options.out);
  if (report.suspicious > 0) process.exitCode = context.exit.suspiciousRows;
}

/** --format, or the file extension's: .csv is CSV, anything else JSON Lines. */
function scanFormat(file: string, option: string | undefined): ScanFormat {
  const format = option ?? (file.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv')
    throw new CommanderError(2, 'tripline.usage', `--format must be jsonl or csv, not "${option}"`);
  return format;
}

/**
 * A model folder that carries a manifest must match it before its embeddings are trusted to
 * represent the rows; one without a manifest is used as it is. False (and the reason on stderr)
 * when the folder does not match.
 */
async function modelFolderVerified(folder: string): Promise<boolean> {
  const manifestFile = path.join(folder, MANIFEST_FILE_NAME);
  if (!existsSync(manifestFile)) return true;
  try {
    await assertManifest(folder, JSON.parse(readFileSync(manifestFile, 'utf8')) as ArtefactManifest);
    return true;
  } catch (error) {
    process.stderr.write(`tripline: ${(error as Error).message}\n`);
    return false;
  }
}

/**
 * Streams the file's rows into the scan, embedding them with the model in batches when there is
 * one, and closes the model. Returns the rows it skipped, each with its line and field.
 */
async function readIntoScan(
  file: string,
  format: ScanFormat,
  scanner: DatasetScan,
  representations: OnnxRepresentations | undefined,
  bar: ProgressBar,
): Promise<RowProblems> {
  const source = createReadStream(file);
  let bytes = 0;
  source.on('data', (chunk) => {
    bytes += chunk.length;
  });
  const problems = new RowProblems();
  let pending: { row: ScanRow; line: number }[] = [];
  let read = 0;
  const flush = async () => {
    const vectors = await representations!.represent(pending.map(({ row }) => row.text));
    pending.forEach(({ row, line }, i) => scanner.add(row, line, vectors[i]));
    pending = [];
  };
  try {
    for await (const item of readScanRows(source, format, problems)) {
      if (representations) {
        pending.push(item);
        if (pending.length >= REPRESENTATION_BATCH) await flush();
      } else {
        scanner.add(item.row, item.line);
      }
      if (++read % 500 === 0) bar?.update(bytes, { phase: 'reading', detail: `${read} rows` });
    }
    if (pending.length > 0) await flush();
  } finally {
    await representations?.close();
  }
  return problems;
}

/** Runs the detectors, the bar restarting for each phase (their totals differ). */
function finishWithProgress(scanner: DatasetScan, bar: ProgressBar) {
  let phaseShown: ScanPhase | undefined;
  return scanner.finish((phase, done, total) => {
    if (!bar) return;
    if (phase !== phaseShown) {
      phaseShown = phase;
      bar.setTotal(Math.max(total, 1));
    }
    bar.update(done, { phase, detail: `${scanner.rows} rows` });
  });
}

function printSummary(report: DatasetScanReport, problems: RowProblems, out: string | undefined): void {
  const write = (line = '') => process.stdout.write(`${line}\n`);
  write(
    `${report.rows} rows scanned (${Object.entries(report.labels)
      .map(([label, count]) => `${label} ${count}`)
      .join(', ')}); representation: ${report.representation.source}`,
  );
  if (problems.count > 0) {
    write(`${problems.count} row(s) skipped:`);
    for (const problem of problems.list.slice(0, 10))
      write(`  line ${problem.line}: ${problem.field}: ${problem.message}`);
  }
  const tokens = report.detectors.find((d) => d.name === 'token-association')?.summary as {
    tokens?: { token: string; rows: number; label: string; flagged: boolean }[];
  };
  const flaggedTokens = (tokens?.tokens ?? []).filter((token) => token.flagged);
  write(
    `${report.suspicious} suspicious row(s), ${report.review} for review` +
      (flaggedTokens.length
        ? `; tokens that pin a label against their text: ${flaggedTokens
            .map((t) => `"${t.token}" (${t.rows} rows, ${t.label})`)
            .join(', ')}`
        : ''),
  );
  for (const source of report.sources.filter((s) => s.suspicious > 0).slice(0, 5))
    write(
      `  source ${source.source}: ${source.suspicious} of ${source.rows} rows suspicious (p = ${source.enrichmentPValue.toExponential(1)})`,
    );
  write();
  write('most suspicious rows:');
  for (const row of report.top.slice(0, 10)) {
    const reason = row.reasons[0];
    write(
      `  line ${String(row.line).padEnd(6)} ${row.score.toFixed(3)} ${row.suspicious ? 'SUSPICIOUS' : row.review ? 'review    ' : '          '} ` +
        `[${row.label}] ${row.text.length > 80 ? `${row.text.slice(0, 79)}…` : row.text}`,
    );
    if (reason) write(`         ${reason.detector}: ${reason.reason}`);
  }
  if (out) write(`\nHTML report: ${path.resolve(out)}`);
}
