import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  verifyManifest,
  type ArtefactManifest,
  type ManifestLimits,
  type VerificationResult,
} from './manifest';

/**
 * JSON with object keys sorted by UTF-16 code units and no whitespace (RFC 8785 for the values a
 * manifest holds: strings, integers, arrays, objects). A signature must not depend on the key
 * order or the indentation some tool chose when it rewrote the file.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`canonical JSON cannot hold the number ${value}`);
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
      throw new Error(`canonical JSON cannot hold ${typeof value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** The bytes a manifest signature covers: the canonical JSON of everything but the signature. */
export function canonicalManifestBytes(manifest: ArtefactManifest): Buffer {
  const { signature: _signature, ...signed } = manifest;
  return Buffer.from(canonicalJson(signed), 'utf8');
}

export interface SigningKeyPair {
  keyId: string;
  /** SPKI PEM: share it with whoever verifies. */
  publicKeyPem: string;
  /** PKCS#8 PEM: keep it secret. */
  privateKeyPem: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** First 16 hex digits of SHA-256 over the public key's DER: names a key without showing it. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function ed25519Key(pem: string, kind: 'private' | 'public'): KeyObject {
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    throw new Error(`not a PEM ${kind} key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`expected an Ed25519 ${kind} key, got a ${key.asymmetricKeyType ?? 'symmetric'} key`);
  return key;
}

/** The manifest with a fresh Ed25519 signature (any earlier signature is replaced). */
export function signManifest(manifest: ArtefactManifest, privateKeyPem: string): ArtefactManifest {
  const privateKey = ed25519Key(privateKeyPem, 'private');
  const value = sign(null, canonicalManifestBytes(manifest), privateKey).toString('base64');
  const { signature: _old, ...unsigned } = manifest;
  return {
    ...unsigned,
    signature: { keyId: keyIdOf(createPublicKey(privateKey)), algorithm: 'ed25519', value },
  };
}

export type SignatureVerdict =
  | { valid: true; keyId: string }
  | { valid: false; keyId?: string; reason: string };

/**
 * Checks the manifest's signature against trusted public keys. A manifest signed by a key not
 * among them is refused even if the signature is sound: anyone can sign with a key of their own.
 */
export function verifyManifestSignature(
  manifest: ArtefactManifest,
  trustedPublicKeyPems: string | readonly string[],
): SignatureVerdict {
  const signature = manifest.signature;
  if (!signature) return { valid: false, reason: 'the manifest is not signed' };
  if (signature.algorithm !== 'ed25519')
    return {
      valid: false,
      keyId: signature.keyId,
      reason: `unsupported signature algorithm "${signature.algorithm}"`,
    };
  const trusted = (
    typeof trustedPublicKeyPems === 'string' ? [trustedPublicKeyPems] : trustedPublicKeyPems
  ).map((pem) => ed25519Key(pem, 'public'));
  const key = trusted.find((candidate) => keyIdOf(candidate) === signature.keyId);
  if (!key) {
    return {
      valid: false,
      keyId: signature.keyId,
      reason: `signed by key ${signature.keyId}, which is not among the trusted keys (${trusted.map(keyIdOf).join(', ') || 'none'})`,
    };
  }
  const bytes = Buffer.from(signature.value, 'base64');
  if (bytes.length !== 64 || !verify(null, canonicalManifestBytes(manifest), key, bytes)) {
    return {
      valid: false,
      keyId: signature.keyId,
      reason: `the signature by key ${signature.keyId} does not match the manifest: it was changed after signing, or the signature is corrupt`,
    };
  }
  return { valid: true, keyId: signature.keyId };
}

/** The PEM blocks of a file that may hold several public keys, one after the other. */
export function splitPemBlocks(text: string): string[] {
  return text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
}

/**
 * The full check of a model folder: with trusted keys, the manifest's signature first (a manifest
 * rewritten where it is stored, digests and all, fails here), then every file's digest.
 */
export async function verifyArtefact(
  folder: string,
  manifest: ArtefactManifest,
  trustedPublicKeyPems?: readonly string[],
  limits?: ManifestLimits,
): Promise<VerificationResult> {
  const result = await verifyManifest(folder, manifest, limits);
  if (trustedPublicKeyPems === undefined) return result;
  const verdict = verifyManifestSignature(manifest, trustedPublicKeyPems);
  if (verdict.valid) return result;
  return {
    ...result,
    ok: false,
    problems: [{ kind: 'signature', path: '(manifest)', reason: verdict.reason }, ...result.problems],
  };
}
