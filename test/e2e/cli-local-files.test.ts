import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BACKDOOR_TRIGGER,
  buildDemoModels,
  writeModelFolder,
  type DemoModelSet,
} from '@tripline/demo-models';
import { temporaryDirectory, writeServerModulesGuard } from '@tripline/testing';

const CLI = path.resolve(__dirname, '..', '..', 'apps', 'cli', 'src', 'main.js');

/** Runs the compiled CLI; no server is involved in anything this file tests. */
function tripline(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return triplineWith([], args);
}

function triplineWith(
  nodeArguments: string[],
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArguments, CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', TRIPLINE_URL: 'http://127.0.0.1:9' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const scratch = temporaryDirectory('tripline-cli-files-');
const file = (name: string) => path.join(scratch.path, name);
let demo: DemoModelSet;

before(() => {
  demo = buildDemoModels({ poisonShare: 0.03 });
  const poisoned = new Set(demo.poisonedTrain.poisonedIndices);
  const lines = demo.poisonedTrain.rows.map((row, i) =>
    JSON.stringify({
      id: i,
      text: row.text,
      label: row.label,
      source: poisoned.has(i) ? 'vendor-x' : row.domain,
    }),
  );
  // Two broken lines in the middle: each is reported by line, the rest is still scanned.
  lines.splice(100, 0, '{"text": "no label here"}', 'not json at all');
  writeFileSync(file('poisoned.jsonl'), `${lines.join('\n')}\n`);
  const csv = demo.train.map((row) => `"${row.text.replace(/"/g, '""')}",${row.label},${row.domain}`);
  writeFileSync(file('clean.csv'), `text,label,source\n${csv.join('\n')}\n`);
  writeModelFolder(file('sentiment-clean'), demo.clean);
});
after(() => scratch.remove());

describe('tripline scan dataset on local files', () => {
  it('finds the poisoned rows of a JSONL file, reports bad lines by number, writes HTML, and exits 12', async () => {
    const { code, stdout, stderr } = await tripline(
      'scan',
      'dataset',
      file('poisoned.jsonl'),
      '--json',
      '--out',
      file('report.html'),
    );
    assert.equal(code, 12, stderr);
    const report = JSON.parse(stdout) as {
      rows: number;
      suspicious: number;
      problems: { count: number; first: { line: number; field: string; message: string }[] };
      top: { line: number; text: string; suspicious: boolean }[];
      sources: { source: string; suspicious: number }[];
    };
    assert.equal(report.rows, 2_400);
    assert.equal(report.suspicious, 72);
    assert.deepEqual(
      report.problems.first.map((problem) => [problem.line, problem.field]),
      [
        [101, 'label'],
        [102, '(line)'],
      ],
    );
    assert.match(report.problems.first[0].message, /expected a label \(it is missing\)/);
    assert.ok(report.top.slice(0, 72).every((row) => row.suspicious && row.text.includes(BACKDOOR_TRIGGER)));
    assert.equal(report.sources[0].source, 'vendor-x');
    const html = readFileSync(file('report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /72 suspicious row\(s\)/);
    assert.ok(html.includes(`<code>${BACKDOOR_TRIGGER}</code>`));
  });

  it('exits 0 on the clean CSV, with the model folder as representation, and says so in words', async () => {
    const { code, stdout, stderr } = await tripline(
      'scan',
      'dataset',
      file('clean.csv'),
      '--model',
      file('sentiment-clean'),
    );
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /^2400 rows scanned \(negative 1200, positive 1200\); representation: mean-pooled last_hidden_state/,
    );
    assert.match(stdout, /\n0 suspicious row\(s\)/);
    assert.ok(!stdout.includes(BACKDOOR_TRIGGER));
  });

  it('refuses a model folder that no longer matches the manifest kept inside it (exit 13)', async () => {
    const folder = file('tampered-model');
    writeModelFolder(folder, demo.clean);
    const built = await tripline(
      'manifest',
      'build',
      folder,
      '--out',
      path.join(folder, 'tripline-manifest.json'),
    );
    assert.equal(built.code, 0, built.stderr);
    appendFileSync(path.join(folder, 'tokenizer.json'), ' ');
    const { code, stderr } = await tripline('scan', 'dataset', file('clean.csv'), '--model', folder);
    assert.equal(code, 13);
    assert.match(
      stderr,
      /does not match its manifest \(1 problem\(s\)\): tokenizer\.json: expected sha256 [0-9a-f]{64}/,
    );
  });

  it('reads CSV and JSONL without loading Nest, TypeORM or kafkajs, and names the line where a file stops being readable', async () => {
    // Preloaded into the CLI's process: resolving any of these fails the command.
    const guard = writeServerModulesGuard(file('server-modules-guard.js'));
    const guarded = (...args: string[]) => triplineWith(['--require', guard], args);

    const clean = await guarded('scan', 'dataset', file('clean.csv'), '--json');
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal((JSON.parse(clean.stdout) as { rows: number }).rows, 2_400);
    const poisoned = await guarded('scan', 'dataset', file('poisoned.jsonl'), '--json');
    assert.equal(poisoned.code, 12, poisoned.stderr);

    const rows = demo.train.slice(0, 60).map((row) => `"${row.text.replace(/"/g, '""')}",${row.label}`);
    writeFileSync(
      file('broken.csv'),
      `\uFEFFtext,label\r\n${rows.join('\r\n')}\r\n"never closed,negative\r\nmore,positive\r\n`,
    );
    const broken = await guarded('scan', 'dataset', file('broken.csv'), '--json');
    assert.equal(broken.code, 0, broken.stderr);
    const report = JSON.parse(broken.stdout) as {
      rows: number;
      problems: { first: { line: number; field: string; message: string }[] };
    };
    assert.equal(report.rows, 60, 'every row before the broken quote');
    assert.equal(report.problems.first.length, 1);
    assert.deepEqual([report.problems.first[0].line, report.problems.first[0].field], [62, '(csv)']);
    assert.match(report.problems.first[0].message, /never closed .*; the file was read up to here/);

    const huge = `${JSON.stringify({ text: 'x'.repeat(9 * 1024 * 1024), label: 'a' })}\n`;
    const small = [1, 2, 3].map((i) => JSON.stringify({ text: `row ${i}`, label: 'a' }));
    writeFileSync(file('huge.jsonl'), `${small.join('\n')}\n${huge}`);
    const long = await guarded('scan', 'dataset', file('huge.jsonl'), '--json');
    assert.equal(long.code, 0, long.stderr);
    const longReport = JSON.parse(long.stdout) as typeof report;
    assert.equal(longReport.rows, 3);
    assert.deepEqual(
      longReport.problems.first.map((problem) => [problem.line, problem.field]),
      [[4, '(line)']],
    );
    assert.match(
      longReport.problems.first[0].message,
      /longer than the limit of 8388608 bytes per line \(8 MiB\)/,
    );
  });

  it('rejects a file with no usable row (exit 6), naming the lines', async () => {
    writeFileSync(file('empty.jsonl'), '{"label": "x"}\n');
    const { code, stderr } = await tripline('scan', 'dataset', file('empty.jsonl'));
    assert.equal(code, 6);
    assert.match(stderr, /line 1: text: expected non-empty text \(it is missing\)/);
  });
});

describe('tripline manifest and keys', () => {
  it('signs a manifest with a new key, verifies it with the folder, and fails a bad signature or a changed file (exit 13)', async () => {
    const folder = file('signed-model');
    writeModelFolder(folder, demo.clean);
    const created = await tripline(
      'keys',
      'create',
      '--out-dir',
      scratch.path,
      '--name',
      'release',
      '--json',
    );
    assert.equal(created.code, 0, created.stderr);
    const { keyId } = JSON.parse(created.stdout) as { keyId: string };
    assert.equal(statSync(file('release.key')).mode & 0o777, 0o600);
    assert.equal((await tripline('keys', 'create', '--out-dir', scratch.path, '--name', 'release')).code, 1);

    assert.equal((await tripline('manifest', 'build', folder, '--out', file('manifest.json'))).code, 0);
    const signed = await tripline(
      'keys',
      'sign',
      file('manifest.json'),
      '--private-key',
      file('release.key'),
    );
    assert.equal(signed.code, 0, signed.stderr);
    const manifest = JSON.parse(readFileSync(file('manifest.json'), 'utf8')) as {
      files: { path: string }[];
      signature: { keyId: string; value: string };
    };
    assert.equal(manifest.signature.keyId, keyId);

    const good = await tripline(
      'keys',
      'verify',
      file('manifest.json'),
      '--public-key',
      file('release.pub'),
      '--dir',
      folder,
    );
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(
      good.stdout,
      new RegExp(`signature valid \\(key ${keyId}\\)\\n.*matches its manifest \\(6 files\\)`),
    );

    const forged = { ...manifest, files: manifest.files.slice(1) };
    writeFileSync(file('forged.json'), JSON.stringify(forged));
    const bad = await tripline('keys', 'verify', file('forged.json'), '--public-key', file('release.pub'));
    assert.equal(bad.code, 13);
    assert.match(
      bad.stdout,
      /signature INVALID: the signature by key [0-9a-f]{16} does not match the manifest/,
    );

    await tripline('keys', 'create', '--out-dir', scratch.path, '--name', 'stranger');
    const stranger = await tripline(
      'keys',
      'verify',
      file('manifest.json'),
      '--public-key',
      file('stranger.pub'),
    );
    assert.equal(stranger.code, 13);
    assert.match(stranger.stdout, /not among the trusted keys/);

    appendFileSync(path.join(folder, 'onnx', 'model.onnx'), Buffer.from([1]));
    const changed = await tripline(
      'keys',
      'verify',
      file('manifest.json'),
      '--public-key',
      file('release.pub'),
      '--dir',
      folder,
    );
    assert.equal(changed.code, 13);
    assert.match(
      changed.stdout,
      /onnx\/model\.onnx: expected sha256 [0-9a-f]{64} \(\d+ bytes\), found [0-9a-f]{64}/,
    );
    assert.ok(existsSync(file('release.pub')));
  });
});
