import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { assertEgressAllowed, egressPolicyFromEnvironment, type AdapterConfig } from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { Model, ModelVersion, type ArtefactManifest, type ModelTask } from './entities';

export interface NewModel {
  id: string;
  name?: string;
  task: ModelTask;
  labels: string[];
  owner?: string;
  description?: string;
}

export interface NewModelVersion {
  version: string;
  adapter: AdapterConfig;
  manifest?: ArtefactManifest | null;
  activate?: boolean;
  createdBy: string;
}

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
    changes: Partial<Pick<Model, 'name' | 'labels' | 'owner' | 'description'>>,
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
    const version = await this.versions.save(
      this.versions.create({
        modelId,
        version: request.version,
        adapter: request.adapter,
        manifest: request.manifest ?? null,
        createdBy: request.createdBy,
      }),
    );
    if (request.activate !== false)
      await this.models.update({ id: model.id }, { currentVersionId: version.id });
    return version;
  }

  listVersions(modelId: string): Promise<ModelVersion[]> {
    return this.versions.find({ where: { modelId }, order: { createdAt: 'ASC' } });
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
