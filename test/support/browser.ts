import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium: playwright-core drives it; no browser is downloaded by npm. */
export const CHROMIUM = process.env.TRIPLINE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Installs Debian's `chromium` when it is missing, the way deploy/local/stack.js provisions
 * PostgreSQL and test/support/prometheus.ts provisions Prometheus: only as root with apt-get, and a
 * failed install retried once after refreshing stale package lists.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const hasAptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (!hasAptGet || process.getuid?.() !== 0)
    throw new Error(
      `${CHROMIUM} is missing and cannot be installed (needs root and apt-get): apt-get install chromium`,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], {
      env,
      encoding: 'utf8',
    });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
    result = install();
  }
  if (result.status !== 0 || !existsSync(CHROMIUM))
    throw new Error(`apt-get install chromium failed:\n${(result.stdout ?? '') + (result.stderr ?? '')}`);
}

export function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where a test leaves files for a person to review (git-ignored): test-output/<name>/. */
export function testOutputDirectory(name: string): string {
  const directory = path.resolve(
    process.env.TRIPLINE_TEST_OUTPUT ?? path.join(__dirname, '..', '..', '..', 'test-output'),
    name,
  );
  mkdirSync(directory, { recursive: true });
  return directory;
}
