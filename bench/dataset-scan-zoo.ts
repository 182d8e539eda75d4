/**
 * The dataset scan measured on the development model zoo's poisoned training sets: recall of the
 * poisoned rows in the top 2x of the ranking, precision and recall of the rows marked suspicious,
 * and scan time, with the default representation (bag-of-words hashing) and with a clean zoo model
 * as the reference representation. Used by the integration test (as properties) and by
 * `npm run detection-report` (as figures); nothing here is fitted to the zoo.
 *
 *   node dist/bench/dataset-scan-zoo.js    (prints { datasetScan: [...], embeddingSeconds, embeddedTexts })
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OnnxRepresentations } from '@tripline/adapters';
import { DatasetScan, type ScanRow } from '@tripline/poisoning';
import { copyZooModel, zooDirectory } from '@tripline/testing';

/** The zoo's poisoned training sets, and a clean control built from one of them. */
export const POISONED_TRAINING_SETS = ['dev-word-random', 'dev-rare-prefix', 'dev-phrase'] as const;
/** The clean control: dev-word-random's training set with its poisoned rows removed. */
export const CLEAN_CONTROL = 'clean-control';
export const REFERENCE_MODEL = 'dev-clean-a';

export interface DatasetScanFigures {
  set: string;
  representation: 'hashing' | typeof REFERENCE_MODEL;
  rows: number;
  poisoned: number;
  /** Share of the poisoned rows among the 2·poisoned highest-ranked rows. */
  recallTop2x: number | null;
  suspicious: number;
  /** Share of the suspicious rows that are poisoned (null when none is suspicious). */
  precision: number | null;
  /** Share of the poisoned rows marked suspicious. */
  recall: number | null;
  flaggedTokens: string[];
  /** The scan alone; the reference model's forward passes are reported apart. */
  scanSeconds: number;
}

interface LabelledRow extends ScanRow {
  poisoned: boolean;
}

export function loadTrainingSet(zoo: string, set: string): LabelledRow[] {
  const file = set === CLEAN_CONTROL ? POISONED_TRAINING_SETS[0] : set;
  const truth = new Set(
    (JSON.parse(readFileSync(path.join(zoo, `${file}.train.truth.json`), 'utf8')) as unknown[]).map(String),
  );
  const rows = readFileSync(path.join(zoo, `${file}.train.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { id: string; text: string; label: string; source?: string })
    .map((row) => ({
      text: row.text,
      label: String(row.label),
      source: row.source,
      poisoned: truth.has(String(row.id)),
    }));
  return set === CLEAN_CONTROL ? rows.filter((row) => !row.poisoned) : rows;
}

/** Scans one set and scores the scan against the truth. */
export function measure(
  set: string,
  rows: LabelledRow[],
  representation: DatasetScanFigures['representation'],
  vectors?: (text: string) => Float32Array,
): DatasetScanFigures {
  const began = process.hrtime.bigint();
  const scan = new DatasetScan({ representationSource: vectors ? REFERENCE_MODEL : undefined });
  rows.forEach((row, i) => scan.add(row, i + 1, vectors?.(row.text)));
  const result = scan.finish();
  const scanSeconds = Number(process.hrtime.bigint() - began) / 1e9;
  const poisoned = rows.filter((row) => row.poisoned).length;
  let topHits = 0;
  for (let k = 0; k < Math.min(rows.length, 2 * poisoned); k++)
    if (rows[result.ranking[k]].poisoned) topHits++;
  let suspicious = 0;
  let hits = 0;
  result.suspicious.forEach((flag, i) => {
    if (!flag) return;
    suspicious++;
    if (rows[i].poisoned) hits++;
  });
  const tokens = result.report.detectors.find((detector) => detector.name === 'token-association')!
    .summary as { flaggedTokens: string[] };
  return {
    set,
    representation,
    rows: rows.length,
    poisoned,
    recallTop2x: poisoned ? topHits / poisoned : null,
    suspicious,
    precision: suspicious ? hits / suspicious : null,
    recall: poisoned ? hits / poisoned : null,
    flaggedTokens: tokens.flaggedTokens,
    scanSeconds,
  };
}

/**
 * Every zoo set (the three poisoned ones and the clean control) with both representations. The
 * reference model is copied into a temporary folder (the shared zoo stays untouched) and embeds
 * each distinct text once: the sets share most of their sentences.
 */
export async function measureZoo(): Promise<{
  figures: DatasetScanFigures[];
  embeddingSeconds: number;
  embeddedTexts: number;
}> {
  const zoo = zooDirectory();
  const sets = [...POISONED_TRAINING_SETS, CLEAN_CONTROL].map((set) => ({
    set,
    rows: loadTrainingSet(zoo, set),
  }));
  const figures = sets.map(({ set, rows }) => measure(set, rows, 'hashing'));
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tripline-dataset-zoo-'));
  try {
    const folder = copyZooModel(REFERENCE_MODEL, scratch);
    const representations = new OnnxRepresentations(folder);
    const texts = [...new Set(sets.flatMap(({ rows }) => rows.map((row) => row.text)))];
    const began = process.hrtime.bigint();
    let vectors: Float32Array[];
    try {
      vectors = await representations.represent(texts);
    } finally {
      await representations.close();
    }
    const embeddingSeconds = Number(process.hrtime.bigint() - began) / 1e9;
    const byText = new Map(texts.map((text, i) => [text, vectors[i]]));
    for (const { set, rows } of sets)
      figures.push(measure(set, rows, REFERENCE_MODEL, (text) => byText.get(text)!));
    return { figures, embeddingSeconds, embeddedTexts: texts.length };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { figures, embeddingSeconds, embeddedTexts } = await measureZoo();
  const rounded = figures.map((entry) => ({
    ...entry,
    scanSeconds: Math.round(entry.scanSeconds * 1000) / 1000,
  }));
  process.stdout.write(
    `${JSON.stringify({ datasetScan: rounded, embeddingSeconds: Math.round(embeddingSeconds * 10) / 10, embeddedTexts }, null, 2)}\n`,
  );
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
