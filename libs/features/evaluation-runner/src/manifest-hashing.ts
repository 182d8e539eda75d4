import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { resolveModelFolder } from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { ModelRegistry, type ManifestOutcome, type ModelVersion } from '@tripline/registry';
import {
  ArtefactIntegrityError,
  buildManifest,
  MANIFEST_LIMITS,
  verifyManifest,
} from '@tripline/supply-chain';

/**
 * A claim older than this belongs to an evaluator that stopped: hashing is cut at
 * MANIFEST_LIMITS.timeoutMs, so a live one has finished by then.
 */
export const MANIFEST_CLAIM_LEASE_MS = MANIFEST_LIMITS.timeoutMs + 30_000;

/**
 * Computes the manifests of newly registered local (onnx) versions in the background, where the
 * model files are: registration only checks the path and answers; this job lists and hashes the
 * folder within MANIFEST_LIMITS (files, bytes, time), or checks it against the manifest the
 * version was registered with, and records `ready` or `failed` with the reason. Replicas share
 * the work through a claim in PostgreSQL. Until then the version's runs wait in the queue.
 */
@Injectable()
export class ManifestHashing implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ManifestHashing');
  private stopping = false;
  private loop?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly registry: ModelRegistry,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.work();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  /** Hashes pending versions until none is left; what the loop does on every poll. */
  async drain(): Promise<number> {
    let done = 0;
    for (;;) {
      const version = await this.registry.claimPendingManifest(MANIFEST_CLAIM_LEASE_MS);
      if (!version) return done;
      const outcome = await this.hash(version);
      await this.registry.finishManifest(version.id, outcome);
      done++;
      const what = `model ${version.modelId} version ${version.version}`;
      if (outcome.state === 'ready')
        this.logger.log(`${what}: manifest ready (${outcome.manifest.files.length} files)`);
      else this.logger.warn(`${what}: manifest failed: ${outcome.error}`);
    }
  }

  /** The outcome for one version; never throws (a problem with the folder is a failed manifest). */
  async hash(version: ModelVersion): Promise<ManifestOutcome> {
    try {
      if (version.adapter.kind !== 'onnx')
        throw new Error('only local (onnx) versions have a folder to hash');
      const folder = resolveModelFolder(version.adapter.path, this.environment.TRIPLINE_MODELS_DIR);
      if (!version.manifest)
        return { state: 'ready', manifest: await buildManifest(folder, MANIFEST_LIMITS) };
      const result = await verifyManifest(folder, version.manifest, MANIFEST_LIMITS);
      if (!result.ok) return { state: 'failed', error: new ArtefactIntegrityError(result).message };
      return { state: 'ready', manifest: version.manifest };
    } catch (error) {
      return { state: 'failed', error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      let pause = this.environment.TRIPLINE_EVALUATOR_POLL_MS;
      try {
        await this.drain();
      } catch (error) {
        this.logger.warn(`pending manifests unavailable: ${String(error)}`);
        pause *= 5;
      }
      if (this.stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
