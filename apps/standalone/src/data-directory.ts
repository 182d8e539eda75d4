import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The embedded engines each assume they alone own their files; two processes on one data
 * directory would corrupt them. Refuse the second with a message that says what to do.
 */
export function claimDataDirectory(directory: string): void {
  const root = path.resolve(directory);
  mkdirSync(root, { recursive: true });
  const lockFile = path.join(root, 'standalone.pid');
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (holder && holder !== process.pid && isAlive(holder)) {
      process.stderr.write(
        `tripline: the data directory ${root} is in use by process ${holder}; stop it first or set TRIPLINE_DATA_DIR to another directory\n`,
      );
      process.exit(1);
    }
    writeFileSync(lockFile, String(process.pid));
  }
  process.on('exit', () => {
    try {
      if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) rmSync(lockFile);
    } catch {
      // already gone
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
