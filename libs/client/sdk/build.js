#!/usr/bin/env node
'use strict';
/**
 * Builds the publishable @tripline/sdk (run by `npm pack` / `npm publish` as prepack): CommonJS and
 * .d.ts under dist/, with the v1 contracts it validates against compiled beside it (the
 * @tripline/contracts alias rewritten to a relative path), plus an ES module entry re-exporting
 * the same bindings, so `require` and `import` share one implementation and one state.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const bin = (name) => path.join(here, '..', '..', '..', 'node_modules', '.bin', name);
const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: here, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

fs.rmSync(path.join(here, 'dist'), { recursive: true, force: true });
run(bin('tsc'), ['-p', 'tsconfig.pack.json']);
run(bin('tsc-alias'), ['-p', 'tsconfig.pack.json']);

const entry = path.join(here, 'dist', 'libs', 'client', 'sdk', 'src', 'index.js');
const names = Object.keys(require(entry)).filter((name) => name !== 'default' && name !== '__esModule');
fs.writeFileSync(
  path.join(here, 'dist', 'index.mjs'),
  `import sdk from './libs/client/sdk/src/index.js';\nexport const { ${names.join(', ')} } = sdk;\n`,
);
fs.writeFileSync(path.join(here, 'dist', 'index.d.mts'), `export * from './libs/client/sdk/src/index.js';\n`);
