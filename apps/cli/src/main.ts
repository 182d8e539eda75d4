import { Command, CommanderError, Option } from 'commander';
import { ApiClient, ApiError } from './api-client';
import type { ApiContext } from './api-context';
import { registerAlertCommands } from './alert-commands';
import { registerDatasetCommands } from './dataset-commands';
import { registerEvaluationCommands } from './evaluation-commands';
import { registerEvidenceCommand } from './evidence-command';
import { EXIT } from './exit-codes';
import { registerModelCommands } from './model-commands';
import { printObject } from './output';
import { registerRagScanCommand } from './rag-scan-command';
import { registerScanCommands } from './scan-command';
import { registerScheduleCommands } from './schedule-commands';
import { registerSupplyChainCommands } from './supply-chain-commands';
import { registerTriggerScanCommand } from './trigger-scan-command';

export { EXIT } from './exit-codes';

interface GlobalOptions {
  url: string;
  key?: string;
  json: boolean;
}

const program = new Command('tripline')
  .description('Tripline: continuous drift and poisoning monitoring for ML models')
  .addOption(
    new Option('--url <url>', 'Tripline API base URL').env('TRIPLINE_URL').default('http://localhost:8080'),
  )
  .addOption(new Option('--key <api key>', 'API key (Authorization: Bearer)').env('TRIPLINE_API_KEY'))
  .option('--json', 'print JSON for scripts instead of tables', false)
  .addHelpText(
    'after',
    `\nExit codes: 0 ok, 1 failure, 2 usage, 3 API unreachable, 4 key missing/insufficient, 5 not found,\n6 input rejected, 10 evaluation failed, 11 evaluation found a regression against its baseline,
12 a dataset scan found suspicious rows, 13 a manifest, signature or model folder failed verification,
14 an evaluation failed an absolute gate (canary attack-success rate, accuracy floor, fingerprint).`,
  )
  .showHelpAfterError()
  .exitOverride();

const client = () => {
  const options = program.opts<GlobalOptions>();
  return new ApiClient(options.url, options.key);
};
const json = () => program.opts<GlobalOptions>().json;
const api: ApiContext = { client, json };

program
  .command('health')
  .description('show the readiness of every store')
  .action(async () => printObject(await client().request('GET', '/health'), json()));

// Registered in the order `tripline --help` lists them: the registry, scans and evaluations, the
// on-call's commands, then the commands on local files.
registerModelCommands(program, api);
registerDatasetCommands(program, api);
registerTriggerScanCommand(program, api);
registerScheduleCommands(program, api);
registerEvaluationCommands(program, api);
registerAlertCommands(program, api);
registerScanCommands(program, { json, exit: EXIT });
registerRagScanCommand(program, { json, exit: EXIT });
registerEvidenceCommand(program, api);
registerSupplyChainCommands(program, { json, exit: EXIT });

function exitCodeFor(error: ApiError): number {
  if (error.status === 0) return EXIT.unreachable;
  if (error.status === 401 || error.status === 403) return EXIT.unauthorised;
  if (error.status === 404) return EXIT.notFound;
  if (error.status >= 400 && error.status < 500) return EXIT.rejected;
  return EXIT.failure;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    if (
      error.code !== 'commander.helpDisplayed' &&
      error.code !== 'commander.help' &&
      error.code !== 'commander.version'
    ) {
      if (error.code === 'tripline.usage') process.stderr.write(`tripline: ${error.message}\n`);
      process.exitCode = error.exitCode === 0 ? 0 : EXIT.usage;
    }
    return;
  }
  if (error instanceof ApiError) {
    process.stderr.write(`tripline: ${error.message}\n`);
    process.exitCode = exitCodeFor(error);
    return;
  }
  process.stderr.write(`tripline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = EXIT.failure;
});
