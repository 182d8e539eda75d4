import { eventually } from './services';

/** A model version as GET /v1/models/{id}/versions shows it to an operator or admin. */
export interface ListedVersion {
  id: string;
  version: string;
  adapter: { kind: string; path?: string };
  manifest: {
    files: { path: string; sha256: string; bytes: number }[];
    signature?: { keyId: string };
  } | null;
  manifest_state: 'pending' | 'ready' | 'failed' | null;
  manifest_error: string | null;
}

/** One model version as listed to the holder of `key` now. */
export async function listedVersion(
  baseUrl: string,
  key: string,
  modelId: string,
  version: string,
): Promise<ListedVersion> {
  const response = await fetch(`${baseUrl}/v1/models/${modelId}/versions`, {
    headers: { authorization: `Bearer ${key}` },
  });
  if (!response.ok) throw new Error(`GET versions answered ${response.status}: ${await response.text()}`);
  const { items } = (await response.json()) as { items: ListedVersion[] };
  const found = items.find((item) => item.version === version);
  if (!found) throw new Error(`model ${modelId} has no version ${version}`);
  return found;
}

/**
 * Waits until an evaluator has hashed a local version's folder (its manifest is no longer
 * pending) and returns the version as listed then: ready with its manifest, or failed with a reason.
 */
export async function settledManifest(
  baseUrl: string,
  key: string,
  modelId: string,
  version: string,
  timeoutMs = 60_000,
): Promise<ListedVersion> {
  return eventually(async () => {
    const found = await listedVersion(baseUrl, key, modelId, version);
    return found.manifest_state === 'pending' ? undefined : found;
  }, timeoutMs);
}
