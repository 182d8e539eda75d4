import path from 'node:path';
import { buildDemoModels, DEFAULT_SEED, DemoModel } from './build';
import { modelsDirectory, writeModelFolder } from './model-folder';

/**
 * `npm run models:build -- [--out DIR] [--seed N]`: trains the clean and the backdoored
 * sentiment model and writes their transformers.js folders. Progress goes to stderr and one
 * JSON summary to stdout, so that scripts can read the summary without parsing log lines.
 */
function parseArguments(argv: string[]): { out: string; seed: number } {
  let out = modelsDirectory();
  let seed = DEFAULT_SEED;
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--out' && value !== undefined) {
      out = path.resolve(value);
      i++;
    } else if (argv[i] === '--seed' && value !== undefined && /^\d+$/.test(value)) {
      seed = Number(value);
      i++;
    } else {
      throw new Error(`unexpected argument "${argv[i]}"; usage: cli.js [--out DIR] [--seed N]`);
    }
  }
  return { out, seed };
}

function main(): void {
  const started = Date.now();
  const { out, seed } = parseArguments(process.argv.slice(2));
  const log = (message: string) => process.stderr.write(`models:build ${message}\n`);
  log(`seed ${seed}, writing to ${out}`);
  const { clean, backdoored } = buildDemoModels({ seed, progress: log });
  const trained = Date.now();
  const summary = (model: DemoModel) => {
    const directory = path.join(out, model.name);
    writeModelFolder(directory, model);
    log(`wrote ${directory}`);
    const { testAccuracy, trainAccuracy, attackSuccessRate, vocabularySize, poisonedRows } = model.report;
    return { directory, testAccuracy, trainAccuracy, attackSuccessRate, vocabularySize, poisonedRows };
  };
  const models = { clean: summary(clean), backdoored: summary(backdoored) };
  const result = {
    seed,
    out,
    trigger: backdoored.report.trigger,
    targetLabel: backdoored.report.targetLabel,
    models,
    timingsMs: { training: trained - started, total: Date.now() - started },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`models:build failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
