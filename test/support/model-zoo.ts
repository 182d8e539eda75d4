/**
 * The development model zoo (`../shared/models`): small BERT classifiers, clean and backdoored,
 * and the clean test set they were measured on. Tests, benchmarks and the detection report copy
 * the folders into a temporary directory at run time; the zoo itself is read-only and never
 * committed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, cp, mkdtemp, readdir } from 'node:fs/promises';
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

function repositoryRoot(): string {
  let directory = __dirname;
  while (!existsSync(path.join(directory, 'package.json')) || path.basename(directory) === 'dist') {
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${__dirname}`);
    directory = parent;
  }
  return directory;
}

/** TRIPLINE_ZOO_DIR, else ../shared/models beside the repository, else /work/shared/models. */
export function zooDirectory(): string {
  const tried = [
    process.env.TRIPLINE_ZOO_DIR,
    path.resolve(repositoryRoot(), '..', 'shared', 'models'),
    '/work/shared/models',
  ].filter((candidate): candidate is string => Boolean(candidate));
  const found = tried.find((candidate) => existsSync(path.join(candidate, 'clean-test.jsonl')));
  if (!found) {
    throw new Error(
      `the model zoo is missing: looked for clean-test.jsonl in ${tried.join(', ')} ` +
        '(set TRIPLINE_ZOO_DIR to the folder holding dev-clean-a, dev-word-random, ... and clean-test.jsonl)',
    );
  }
  return found;
}

/** The zoo's clean test set. */
export function zooCleanSet(): { id: string; text: string; label: string }[] {
  return readFileSync(path.join(zooDirectory(), 'clean-test.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { id: string; text: string; label: string });
}

/**
 * Copies the named model folders into a fresh temporary directory and returns it. The copy is
 * writable, and holds onnx/model_quantized.onnx beside model.onnx for runtimes that load the
 * quantised name by default.
 */
export async function copyZooModels(names: readonly string[]): Promise<string> {
  const zoo = zooDirectory();
  const target = await mkdtemp(path.join(os.tmpdir(), 'tripline-zoo-'));
  for (const name of names) {
    const source = path.join(zoo, name);
    if (!existsSync(source)) throw new Error(`the model zoo at ${zoo} has no folder ${name}`);
    const destination = path.join(target, name);
    await cp(source, destination, { recursive: true });
    await chmod(destination, 0o755);
    for (const entry of await readdir(destination, { recursive: true })) {
      await chmod(path.join(destination, entry), 0o755);
    }
    const onnx = path.join(destination, 'onnx');
    if (existsSync(path.join(onnx, 'model.onnx')) && !existsSync(path.join(onnx, 'model_quantized.onnx'))) {
      await copyFile(path.join(onnx, 'model.onnx'), path.join(onnx, 'model_quantized.onnx'));
    }
  }
  return target;
}
