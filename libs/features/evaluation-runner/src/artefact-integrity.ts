import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { resolveModelFolder } from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { alertEventSchema, type AlertEventMessage } from '@tripline/contracts';
import { ModelRegistry, type ModelVersion } from '@tripline/registry';
import {
  ArtefactIntegrityError,
  buildManifest,
  describeProblem,
  MANIFEST_LIMITS,
  splitPemBlocks,
  verifyArtefact,
  type VerificationResult,
} from '@tripline/supply-chain';
import { EventBus } from '@tripline/transport';

export const ARTEFACT_INTEGRITY_METRIC = 'artefact_integrity';
export const ARTEFACT_INTEGRITY_RULE = 'builtin-artefact-integrity';

type Check = 'load' | 'schedule';

/**
 * Checks local (onnx) model folders against the manifest stored with their version: before each
 * load, and every TRIPLINE_ARTEFACT_VERIFY_MS. A mismatch publishes a critical alert on the alerts
 * topic. Every evaluator replica checks its own copy of the files, without a lock: replicas may
 * have different disks, and the copy that matters is the one this process would load.
 */
@Injectable()
export class ArtefactIntegrity implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ArtefactIntegrity');
  /** Versions whose last check failed, with a key of what was wrong: re-alert only on a change. */
  private readonly failing = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private sweep?: Promise<unknown>;

  constructor(
    private readonly bus: EventBus,
    private readonly registry: ModelRegistry,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.environment.TRIPLINE_ARTEFACT_VERIFY_MS;
    if (every === 0) return;
    this.timer = setInterval(() => {
      // A sweep over large models can outlast the interval: never two at once.
      if (this.sweep) return;
      this.sweep = this.verifyAll()
        .catch((error) => this.logger.warn(`artefact check failed to run: ${String(error)}`))
        .finally(() => (this.sweep = undefined));
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweep;
  }

  /** True while the last check of this version found its folder changed. */
  isFailing(versionId: string): boolean {
    return this.failing.has(versionId);
  }

  /**
   * Verifies a version's folder before it is loaded. Throws ArtefactIntegrityError (and raises the
   * alert) on a mismatch, so the caller never loads it. A version registered before manifests
   * existed gets one computed from the folder now (trust on first use), with a warning.
   */
  async verifyBeforeLoad(version: ModelVersion): Promise<void> {
    if (version.adapter.kind !== 'onnx') return;
    const what = `model ${version.modelId} version ${version.version}`;
    // Runs of a pending version are not claimed; a reference version of a scan may still be one.
    if (version.manifestState === 'pending')
      throw new Error(`${what}: its manifest is still being computed; run it again once it is ready`);
    if (version.manifestState === 'failed')
      throw new Error(
        `${what} is not loaded: its manifest failed (${version.manifestError ?? 'no reason recorded'})`,
      );
    const folder = resolveModelFolder(version.adapter.path, this.environment.TRIPLINE_MODELS_DIR);
    const trusted = await this.trustedKeys();
    if (!version.manifest && trusted) {
      const result: VerificationResult = {
        ok: false,
        folder,
        checked: 0,
        problems: [
          {
            kind: 'signature',
            path: '(manifest)',
            reason: 'the version has no manifest, and signed ones are required',
          },
        ],
      };
      await this.record(version, result, 'load');
      throw new ArtefactIntegrityError(result);
    }
    if (!version.manifest) {
      version.manifest = await buildManifest(folder, MANIFEST_LIMITS);
      await this.registry.recordManifest(version.id, version.manifest);
      this.logger.warn(
        `model ${version.modelId} version ${version.version} had no manifest; recorded the folder as it is now (${version.manifest.files.length} files)`,
      );
      return;
    }
    const result = await verifyArtefact(folder, version.manifest, trusted, MANIFEST_LIMITS);
    await this.record(version, result, 'load');
    if (!result.ok) throw new ArtefactIntegrityError(result);
  }

  /** One periodic sweep: every onnx version with a manifest. */
  async verifyAll(): Promise<{ checked: number; failed: number }> {
    const versions = (await this.registry.allVersions()).filter(
      // Pending and failed manifests are not the known-good state of anything yet.
      (version) =>
        version.adapter.kind === 'onnx' &&
        version.manifest &&
        version.manifestState !== 'pending' &&
        version.manifestState !== 'failed',
    );
    let failed = 0;
    const trusted = await this.trustedKeys();
    for (const version of versions) {
      let result: VerificationResult;
      try {
        const folder = resolveModelFolder(
          (version.adapter as { path: string }).path,
          this.environment.TRIPLINE_MODELS_DIR,
        );
        result = await verifyArtefact(folder, version.manifest!, trusted, MANIFEST_LIMITS);
      } catch (error) {
        // A folder that is gone or unreadable cannot be loaded either: that is a finding, not a crash.
        result = {
          ok: false,
          folder: String((version.adapter as { path: string }).path),
          checked: 0,
          problems: [
            { kind: 'missing', path: '.', expected: `the model folder (${(error as Error).message})` },
          ],
        };
      }
      if (!result.ok) failed++;
      await this.record(version, result, 'schedule');
    }
    return { checked: versions.length, failed };
  }

  /** The public keys of TRIPLINE_MANIFEST_KEYS, read afresh each check so a rotated file takes effect. */
  private async trustedKeys(): Promise<string[] | undefined> {
    const file = this.environment.TRIPLINE_MANIFEST_KEYS;
    return file ? splitPemBlocks(await readFile(file, 'utf8')) : undefined;
  }

  private async record(version: ModelVersion, result: VerificationResult, check: Check): Promise<void> {
    const key = result.problems.map(describeProblem).join('\n');
    const before = this.failing.get(version.id);
    if (result.ok) {
      if (before === undefined) return;
      this.failing.delete(version.id);
      this.logger.log(`model ${version.modelId} version ${version.version} matches its manifest again`);
      await this.publish(version, result, check, 'resolved');
      return;
    }
    this.failing.set(version.id, key);
    this.logger.error(new ArtefactIntegrityError(result).message);
    // A refused load is always reported (each is a run that did not happen); a periodic check
    // only when what is wrong changed, so a tampered model does not page every ten minutes.
    if (check === 'load' || before !== key) await this.publish(version, result, check, 'firing');
  }

  private async publish(
    version: ModelVersion,
    result: VerificationResult,
    check: Check,
    state: 'firing' | 'resolved',
  ): Promise<void> {
    const message: AlertEventMessage = alertEventSchema.parse({
      event_id: randomUUID(),
      alert_id: `artefact-integrity:${version.id}`,
      fingerprint: createHash('sha256')
        .update(`${ARTEFACT_INTEGRITY_RULE}|${version.modelId}|${version.id}`)
        .digest('hex')
        .slice(0, 32),
      rule_id: ARTEFACT_INTEGRITY_RULE,
      rule_name: 'Model artefact integrity',
      model_id: version.modelId,
      state,
      severity: 'critical',
      metric: ARTEFACT_INTEGRITY_METRIC,
      // Files that differ from the manifest; the threshold is none.
      value: result.problems.length,
      threshold: 0,
      summary: (state === 'firing'
        ? `${check === 'load' ? 'Load refused' : 'Periodic check'}: ${new ArtefactIntegrityError(result).message}`
        : `model folder ${result.folder} matches its manifest again (${result.checked} files)`
      ).slice(0, 4_096),
      labels: {
        model_version: version.version,
        version_id: version.id,
        folder: result.folder.slice(0, 1_024),
        check,
        host: hostname().slice(0, 1_024),
        files: result.problems
          .map((problem) => problem.path)
          .join(',')
          .slice(0, 1_024),
      },
      timestamp: Date.now(),
    });
    try {
      await this.bus.publish('alerts', [{ key: version.modelId, value: JSON.stringify(message) }]);
    } catch (error) {
      // The refusal stands whether or not the alert got out; the log keeps the finding.
      this.logger.error(`could not publish the artefact-integrity alert: ${String(error)}`);
    }
  }
}
