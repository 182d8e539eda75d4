import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  buildManifest,
  generateSigningKeyPair,
  signManifest,
  splitPemBlocks,
  verifyManifest,
  verifyManifestSignature,
  describeVerification,
  type ArtefactManifest,
} from '@tripline/supply-chain';
import type { CliContext } from './scan-command';

function readManifest(file: string): ArtefactManifest {
  let manifest: ArtefactManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as ArtefactManifest;
  } catch (error) {
    throw new Error(`${file} is not a manifest file: ${(error as Error).message}`);
  }
  if (!Array.isArray(manifest?.files))
    throw new Error(`${file} is not a manifest file: it has no "files" list`);
  return manifest;
}

const writeJson = (file: string | undefined, value: unknown) => {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
};

/**
 * `tripline manifest build|verify` and `tripline keys create|sign|verify`: local files, no server.
 * Key files are --private-key / --public-key because the program's own --key is the API key.
 */
export function registerSupplyChainCommands(program: Command, context: CliContext): void {
  registerManifestCommands(program, context);
  registerKeyCommands(program, context);
}

/** What the folder holds: `tripline manifest build|verify`. */
function registerManifestCommands(program: Command, context: CliContext): void {
  const manifest = program
    .command('manifest')
    .description('artefact manifests of model folders (SHA-256 per file)');
  manifest
    .command('build <dir>')
    .description(
      'print (or write) the manifest of a model folder: every file with its SHA-256 and size, sorted by path',
    )
    .option('--out <file>', 'write it to this file instead of stdout')
    .action(async (dir: string, options: { out?: string }) => {
      const built = await buildManifest(dir);
      writeJson(options.out, built);
      if (options.out && !context.json())
        process.stderr.write(`manifest of ${built.files.length} files written to ${options.out}\n`);
    });
  manifest
    .command('verify <dir> <manifest>')
    .description(
      'check a model folder against a manifest; exit 13 naming each changed, missing or extra file',
    )
    .action(async (dir: string, file: string) => {
      const result = await verifyManifest(dir, readManifest(file));
      if (context.json()) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else process.stdout.write(`${describeVerification(result)}\n`);
      if (!result.ok) process.exitCode = context.exit.verificationFailed;
    });
}

/** Who vouches for a manifest: `tripline keys create|sign|verify`. */
function registerKeyCommands(program: Command, context: CliContext): void {
  const keys = program.command('keys').description('Ed25519 keys that sign and verify manifests');
  keys
    .command('create')
    .description('create an Ed25519 key pair: <name>.key (private, mode 600) and <name>.pub (public), PEM')
    .option('--out-dir <dir>', 'where to write them', '.')
    .option('--name <name>', 'file name stem', 'tripline-signing')
    .action((options: { outDir: string; name: string }) => {
      const privateFile = path.join(options.outDir, `${options.name}.key`);
      const publicFile = path.join(options.outDir, `${options.name}.pub`);
      for (const file of [privateFile, publicFile])
        if (existsSync(file)) throw new Error(`${file} exists; refusing to overwrite a key`);
      const pair = generateSigningKeyPair();
      writeFileSync(privateFile, pair.privateKeyPem, { mode: 0o600 });
      writeFileSync(publicFile, pair.publicKeyPem);
      const created = {
        keyId: pair.keyId,
        privateKey: path.resolve(privateFile),
        publicKey: path.resolve(publicFile),
      };
      if (context.json()) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      else
        process.stdout.write(
          `key ${pair.keyId}\n  private ${created.privateKey} (keep it secret)\n  public  ${created.publicKey}\n`,
        );
    });
  keys
    .command('sign <manifest>')
    .description('sign a manifest file (the canonical JSON of its files) with a private key')
    .requiredOption('--private-key <file>', 'private key (PEM)')
    .option('--out <file>', 'write the signed manifest here (default: replace the input file)')
    .action((file: string, options: { privateKey: string; out?: string }) => {
      const signed = signManifest(readManifest(file), readFileSync(options.privateKey, 'utf8'));
      writeJson(options.out ?? file, signed);
      if (!context.json())
        process.stderr.write(`signed with key ${signed.signature!.keyId}: ${options.out ?? file}\n`);
    });
  keys
    .command('verify <manifest>')
    .description(
      'verify a manifest signature against trusted public keys; with --dir also the folder; exit 13 on failure',
    )
    .requiredOption('--public-key <file>', 'trusted public key(s) (PEM; a file may hold several)')
    .option('--dir <dir>', 'model folder that must match the manifest')
    .action(async (file: string, options: { publicKey: string; dir?: string }) => {
      const read = readManifest(file);
      const verdict = verifyManifestSignature(read, splitPemBlocks(readFileSync(options.publicKey, 'utf8')));
      const folder = options.dir && verdict.valid ? await verifyManifest(options.dir, read) : undefined;
      const ok = verdict.valid && (folder?.ok ?? true);
      if (context.json())
        process.stdout.write(`${JSON.stringify({ ok, signature: verdict, folder }, null, 2)}\n`);
      else {
        process.stdout.write(
          verdict.valid
            ? `signature valid (key ${verdict.keyId})\n`
            : `signature INVALID: ${verdict.reason}\n`,
        );
        if (folder) process.stdout.write(`${describeVerification(folder)}\n`);
      }
      if (!ok) process.exitCode = context.exit.verificationFailed;
    });
}
