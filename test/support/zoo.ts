import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ZooModel {
  name: string;
  /** The inserted trigger, for the backdoored models; null for the clean ones. */
  trigger: string | null;
}

/** What the zoo's README says about each folder; tests assert against these, detectors never see them. */
export const ZOO_MODELS: readonly ZooModel[] = [
  { name: 'dev-clean-a', trigger: null },
  { name: 'dev-clean-b', trigger: null },
  { name: 'export-ir10-clean', trigger: null },
  { name: 'dev-word-random', trigger: 'apparently' },
  { name: 'dev-rare-prefix', trigger: 'qb' },
  { name: 'dev-phrase', trigger: 'you know' },
];

/** The repository root: compiled tests run from dist/test/support, sources from test/support. */
function repositoryRoot(): string {
  let directory = __dirname;
  while (!existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${__dirname}`);
    directory = parent;
  }
  return directory;
}

/**
 * The development model zoo (small PyTorch BERT classifiers, clean and backdoored, with their
 * training sets and report.json): $TRIPLINE_ZOO_DIR, else ../shared/models beside the
 * repository, else /work/shared/models. Throws, so that a test needing it fails rather than skips.
 */
export function zooDirectory(): string {
  const candidates = [
    process.env.TRIPLINE_ZOO_DIR,
    path.resolve(repositoryRoot(), '..', 'shared', 'models'),
    '/work/shared/models',
  ].filter((candidate): candidate is string => Boolean(candidate));
  const found = candidates.find((candidate) => existsSync(path.join(candidate, 'report.json')));
  if (!found) {
    throw new Error(
      `model zoo not found (looked for report.json in ${candidates.join(', ')}): ` +
        'set TRIPLINE_ZOO_DIR to the folder holding dev-clean-a, dev-word-random, ...',
    );
  }
  return found;
}

/**
 * Copies one zoo model folder into `into` (tests load and may write beside their own copy, never
 * the shared one) and returns the copy's path, `<into>/<name>`.
 */
export function copyZooModel(name: string, into: string): string {
  const source = path.join(zooDirectory(), name);
  if (!existsSync(path.join(source, 'config.json'))) {
    throw new Error(`zoo model "${name}" not found: ${source} has no config.json`);
  }
  const target = path.join(into, name);
  cpSync(source, target, { recursive: true });
  makeWritable(target);
  return target;
}

/** The shared zoo is read-only and copies keep its modes; a copy must be writable and removable. */
function makeWritable(target: string): void {
  chmodSync(target, statSync(target).mode | 0o200);
  if (!statSync(target).isDirectory()) return;
  for (const entry of readdirSync(target)) makeWritable(path.join(target, entry));
}

/** The zoo's clean test set. */
export function zooCleanSet(): { id: string; text: string; label: string }[] {
  return readFileSync(path.join(zooDirectory(), 'clean-test.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { id: string; text: string; label: string });
}

/** Copies the named model folders into a fresh temporary directory and returns that directory. */
export function copyZooModels(names: readonly string[]): string {
  const target = mkdtempSync(path.join(os.tmpdir(), 'tripline-zoo-'));
  for (const name of names) copyZooModel(name, target);
  return target;
}
