import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { readFile } from 'node:fs/promises';
import { Repository } from 'typeorm';
import {
  assertEgressAllowed,
  egressPolicyFromEnvironment,
  resolveModelFolder,
  type AdapterConfig,
} from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import {
  assertManifest,
  buildManifest,
  splitPemBlocks,
  verifyManifestSignature,
} from '@tripline/supply-chain';
import { Model, ModelVersion, type ArtefactManifest, type ModelTask } from './entities';

export interface NewModel {
  id: string;
  name?: string;
  task: ModelTask;
  labels: string[];
  owner?: string;
  description?: string;
  ragAllowedSources?: string[] | null;
}

export interface NewModelVersion {
  version: string;
  adapter: AdapterConfig;
  manifest?: ArtefactManifest | null;
  activate?: boolean;
  createdBy: string;
}

/** What hashing a folder at registration may cost: a model, not a home directory. */
const MANIFEST_LIMITS = { maxFiles: 1_000, maxBytes: 20 * 1024 ** 3, timeoutMs: 120_000 };

@Injectable()
export class ModelRegistry {
  constructor(
    @InjectRepository(Model) private readonly models: Repository<Model>,
    @InjectRepository(ModelVersion) private readonly versions: Repository<ModelVersion>,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  async create(model: NewModel): Promise<Model> {
    if (await this.models.existsBy({ id: model.id }))
      throw new ConflictException(`model "${model.id}" already exists`);
    return this.models.save(
      this.models.create({
        ...model,
        name: model.name ?? model.id,
        owner: model.owner ?? '',
        description: model.description ?? '',
        ragAllowedSources: model.ragAllowedSources ?? null,
        currentVersionId: null,
      }),
    );
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
    changes: Partial<Pick<Model, 'name' | 'labels' | 'owner' | 'description' | 'ragAllowedSources'>>,
  ): Promise<Model> {
    const model = await this.get(id);
    Object.assign(model, changes);
    return this.models.save(model);
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.models.delete({ id });
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
    const manifest =
      request.adapter.kind === 'onnx'
        ? await this.checkedManifest(request.adapter.path, request.manifest ?? null)
        : (request.manifest ?? null);
    const version = await this.versions.save(
      this.versions.create({
        modelId,
        version: request.version,
        adapter: request.adapter,
        manifest,
        createdBy: request.createdBy,
      }),
    );
    if (request.activate !== false)
      await this.models.update({ id: model.id }, { currentVersionId: version.id });
    return version;
  }

  /**
   * The manifest a local model is registered with: the given one, once the folder matches it now,
   * else the folder's own, computed now, so that every later load and the periodic check compare
   * against what was there at registration. With TRIPLINE_MANIFEST_KEYS set, only a manifest
   * signed by one of those keys is accepted.
   */
  private async checkedManifest(
    configuredPath: string,
    given: ArtefactManifest | null,
  ): Promise<ArtefactManifest> {
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
      const folder = resolveModelFolder(configuredPath, this.environment.TRIPLINE_MODELS_DIR);
      if (!given) return await buildManifest(folder, MANIFEST_LIMITS);
      await assertManifest(folder, given);
      return given;
    } catch (error) {
      throw new BadRequestException(`adapter.path: ${(error as Error).message}`);
    }
  }

  listVersions(modelId: string): Promise<ModelVersion[]> {
    return this.versions.find({ where: { modelId }, order: { createdAt: 'ASC' } });
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
