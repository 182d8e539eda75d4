import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { OnnxRepresentations, resolveModelFolder } from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import type { EmbeddingEncoderSetting } from '@tripline/contracts';
import {
  ArtefactIntegrityError,
  MANIFEST_LIMITS,
  splitPemBlocks,
  verifyArtefact,
} from '@tripline/supply-chain';

/** Encoders kept loaded at once; the least recently used one is disposed beyond this. */
export const MAX_LOADED_ENCODERS = 4;
/** Texts per ONNX call: the consumer loop gets the event loop back between calls. */
export const ENCODER_BATCH_SIZE = 8;

/** Why an encoder was not used for a window: reported as the result's reason, not thrown further. */
export class EncoderUnavailable extends Error {}

interface Loaded {
  representations: OnnxRepresentations;
  /** Digest of the manifest the folder was checked against: a new manifest means a new check. */
  manifestKey: string;
  lastUsed: number;
}

/** The encoder a setting names, for messages and reports: `<model>@<version>`. */
export const encoderName = (setting: EmbeddingEncoderSetting) => `${setting.model_id}@${setting.version}`;

/**
 * Embeds a sample of a window's input texts with the encoder a model names (`embedding_encoder`):
 * a registered local (onnx) version, used through transformers.js `feature-extraction`, whose
 * `last_hidden_state` is mean-pooled over the real tokens.
 *
 * What it refuses, with the reason in the window's result rather than a crash:
 * - a version whose manifest is not `ready` (still being hashed, or failed): nothing unverified is
 *   loaded, as the evaluator refuses to run such a version;
 * - a folder outside TRIPLINE_MODELS_DIR (by real path, as every local model folder);
 * - a folder whose files differ from the manifest (checked here, on this process's own copy of the
 *   files, before the first load and whenever the registry sends a new manifest).
 *
 * Cost, bounded: the encoder is loaded lazily, on the first window that needs it, and kept (at
 * most MAX_LOADED_ENCODERS); each window embeds at most DRIFT_ENCODER_SAMPLE texts of the window
 * and of its reference, ENCODER_BATCH_SIZE at a time, on DRIFT_ENCODER_THREADS ONNX Runtime
 * threads (default 1, so the other core stays with the consumer), yielding to the event loop
 * between batches. The reference's vectors are kept for the next window when the reference did not
 * move (a pinned DRIFT_REFERENCE_PERIOD).
 */
@Injectable()
export class WindowEncoder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('WindowEncoder');
  private readonly loaded = new Map<string, Loaded>();
  /** Per model, the last reference embedded: its key and vectors. */
  private readonly references = new Map<string, { key: string; vectors: Float32Array[] }>();

  constructor(@Inject(ENVIRONMENT) private readonly environment: Environment) {}

  async beforeApplicationShutdown(): Promise<void> {
    const loaded = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(loaded.map((entry) => entry.representations.close()));
  }

  /** The sample size per window and per reference (DRIFT_ENCODER_SAMPLE). */
  get sampleSize(): number {
    return this.environment.DRIFT_ENCODER_SAMPLE;
  }

  /**
   * Vectors of the texts (at most `sampleSize` are used, in the order given: pass a random order).
   * `cacheKey` names the texts for reuse (a reference range); the same key gets the same vectors.
   * Throws EncoderUnavailable with the reason when the encoder may not or cannot be used.
   */
  async embed(
    modelId: string,
    setting: EmbeddingEncoderSetting,
    texts: readonly string[],
    cacheKey?: string,
  ): Promise<Float32Array[]> {
    const encoder = await this.encoder(setting);
    const key =
      cacheKey === undefined ? undefined : `${encoderName(setting)}|${encoder.manifestKey}|${cacheKey}`;
    const cached = key === undefined ? undefined : this.references.get(modelId);
    if (cached && cached.key === key) return cached.vectors;
    const sample = texts.slice(0, this.sampleSize);
    let vectors: Float32Array[];
    try {
      vectors = await encoder.representations.represent(sample);
    } catch (error) {
      throw new EncoderUnavailable(
        `encoder ${encoderName(setting)} failed on this window's texts: ${(error as Error).message}`,
      );
    }
    if (key !== undefined) this.references.set(modelId, { key, vectors });
    return vectors;
  }

  private async encoder(setting: EmbeddingEncoderSetting): Promise<Loaded> {
    const name = encoderName(setting);
    if (setting.manifest_state !== 'ready' || !setting.manifest) {
      throw new EncoderUnavailable(
        setting.manifest_state === 'failed'
          ? `encoder ${name} is not used: its manifest failed; name a version whose manifest is ready`
          : `encoder ${name} is not used yet: its manifest is still being computed (manifest_state "${setting.manifest_state}"); ` +
            'texts are embedded from the first window after it is ready',
      );
    }
    const manifestKey = createHash('sha256').update(JSON.stringify(setting.manifest)).digest('hex');
    const known = this.loaded.get(name);
    if (known && known.manifestKey === manifestKey) {
      known.lastUsed = Date.now();
      return known;
    }
    if (known) {
      this.loaded.delete(name);
      await known.representations.close();
    }
    let folder: string;
    try {
      folder = resolveModelFolder(setting.path, this.environment.TRIPLINE_MODELS_DIR);
    } catch (error) {
      throw new EncoderUnavailable(`encoder ${name}: ${(error as Error).message}`);
    }
    const keysFile = this.environment.TRIPLINE_MANIFEST_KEYS;
    const trusted = keysFile ? splitPemBlocks(await readFile(keysFile, 'utf8')) : undefined;
    let verification;
    try {
      verification = await verifyArtefact(folder, setting.manifest, trusted, MANIFEST_LIMITS);
    } catch (error) {
      throw new EncoderUnavailable(
        `encoder ${name}: its folder could not be checked: ${(error as Error).message}`,
      );
    }
    if (!verification.ok) {
      throw new EncoderUnavailable(
        `encoder ${name} is not loaded: ${new ArtefactIntegrityError(verification).message}`,
      );
    }
    const representations = new OnnxRepresentations(folder, {
      batchSize: ENCODER_BATCH_SIZE,
      threads: this.environment.DRIFT_ENCODER_THREADS,
      betweenBatches: () => new Promise((resolve) => setImmediate(resolve)),
    });
    const entry: Loaded = { representations, manifestKey, lastUsed: Date.now() };
    this.loaded.set(name, entry);
    await this.evict();
    this.logger.log(`encoder ${name}: folder ${folder} matches its manifest; loading on first use`);
    return entry;
  }

  private async evict(): Promise<void> {
    while (this.loaded.size > MAX_LOADED_ENCODERS) {
      const [oldest] = [...this.loaded.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      this.loaded.delete(oldest[0]);
      await oldest[1].representations.close();
    }
  }
}
