import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveModelFolder } from '@tripline/adapters';

describe('model folders are bounded by the real path of TRIPLINE_MODELS_DIR (issue 11)', () => {
  const scratch = realpathSync(mkdtempSync(path.join(tmpdir(), 'tripline-model-folder-')));
  const root = path.join(scratch, 'models');
  const outside = path.join(scratch, 'outside');
  mkdirSync(path.join(root, '..sneaky'), { recursive: true });
  mkdirSync(path.join(root, 'plain'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  symlinkSync(outside, path.join(root, 'escape'));
  symlinkSync(path.join(root, 'plain'), path.join(root, 'alias'));
  // The root itself reached through a link: what is inside stays inside.
  symlinkSync(root, path.join(scratch, 'models-link'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('accepts a real folder whose name starts with two dots', () => {
    assert.equal(resolveModelFolder('..sneaky', root), path.join(root, '..sneaky'));
  });

  it('refuses a symbolic link inside the root that points outside it', () => {
    assert.throws(() => resolveModelFolder('escape', root), /outside the models directory/);
    assert.throws(
      () => resolveModelFolder(path.join(root, 'escape', 'model'), root),
      /outside the models directory/,
    );
  });

  it('accepts a link that stays inside, and a root reached through a link', () => {
    assert.equal(resolveModelFolder('alias', root), path.join(root, 'plain'));
    assert.equal(resolveModelFolder('plain', path.join(scratch, 'models-link')), path.join(root, 'plain'));
  });

  it('refuses parent paths and the root itself, and bounds folders that do not exist yet', () => {
    assert.throws(() => resolveModelFolder('../outside', root), /outside the models directory/);
    assert.throws(() => resolveModelFolder('.', root), /outside the models directory/);
    assert.equal(resolveModelFolder('not-yet/there', root), path.join(root, 'not-yet', 'there'));
    assert.throws(() => resolveModelFolder('escape/not-yet', root), /outside the models directory/);
  });
});
