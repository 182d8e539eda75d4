import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { readFile } from 'node:fs/promises';
import { DataSource, In, Repository, type EntityManager } from 'typeorm';
import { resolveModelFolder, type AdapterConfig } from '@tripline/adapters';
import { assertEgressAllowed, egressPolicyFromEnvironment } from '@tripline/egress';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { splitPemBlocks, verifyManifestSignature } from '@tripline/supply-chain';
import type { EmbeddingEncoderSetting, FeatureTypeName, ModelSettingsMessage } from '@tripline/contracts';
import { Outbox, type OutboxMessage } from '@tripline/outbox';
import {
  Model,
  ModelVersion,
  type ArtefactManifest,
  type EncoderReference,
  type ModelTask,
} from './entities';

export interface NewModel {
  id: string;
  name?: string;
  task: ModelTask;
  labels: string[];
  owner?: string;
  description?: string;
  ragAllowedSources?: string[] | null;
  featureTypes?: Record<string, FeatureTypeName>;
  embeddingEncoder?: EncoderReference | null;
}

export interface NewModelVersion {
  version: string;
  adapter: AdapterConfig;
  manifest?: ArtefactManifest | null;
  activate?: boolean;
  createdBy: string;
}

/** The outcome of hashing a pending version's folder. */
export type ManifestOutcome =
  | { state: 'ready'; manifest: ArtefactManifest }
  | { state: 'failed'; error: string };

@Injectable()
export class ModelRegistry {
  constructor(
    @InjectRepository(Model) private readonly models: Repository<Model>,
    @InjectRepository(ModelVersion) private readonly versions: Repository<ModelVersion>,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Tells the stream side (the ingestor, which has no PostgreSQL) the settings it needs of each
   * model: the feature types and the embedding encoder (its folder, manifest state and manifest),
   * on `models.v1`, stored by the sink in ClickHouse `model_settings`. The messages go into the
   * outbox inside the caller's transaction, so they commit with the change or not at all: the
   * topic never disagrees with PostgreSQL, and a registry write does not depend on Kafka being up
   * (the OutboxPublisher delivers them when it is). Call `outbox.wake()` after the commit.
   */
  private async appendSettings(
    manager: EntityManager,
    models: readonly Model[],
    deleted = false,
  ): Promise<void> {
    const messages: OutboxMessage[] = [];
    for (const model of models) {
      const message: ModelSettingsMessage = {
        model_id: model.id,
        feature_types: deleted ? {} : (model.featureTypes ?? {}),
        embedding_encoder: deleted ? null : await this.encoderSetting(manager, model.embeddingEncoder),
        ...(deleted ? { deleted: true } : {}),
        // The sink keeps the newest updated_at per model; a repeat delivery carries the same bytes.
        updated_at: Date.now(),
      };
      messages.push({ key: model.id, value: JSON.stringify(message) });
    }
    await this.outbox.append(manager, 'models', messages);
  }

  /** What the ingestor needs of an encoder version: its folder and, once hashed, its manifest. */
  private async encoderSetting(
    manager: EntityManager,
    reference: EncoderReference | null | undefined,
  ): Promise<EmbeddingEncoderSetting | null> {
    if (!reference) return null;
    const version = await manager.findOneBy(ModelVersion, {
      modelId: reference.modelId,
      version: reference.version,
    });
    // Gone (its model was deleted since): the stream side stops using it.
    if (!version || version.adapter.kind !== 'onnx') return null;
    // Versions registered before manifests were computed in the background have no state; with a
    // manifest they are ready, without one the ingestor cannot check the files and will not load them.
    const state = version.manifestState ?? (version.manifest ? 'ready' : 'pending');
    return {
      model_id: version.modelId,
      version: version.version,
      path: version.adapter.path,
      manifest_state: state,
      ...(state === 'ready' && version.manifest ? { manifest: version.manifest } : {}),
    };
  }

  /**
   * Checks an embedding encoder named on a model: a registered local (onnx) version whose manifest
   * did not fail. A pending manifest is accepted: the ingestor waits for it (the registry publishes
   * the settings again once it is ready).
   */
  private async checkEncoder(reference: EncoderReference): Promise<void> {
    const what = `embedding_encoder: model "${reference.modelId}" version "${reference.version}"`;
    const version = await this.versions.findOneBy({ modelId: reference.modelId, version: reference.version });
    if (!version)
      throw new BadRequestException(
        `${what} is not registered; register the encoder folder first with POST /v1/models/${reference.modelId}/versions`,
      );
    if (version.adapter.kind !== 'onnx')
      throw new BadRequestException(
        `${what} is an ${version.adapter.kind} endpoint; an encoder must be a local onnx folder ` +
          '(transformers.js feature-extraction, e.g. a model with a last_hidden_state output)',
      );
    if (version.manifestState === 'failed')
      throw new BadRequestException(
        `${what} cannot be used: its manifest failed (${version.manifestError ?? 'no reason recorded'})`,
      );
  }

  async create(model: NewModel): Promise<Model> {
    if (await this.models.existsBy({ id: model.id }))
      throw new ConflictException(`model "${model.id}" already exists`);
    if (model.embeddingEncoder) await this.checkEncoder(model.embeddingEncoder);
    const created = await this.dataSource.transaction(async (manager) => {
      const saved = await manager.save(
        manager.create(Model, {
          ...model,
          name: model.name ?? model.id,
          owner: model.owner ?? '',
          description: model.description ?? '',
          ragAllowedSources: model.ragAllowedSources ?? null,
          featureTypes: model.featureTypes ?? {},
          embeddingEncoder: model.embeddingEncoder ?? null,
          currentVersionId: null,
        }),
      );
      await this.appendSettings(manager, [saved]);
      return saved;
    });
    this.outbox.wake();
    return created;
  }

  list(): Promise<Model[]> {
    return this.models.find({ order: { id: 'ASC' } });
  }

  async get(id: string): Promise<Model> {
    const model = await this.models.findOneBy({ id });
    if (!model) throw new NotFoundException(`model "${id}" does not exist; list models with GET /v1/models`);
    return model;
  }

  async update(
    id: string,
    changes: Partial<
      Pick<
        Model,
        | 'name'
        | 'labels'
        | 'owner'
        | 'description'
        | 'ragAllowedSources'
        | 'featureTypes'
        | 'embeddingEncoder'
      >
    >,
  ): Promise<Model> {
    const model = await this.get(id);
    if (changes.embeddingEncoder) await this.checkEncoder(changes.embeddingEncoder);
    Object.assign(model, changes);
    const published = changes.featureTypes !== undefined || changes.embeddingEncoder !== undefined;
    const saved = await this.dataSource.transaction(async (manager) => {
      const stored = await manager.save(model);
      if (published) await this.appendSettings(manager, [stored]);
      return stored;
    });
    if (published) this.outbox.wake();
    return saved;
  }

  async remove(id: string): Promise<void> {
    const model = await this.get(id);
    // A model re-registered under the same id starts without the old overrides: the stream side
    // hears of the deletion from the same transaction that deletes it.
    const published = Object.keys(model.featureTypes ?? {}).length > 0 || Boolean(model.embeddingEncoder);
    await this.dataSource.transaction(async (manager) => {
      await manager.delete(Model, { id });
      if (published) await this.appendSettings(manager, [model], true);
    });
    if (published) this.outbox.wake();
  }

  async addVersion(modelId: string, request: NewModelVersion): Promise<ModelVersion> {
    const model = await this.get(modelId);
    if (request.adapter.kind !== 'onnx') {
      // Refused at registration, with the reason, rather than at 3 a.m. in a scheduled run.
      try {
        assertEgressAllowed(
          request.adapter.url,
          egressPolicyFromEnvironment({
            TRIPLINE_EGRESS_ALLOW_HOSTS: this.environment.TRIPLINE_EGRESS_ALLOW_HOSTS,
            TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: this.environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL,
          }),
        );
      } catch (error) {
        throw new BadRequestException(`adapter.url: ${(error as Error).message}`);
      }
    }
    if (await this.versions.existsBy({ modelId, version: request.version })) {
      throw new ConflictException(
        `model "${modelId}" already has version "${request.version}"; versions are immutable, register a new one`,
      );
    }
    const local = request.adapter.kind === 'onnx';
    if (request.adapter.kind === 'onnx')
      await this.checkLocalRegistration(request.adapter.path, request.manifest ?? null);
    const version = await this.versions.save(
      this.versions.create({
        modelId,
        version: request.version,
        adapter: request.adapter,
        manifest: request.manifest ?? null,
        // The folder is hashed (or checked against the given manifest) by an evaluator, after this
        // request: a path can name gigabytes, and the request must not wait for them.
        manifestState: local ? 'pending' : null,
        manifestError: null,
        manifestClaimedAt: null,
        createdBy: request.createdBy,
      }),
    );
    if (request.activate !== false)
      await this.models.update({ id: model.id }, { currentVersionId: version.id });
    return version;
  }

  /**
   * What a local version's registration checks in the request, all of it cheap: with
   * TRIPLINE_MANIFEST_KEYS set, that the given manifest is signed by a trusted key; and that the
   * path resolves (by real path) inside TRIPLINE_MODELS_DIR. Listing and hashing the folder come
   * later, in the background (claimPendingManifest).
   */
  private async checkLocalRegistration(
    configuredPath: string,
    given: ArtefactManifest | null,
  ): Promise<void> {
    const keysFile = this.environment.TRIPLINE_MANIFEST_KEYS;
    if (keysFile) {
      if (!given)
        throw new BadRequestException(
          `manifest: TRIPLINE_MANIFEST_KEYS is set, so an onnx version needs a manifest signed by a trusted key ` +
            '(tripline manifest build DIR, then tripline keys sign)',
        );
      const trusted = splitPemBlocks(await readFile(keysFile, 'utf8'));
      const verdict = verifyManifestSignature(given, trusted);
      if (!verdict.valid) throw new BadRequestException(`manifest.signature: ${verdict.reason}`);
    }
    try {
      resolveModelFolder(configuredPath, this.environment.TRIPLINE_MODELS_DIR);
    } catch (error) {
      throw new BadRequestException(`adapter.path: ${(error as Error).message}`);
    }
  }

  /**
   * Takes the oldest local version whose manifest is pending and not being hashed by a live
   * evaluator (no claim, or one older than `leaseMs`: its evaluator stopped). Replicas skip each
   * other's rows.
   */
  async claimPendingManifest(leaseMs: number): Promise<ModelVersion | null> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected count].
    const [rows]: [{ id: string }[], number] = await this.dataSource.query(
      `UPDATE model_versions SET manifest_claimed_at = now()
       WHERE id = (
         SELECT id FROM model_versions
         WHERE manifest_state = 'pending'
           AND (manifest_claimed_at IS NULL OR manifest_claimed_at < now() - make_interval(secs => $1))
         ORDER BY created_at, id LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       RETURNING id`,
      [leaseMs / 1000],
    );
    return rows.length ? this.versions.findOneBy({ id: rows[0].id }) : null;
  }

  /**
   * Records the outcome of hashing a pending version; false when it was no longer pending. Models
   * that name the version as their embedding encoder get their settings published again, so the
   * ingestor learns that it may load it (or that it must not).
   */
  async finishManifest(versionId: string, outcome: ManifestOutcome): Promise<boolean> {
    const users = await this.dataSource.transaction(async (manager) => {
      const result = await manager.update(
        ModelVersion,
        { id: versionId, manifestState: 'pending' },
        outcome.state === 'ready'
          ? { manifestState: 'ready', manifest: outcome.manifest, manifestError: null }
          : { manifestState: 'failed', manifestError: outcome.error.slice(0, 2_000) },
      );
      if ((result.affected ?? 0) === 0) return null;
      const encoderUsers = await this.encoderUsers(manager, versionId);
      await this.appendSettings(manager, encoderUsers);
      return encoderUsers;
    });
    if (users && users.length > 0) this.outbox.wake();
    return users !== null;
  }

  /** Every model whose embedding encoder is this version. */
  private async encoderUsers(manager: EntityManager, versionId: string): Promise<Model[]> {
    const version = await manager.findOneBy(ModelVersion, { id: versionId });
    if (!version) return [];
    return manager
      .createQueryBuilder(Model, 'model')
      .where(`model.embedding_encoder ->> 'modelId' = :modelId`, { modelId: version.modelId })
      .andWhere(`model.embedding_encoder ->> 'version' = :version`, { version: version.version })
      .getMany();
  }

  /**
   * Refuses to use a version whose manifest failed (the folder could not be hashed, or did not
   * match the given manifest), naming the reason. A pending one is refused too when `pending` is
   * 'refuse' (a scan in the request cannot wait); runs wait for it instead (the run queue skips it).
   */
  assertManifestUsable(version: ModelVersion, pending: 'refuse' | 'allow'): void {
    const what = `model "${version.modelId}" version "${version.version}"`;
    if (version.manifestState === 'failed')
      throw new ConflictException(
        `${what} cannot be used: its manifest failed (${version.manifestError ?? 'no reason recorded'}); ` +
          'register a new version once the folder is fixed',
      );
    if (version.manifestState === 'pending' && pending === 'refuse')
      throw new ConflictException(
        `${what}: its manifest is still being computed (manifest_state "pending"); ` +
          `retry when GET /v1/models/${version.modelId}/versions shows it "ready"`,
      );
  }

  // The reads below take the caller's transaction (`manager`) for the run queue, which reads the
  // registry while it holds its claim or tick lock: the embedded PostgreSQL serves one connection,
  // so a read on another connection inside that transaction would wait for it forever.

  /** A model, or null when it is not (or no longer) registered. */
  findModel(id: string, manager?: EntityManager): Promise<Model | null> {
    return (manager?.getRepository(Model) ?? this.models).findOneBy({ id });
  }

  /** The ids among `versionIds` of versions whose manifest is still pending (being hashed). */
  async pendingManifests(versionIds: readonly string[], manager?: EntityManager): Promise<Set<string>> {
    if (versionIds.length === 0) return new Set();
    const pending = await (manager?.getRepository(ModelVersion) ?? this.versions).findBy({
      id: In([...new Set(versionIds)]),
      manifestState: 'pending',
    });
    return new Set(pending.map((version) => version.id));
  }

  /** The version string of each of these version ids that is still registered. */
  async versionNames(versionIds: readonly string[], manager?: EntityManager): Promise<Map<string, string>> {
    if (versionIds.length === 0) return new Map();
    const versions = await (manager?.getRepository(ModelVersion) ?? this.versions).findBy({
      id: In([...new Set(versionIds)]),
    });
    return new Map(versions.map((version) => [version.id, version.version]));
  }

  listVersions(modelId: string): Promise<ModelVersion[]> {
    return this.versions.find({ where: { modelId }, order: { createdAt: 'ASC' } });
  }

  /** A version by id, or null when it is not (or no longer) registered. */
  findVersion(versionId: string): Promise<ModelVersion | null> {
    return this.versions.findOneBy({ id: versionId });
  }

  /** Every version of every model, oldest first (the artefact sweep). */
  allVersions(): Promise<ModelVersion[]> {
    return this.versions.find({ order: { createdAt: 'ASC' } });
  }

  /** Records the manifest of a version first loaded without one (the folder as it is now). */
  async recordManifest(versionId: string, manifest: ArtefactManifest): Promise<void> {
    await this.versions.update({ id: versionId }, { manifest });
  }

  /** The stored RAG allow-list of each model (null: none set); models that do not exist are absent. */
  async ragAllowListsOf(modelIds: readonly string[]): Promise<Map<string, string[] | null>> {
    if (modelIds.length === 0) return new Map();
    const models = await this.models.find({
      select: { id: true, ragAllowedSources: true },
      where: { id: In([...modelIds]) },
    });
    return new Map(models.map((model) => [model.id, model.ragAllowedSources]));
  }

  /**
   * The known-good version a differential trigger scan of `modelId` compares with: `version` of
   * `referenceModelId`, or its current version. Never the version being scanned.
   */
  async referenceVersion(modelId: string, referenceModelId: string, version?: string): Promise<ModelVersion> {
    const scanned = await this.currentVersion(modelId);
    let reference: ModelVersion;
    if (version !== undefined) {
      await this.get(referenceModelId);
      const found = await this.versions.findOneBy({ modelId: referenceModelId, version });
      if (!found) {
        const known = (await this.listVersions(referenceModelId)).map((v) => `"${v.version}"`).join(', ');
        throw new BadRequestException(
          `reference.version: model "${referenceModelId}" has no version "${version}" (it has ${known || 'none'})`,
        );
      }
      reference = found;
    } else {
      if (referenceModelId === modelId) {
        throw new BadRequestException(
          `reference.version: the reference is model "${modelId}" itself; name the earlier, known-good version to compare with`,
        );
      }
      reference = await this.currentVersion(referenceModelId);
    }
    if (reference.id === scanned.id) {
      throw new BadRequestException(
        `reference: version "${reference.version}" is the version being scanned; name a known-good other version`,
      );
    }
    return reference;
  }

  async currentVersion(modelId: string): Promise<ModelVersion> {
    const model = await this.get(modelId);
    if (!model.currentVersionId)
      throw new ConflictException(
        `model "${modelId}" has no version yet; register one with POST /v1/models/${modelId}/versions`,
      );
    return this.versions.findOneByOrFail({ id: model.currentVersionId });
  }
}
