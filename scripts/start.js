#!/usr/bin/env node
'use strict';
/**
 * `npm start`: build when the compiled output is missing or older than a source file, then run
 * the standalone app (every feature in one process, embedded storage under TRIPLINE_DATA_DIR).
 * Signals are forwarded so Ctrl-C shuts the app down cleanly.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'dist', 'apps', 'standalone', 'src', 'main.js');
const BUILD_INFO = path.join(ROOT, 'dist', '.tsbuildinfo');
const SOURCES = ['apps', 'libs'];

function newestSource() {
  let newest = 0;
  for (const directory of SOURCES) {
    for (const file of fs.readdirSync(path.join(ROOT, directory), { recursive: true }).map(String)) {
      if (!file.endsWith('.ts')) continue;
      newest = Math.max(newest, fs.statSync(path.join(ROOT, directory, file)).mtimeMs);
    }
  }
  return newest;
}

function needsBuild() {
  if (!fs.existsSync(ENTRY) || !fs.existsSync(BUILD_INFO)) return true;
  return newestSource() > fs.statSync(BUILD_INFO).mtimeMs;
}

if (needsBuild()) {
  process.stderr.write('tripline: building (first start or sources changed)...\n');
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const child = spawn(process.execPath, ['--enable-source-maps', ENTRY, ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
