import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** One file of a model artefact: its path inside the folder (POSIX separators), digest and size. */
export interface ManifestFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface ManifestSignature {
  /** First 16 hex digits of the SHA-256 of the signer's public key (DER, SPKI). */
  keyId: string;
  algorithm: 'ed25519';
  /** Base64 Ed25519 signature over canonicalManifestBytes(manifest). */
  value: string;
}

/** What a model folder is supposed to contain, byte for byte. Same shape as the registry's ArtefactManifest. */
export interface ArtefactManifest {
  files: ManifestFile[];
  signature?: ManifestSignature;
}

/**
 * A manifest file kept inside the folder it describes would change whenever it is rewritten, so
 * it is never listed in, nor counted as extra by, a manifest.
 */
export const MANIFEST_FILE_NAME = 'tripline-manifest.json';

export type IntegrityProblem =
  | { kind: 'modified'; path: string; expected: string; actual: string; expectedBytes: number; bytes: number }
  | { kind: 'missing'; path: string; expected: string }
  | { kind: 'extra'; path: string; actual: string }
  | { kind: 'signature'; path: string; reason: string };

export interface VerificationResult {
  ok: boolean;
  folder: string;
  checked: number;
  problems: IntegrityProblem[];
}

/** A folder that does not match its manifest; the message names every file and both digests. */
export class ArtefactIntegrityError extends Error {
  constructor(readonly result: VerificationResult) {
    super(describeVerification(result));
    this.name = 'ArtefactIntegrityError';
  }
}

/** SHA-256 of one file, streamed, so a multi-gigabyte weight file is never read whole. */
export function sha256File(file: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const hash = createHash('sha256');
    let bytes = 0;
    const stream = createReadStream(file);
    // A time limit stops the read between chunks, not only between files: one weight file may be
    // most of the bytes.
    const stop = () => stream.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', stop, { once: true });
    stream
      .on('data', (chunk) => {
        bytes += chunk.length;
        hash.update(chunk);
      })
      .on('error', (error) => {
        signal?.removeEventListener('abort', stop);
        reject(error);
      })
      .on('end', () => {
        signal?.removeEventListener('abort', stop);
        resolve({ sha256: hash.digest('hex'), bytes });
      });
  });
}

/**
 * Every regular file below `folder`, as sorted POSIX paths relative to it. Symbolic links are
 * followed only when they stay inside the folder: a link out of it would let a manifest vouch for
 * a file the folder's owner does not control.
 */
export async function listArtefactFiles(
  folder: string,
  maxFiles = Infinity,
  signal?: AbortSignal,
): Promise<string[]> {
  const root = path.resolve(folder);
  const rootInfo = await stat(root).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`model folder ${root} cannot be read: ${error.code ?? error.message}`);
  });
  if (!rootInfo.isDirectory()) throw new Error(`model folder ${root} is not a directory`);
  const files: string[] = [];
  const walk = async (directory: string): Promise<void> => {
    signal?.throwIfAborted();
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      signal?.throwIfAborted();
      const absolute = path.join(directory, entry.name);
      const relative = path.relative(root, absolute).split(path.sep).join('/');
      let info = await lstat(absolute);
      if (info.isSymbolicLink()) {
        const target = await realpath(absolute).catch(() => undefined);
        const inside = target !== undefined && !path.relative(root, target).startsWith('..');
        if (!inside) throw new Error(`model folder ${root}: ${relative} links outside the folder`);
        info = await stat(absolute);
      }
      if (info.isDirectory()) await walk(absolute);
      else if (info.isFile() && relative !== MANIFEST_FILE_NAME) files.push(relative);
      if (files.length > maxFiles)
        throw new Error(`model folder ${root} holds more than the ${maxFiles} files a model may have`);
    }
  };
  await walk(root);
  // Code-unit order, not locale order, so that a manifest sorts the same on every machine.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Bounds on what building or checking a manifest may read: a path typed by an API user may name any folder. */
export interface ManifestLimits {
  maxFiles: number;
  maxBytes: number;
  /** Milliseconds the whole listing and hashing may take. */
  timeoutMs: number;
}

/**
 * What hashing a registered model folder may cost: a model, not a home directory. One weight file
 * of a few GB hashes in well under a minute on ordinary disks.
 */
export const MANIFEST_LIMITS: ManifestLimits = {
  maxFiles: 1_000,
  maxBytes: 20 * 1024 ** 3,
  timeoutMs: 120_000,
};

/**
 * Runs `work` with an AbortSignal that fires after limits.timeoutMs with an error naming the
 * folder and the limit; without limits, the signal never fires.
 */
async function withinTime<T>(
  root: string,
  limits: ManifestLimits | undefined,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!limits) return work(undefined);
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new Error(`model folder ${root} could not be hashed within ${limits.timeoutMs} ms`)),
    limits.timeoutMs,
  );
  try {
    return await work(deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** The folder's files, refused past limits.maxFiles or limits.maxBytes before a byte is hashed. */
async function listWithinLimits(
  root: string,
  limits: ManifestLimits | undefined,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const listed = await listArtefactFiles(root, limits?.maxFiles, signal);
  if (limits) {
    let total = 0;
    for (const relative of listed) {
      signal?.throwIfAborted();
      total += (await stat(path.join(root, ...relative.split('/')))).size;
    }
    if (total > limits.maxBytes)
      throw new Error(
        `model folder ${root} holds ${total} bytes, more than the ${limits.maxBytes} a model may have`,
      );
  }
  return listed;
}

/** The manifest of a model folder: SHA-256 and size of every file, sorted by path. */
export async function buildManifest(folder: string, limits?: ManifestLimits): Promise<ArtefactManifest> {
  const root = path.resolve(folder);
  return withinTime(root, limits, async (signal) => {
    const files: ManifestFile[] = [];
    for (const relative of await listWithinLimits(root, limits, signal)) {
      files.push({ path: relative, ...(await sha256File(path.join(root, ...relative.split('/')), signal)) });
    }
    if (files.length === 0) throw new Error(`model folder ${root} holds no files`);
    return { files };
  });
}

/**
 * Compares a folder with its manifest: files whose digest differs, files the manifest lists that
 * are gone, and files that were added (a new file can change what a loader picks up, e.g. an
 * onnx/model.onnx next to the quantised file).
 */
export async function verifyManifest(
  folder: string,
  manifest: ArtefactManifest,
  limits?: ManifestLimits,
): Promise<VerificationResult> {
  const root = path.resolve(folder);
  return withinTime(root, limits, async (signal) => {
    const present = new Set(await listWithinLimits(root, limits, signal));
    const problems: IntegrityProblem[] = [];
    for (const file of manifest.files) {
      if (!present.has(file.path)) {
        problems.push({ kind: 'missing', path: file.path, expected: file.sha256 });
        continue;
      }
      present.delete(file.path);
      const actual = await sha256File(path.join(root, ...file.path.split('/')), signal);
      if (actual.sha256 !== file.sha256) {
        problems.push({
          kind: 'modified',
          path: file.path,
          expected: file.sha256,
          actual: actual.sha256,
          expectedBytes: file.bytes,
          bytes: actual.bytes,
        });
      }
    }
    for (const extra of [...present].sort()) {
      const actual = await sha256File(path.join(root, ...extra.split('/')), signal);
      problems.push({ kind: 'extra', path: extra, actual: actual.sha256 });
    }
    return { ok: problems.length === 0, folder: root, checked: manifest.files.length, problems };
  });
}

/** Throws ArtefactIntegrityError unless the folder matches the manifest. */
export async function assertManifest(
  folder: string,
  manifest: ArtefactManifest,
  limits?: ManifestLimits,
): Promise<VerificationResult> {
  const result = await verifyManifest(folder, manifest, limits);
  if (!result.ok) throw new ArtefactIntegrityError(result);
  return result;
}

export function describeProblem(problem: IntegrityProblem): string {
  switch (problem.kind) {
    case 'modified':
      return (
        `${problem.path}: expected sha256 ${problem.expected} (${problem.expectedBytes} bytes), ` +
        `found ${problem.actual} (${problem.bytes} bytes)`
      );
    case 'missing':
      return `${problem.path}: missing (expected sha256 ${problem.expected})`;
    case 'extra':
      return `${problem.path}: not in the manifest (found sha256 ${problem.actual})`;
    case 'signature':
      return `${problem.path}: signature refused: ${problem.reason}`;
  }
}

export function describeVerification(result: VerificationResult): string {
  if (result.ok) return `model folder ${result.folder} matches its manifest (${result.checked} files)`;
  const shown = result.problems.slice(0, 10).map(describeProblem);
  const more = result.problems.length - shown.length;
  return (
    `model folder ${result.folder} does not match its manifest (${result.problems.length} problem(s)): ` +
    shown.join('; ') +
    (more > 0 ? `; and ${more} more` : '')
  );
}
