#!/usr/bin/env node
'use strict';
/**
 * Builds the Tripline console into dist/console (run by `npm run build`): type-checks the browser
 * sources with their own tsconfig (DOM, no Node), bundles them with uPlot into one script with
 * esbuild, and copies the page and the styles (uPlot's included). Nothing is fetched at run time:
 * the api and standalone apps serve these files at / and /console/<file>.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const out = path.join(root, 'dist', 'console');

const check = spawnSync(
  path.join(root, 'node_modules', '.bin', 'tsc'),
  ['-p', path.join(here, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
if (check.status !== 0) process.exit(check.status ?? 1);

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
require('esbuild').buildSync({
  entryPoints: [path.join(here, 'src', 'main.ts')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022'],
  outfile: path.join(out, 'console.js'),
  legalComments: 'linked',
  logLevel: 'warning',
});
const uplotCss = fs.readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
const ownCss = fs.readFileSync(path.join(here, 'src', 'console.css'), 'utf8');
fs.writeFileSync(path.join(out, 'console.css'), `${uplotCss}\n${ownCss}`);
fs.copyFileSync(path.join(here, 'src', 'index.html'), path.join(out, 'index.html'));
// uPlot is MIT-licensed: its notice travels with the bundle that contains it.
fs.copyFileSync(
  path.join(path.dirname(require.resolve('uplot/package.json')), 'LICENSE'),
  path.join(out, 'uplot.LICENSE.txt'),
);
