import { modelsDirectory } from './model-folder';
import { startModelServer } from './model-server';

/**
 * node dist/libs/demo/demo-models/src/model-server.main.js --models <dir> --serve sentiment-clean
 *   [--port 8000] [--host 127.0.0.1] [--name sentiment]
 *
 * Prints one JSON line ({"url", "name", "model"}) to stdout once it listens, so that a script can
 * read the URL when it asked for port 0; stops on SIGINT/SIGTERM.
 */
const USAGE =
  'usage: model-server.main.js --models <dir> --serve <model folder> [--port 8000] [--host 127.0.0.1] [--name sentiment]';

function parseArguments(argv: string[]) {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (!['--models', '--serve', '--port', '--host', '--name'].includes(flag) || value === undefined) {
      throw new Error(`unexpected argument "${flag}"; ${USAGE}`);
    }
    values[flag.slice(2)] = value;
  }
  if (!values.serve) throw new Error(`--serve is required; ${USAGE}`);
  const port = Number(values.port ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535; ${USAGE}`);
  return {
    modelsDir: values.models ?? modelsDirectory(),
    model: values.serve,
    port,
    host: values.host ?? '127.0.0.1',
    name: values.name ?? 'sentiment',
  };
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const server = await startModelServer(options);
  process.stdout.write(`${JSON.stringify({ url: server.url, name: server.name, model: options.model })}\n`);
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: Error) => {
  process.stderr.write(`model-server: ${error.message}\n`);
  process.exitCode = 1;
});
