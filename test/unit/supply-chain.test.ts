import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import {
  ArtefactIntegrityError,
  assertManifest,
  buildManifest,
  canonicalJson,
  canonicalManifestBytes,
  generateSigningKeyPair,
  MANIFEST_FILE_NAME,
  signManifest,
  verifyArtefact,
  verifyManifest,
  verifyManifestSignature,
  type ArtefactManifest,
} from '@tripline/supply-chain';
import { temporaryDirectory } from '@tripline/testing';

const scratch = temporaryDirectory('tripline-supply-chain-');
after(() => scratch.remove());

describe('artefact manifests of a model folder', () => {
  const folder = path.join(scratch.path, 'sentiment-clean');
  let manifest: ArtefactManifest;

  before(async () => {
    writeModelFolder(folder, buildDemoModels().clean);
    manifest = await buildManifest(folder);
  });

  it('lists every file once, sorted, with the SHA-256 and size a separate hash gives', () => {
    const paths = manifest.files.map((file) => file.path);
    assert.deepEqual(paths, [
      'config.json',
      'onnx/model.onnx',
      'onnx/model_quantized.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
      'training-report.json',
    ]);
    for (const file of manifest.files) {
      const bytes = readFileSync(path.join(folder, file.path));
      assert.equal(file.bytes, bytes.length, file.path);
      assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'), file.path);
    }
  });

  it('an untouched folder verifies; a manifest file kept inside it is neither listed nor extra', async () => {
    writeFileSync(path.join(folder, MANIFEST_FILE_NAME), JSON.stringify(manifest));
    const result = await assertManifest(folder, manifest);
    assert.equal(result.ok, true);
    assert.equal(result.checked, manifest.files.length);
    assert.deepEqual(await buildManifest(folder), manifest);
  });

  it('a tampered weight file is refused with an error naming the file and both digests', async () => {
    const copy = path.join(scratch.path, 'tampered');
    writeModelFolder(copy, buildDemoModels().clean);
    appendFileSync(path.join(copy, 'onnx', 'model.onnx'), Buffer.from([0]));
    const expected = manifest.files.find((file) => file.path === 'onnx/model.onnx')!;
    const actual = createHash('sha256')
      .update(readFileSync(path.join(copy, 'onnx', 'model.onnx')))
      .digest('hex');
    await assert.rejects(
      () => assertManifest(copy, manifest),
      (error: unknown) => {
        assert.ok(error instanceof ArtefactIntegrityError);
        assert.match(error.message, /does not match its manifest \(1 problem\(s\)\)/);
        assert.ok(
          error.message.includes(`onnx/model.onnx: expected sha256 ${expected.sha256}`),
          error.message,
        );
        assert.ok(error.message.includes(`found ${actual} (${expected.bytes + 1} bytes)`), error.message);
        return true;
      },
    );
  });

  it('reports missing and extra files by name', async () => {
    const copy = path.join(scratch.path, 'reshaped');
    writeModelFolder(copy, buildDemoModels().clean);
    rmSync(path.join(copy, 'tokenizer_config.json'));
    mkdirSync(path.join(copy, 'extra'));
    writeFileSync(path.join(copy, 'extra', 'payload.bin'), 'x');
    const result = await verifyManifest(copy, manifest);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.problems.map((problem) => [problem.kind, problem.path]),
      [
        ['missing', 'tokenizer_config.json'],
        ['extra', 'extra/payload.bin'],
      ],
    );
  });

  it('refuses a symbolic link that leads out of the folder, and a folder that is not there', async () => {
    const copy = path.join(scratch.path, 'linked');
    mkdirSync(copy);
    writeFileSync(path.join(scratch.path, 'outside.bin'), 'secret');
    symlinkSync(path.join(scratch.path, 'outside.bin'), path.join(copy, 'weights.bin'));
    await assert.rejects(() => buildManifest(copy), /weights\.bin links outside the folder/);
    await assert.rejects(() => buildManifest(path.join(scratch.path, 'nope')), /cannot be read: ENOENT/);
  });
});

describe('Ed25519 manifest signatures', () => {
  const manifest: ArtefactManifest = {
    files: [
      { path: 'onnx/model.onnx', sha256: 'a'.repeat(64), bytes: 10 },
      { path: 'config.json', sha256: 'b'.repeat(64), bytes: 2 },
    ],
  };

  it('canonical JSON sorts keys and drops whitespace, so a reformatted manifest keeps its signature', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ y: 'x', x: null }] }), '{"a":[{"x":null,"y":"x"}],"b":1}');
    const keys = generateSigningKeyPair();
    const signed = signManifest(manifest, keys.privateKeyPem);
    const reordered = JSON.parse(
      JSON.stringify({
        signature: signed.signature,
        files: signed.files.map(({ bytes, sha256, path: file }) => ({ bytes, sha256, path: file })),
      }),
    ) as ArtefactManifest;
    assert.deepEqual(canonicalManifestBytes(reordered), canonicalManifestBytes(signed));
    assert.deepEqual(verifyManifestSignature(reordered, keys.publicKeyPem), {
      valid: true,
      keyId: keys.keyId,
    });
  });

  it('a good signature passes; a changed digest, a corrupted signature or another key fails', () => {
    const keys = generateSigningKeyPair();
    const signed = signManifest(manifest, keys.privateKeyPem);
    assert.equal(signed.signature?.keyId, keys.keyId);
    assert.match(keys.keyId, /^[0-9a-f]{16}$/);
    assert.equal(verifyManifestSignature(signed, keys.publicKeyPem).valid, true);

    const tampered = { ...signed, files: [{ ...signed.files[0], sha256: 'c'.repeat(64) }, signed.files[1]] };
    const verdict = verifyManifestSignature(tampered, keys.publicKeyPem);
    assert.equal(verdict.valid, false);
    assert.match((verdict as { reason: string }).reason, /does not match the manifest/);

    const value = Buffer.from(signed.signature!.value, 'base64');
    value[5] ^= 1;
    const corrupt = { ...signed, signature: { ...signed.signature!, value: value.toString('base64') } };
    assert.equal(verifyManifestSignature(corrupt, keys.publicKeyPem).valid, false);

    const stranger = generateSigningKeyPair();
    const foreign = verifyManifestSignature(signed, stranger.publicKeyPem);
    assert.equal(foreign.valid, false);
    assert.match((foreign as { reason: string }).reason, /not among the trusted keys/);
    // Trusting both keys accepts the one that signed.
    assert.equal(verifyManifestSignature(signed, [stranger.publicKeyPem, keys.publicKeyPem]).valid, true);
    assert.match(
      (verifyManifestSignature(manifest, keys.publicKeyPem) as { reason: string }).reason,
      /not signed/,
    );
  });

  it('a folder and manifest rewritten together pass the digests but not the signature', async () => {
    const folder = path.join(scratch.path, 'resigned');
    writeModelFolder(folder, buildDemoModels().clean);
    const keys = generateSigningKeyPair();
    const signed = signManifest(await buildManifest(folder), keys.privateKeyPem);
    assert.equal((await verifyArtefact(folder, signed, [keys.publicKeyPem])).ok, true);
    // An attacker who can write both the files and the stored manifest recomputes the digests...
    appendFileSync(path.join(folder, 'tokenizer.json'), ' ');
    const rewritten = { ...(await buildManifest(folder)), signature: signed.signature };
    assert.equal((await verifyManifest(folder, rewritten)).ok, true);
    // ...but cannot sign them.
    const result = await verifyArtefact(folder, rewritten, [keys.publicKeyPem]);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.problems.map((problem) => [problem.kind, problem.path]),
      [['signature', '(manifest)']],
    );
    assert.match(
      new ArtefactIntegrityError(result).message,
      /\(manifest\): signature refused: the signature by key/,
    );
  });

  it('refuses keys of another algorithm with a clear error', () => {
    assert.throws(() => signManifest(manifest, 'not a key'), /not a PEM private key/);
  });
});
