import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'tl_';

/** A new API key: 256 random bits, so a fast hash is as safe to store as a slow one. */
export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, 10);
}
