#!/usr/bin/env node
'use strict';
/**
 * Builds the publishable @tripline/cli (run by `npm pack` / `npm publish` as prepack): the CLI and
 * the libraries it imports compiled to CommonJS under dist/ (aliases rewritten to relative paths),
 * and dist/tripline.js as the `tripline` bin. Fails when a compiled file requires a package that
 * package.json does not declare, so the tarball never installs into a CLI that cannot start.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { builtinModules } = require('node:module');

const here = __dirname;
const bin = (name) => path.join(here, '..', '..', 'node_modules', '.bin', name);
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: here, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

const dist = path.join(here, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.pack.json']);
run(bin('tsc-alias'), ['-p', 'tsconfig.pack.json']);

const manifest = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const declared = new Set([
  ...Object.keys(manifest.dependencies ?? {}),
  ...Object.keys(manifest.peerDependencies ?? {}),
]);
const undeclared = new Set();
for (const file of fs.readdirSync(dist, { recursive: true }).map(String)) {
  if (!file.endsWith('.js')) continue;
  const source = fs.readFileSync(path.join(dist, file), 'utf8');
  for (const [, specifier] of source.matchAll(/(?:require|import)\(["']([^"'.][^"']*)["']\)/g)) {
    const name = specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0];
    if (!name.startsWith('node:') && !builtinModules.includes(name) && !declared.has(name))
      undeclared.add(`${name} (${file})`);
  }
}
if (undeclared.size > 0) {
  process.stderr.write(`apps/cli/package.json does not declare: ${[...undeclared].join(', ')}\n`);
  process.exit(1);
}
fs.writeFileSync(
  path.join(dist, 'tripline.js'),
  "#!/usr/bin/env node\n'use strict';\nrequire('./apps/cli/src/main.js');\n",
  { mode: 0o755 },
);
