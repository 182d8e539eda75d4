import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { configAudience, RequireRole, type AuthenticatedRequest } from '@tripline/auth';
import { hidePaths, openApiSchema, ZodValidationPipe } from '@tripline/http';
import { ModelRegistry } from './model-registry.service';
import { modelId, who } from './params';
import { presentModel, presentVersion } from './presenters';
import { modelChangesSchema, newModelSchema, newVersionSchema } from './schemas';

/**
 * A manifest lists every file of a model folder with its digest, and a local version's path and
 * manifest error name places on the server's disk: operators register and check them; viewers only
 * learn that there is a manifest, how many files it covers and why it failed, without paths.
 */
function manifestForRole<
  T extends {
    adapter: { kind: string; path?: string };
    manifest: { files: unknown[] } | null;
    manifest_error: string | null;
  },
>(
  version: T,
  request: AuthenticatedRequest,
): T | (Omit<T, 'manifest'> & { manifest: null; manifest_files: number | null }) {
  const role = request.principal?.role;
  if (role === 'operator' || role === 'admin') return version;
  return {
    ...version,
    adapter: version.adapter.kind === 'onnx' ? { ...version.adapter, path: '[path]' } : version.adapter,
    manifest: null,
    manifest_files: version.manifest?.files.length ?? null,
    manifest_error: version.manifest_error === null ? null : hidePaths(version.manifest_error),
  };
}

@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly registry: ModelRegistry) {}

  @Post()
  @ApiOperation({ summary: 'Register a model' })
  @ApiBody({ schema: openApiSchema(newModelSchema) })
  async create(@Body(new ZodValidationPipe(newModelSchema)) body: z.infer<typeof newModelSchema>) {
    const {
      rag_allowed_sources: ragAllowedSources,
      feature_types: featureTypes,
      embedding_encoder: encoder,
      ...model
    } = body;
    return presentModel(
      await this.registry.create({
        ...model,
        ragAllowedSources,
        featureTypes,
        embeddingEncoder: encoder ? { modelId: encoder.model_id, version: encoder.version } : null,
      }),
    );
  }

  @Get()
  @ApiOperation({ summary: 'List models' })
  async list() {
    return { items: (await this.registry.list()).map(presentModel) };
  }

  @Get(':id')
  async get(@Param('id', modelId) id: string) {
    return presentModel(await this.registry.get(id));
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(modelChangesSchema) })
  async update(
    @Param('id', modelId) id: string,
    @Body(new ZodValidationPipe(modelChangesSchema)) body: z.infer<typeof modelChangesSchema>,
  ) {
    const {
      rag_allowed_sources: ragAllowedSources,
      feature_types: featureTypes,
      embedding_encoder: encoder,
      ...changes
    } = body;
    return presentModel(
      await this.registry.update(id, {
        ...changes,
        ...(ragAllowedSources !== undefined ? { ragAllowedSources } : {}),
        ...(featureTypes !== undefined ? { featureTypes: featureTypes ?? {} } : {}),
        ...(encoder !== undefined
          ? { embeddingEncoder: encoder ? { modelId: encoder.model_id, version: encoder.version } : null }
          : {}),
      }),
    );
  }

  @Delete(':id')
  @RequireRole('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete a model with its versions, datasets, schedules and run state' })
  async remove(@Param('id', modelId) id: string) {
    await this.registry.remove(id);
  }

  @Post(':id/versions')
  @ApiOperation({
    summary:
      'Register a model version (adapter config and artefact manifest); it becomes current unless activate is false',
  })
  @ApiBody({ schema: openApiSchema(newVersionSchema) })
  async addVersion(
    @Param('id', modelId) id: string,
    @Body(new ZodValidationPipe(newVersionSchema)) body: z.infer<typeof newVersionSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    // The caller just sent the URL and headers: showing them back tells nothing new.
    return presentVersion(await this.registry.addVersion(id, { ...body, createdBy: who(request) }), 'admin');
  }

  @Get(':id/versions')
  async versions(@Param('id', modelId) id: string, @Req() request: AuthenticatedRequest) {
    await this.registry.get(id);
    const audience = configAudience(request.principal);
    return {
      items: (await this.registry.listVersions(id)).map((version) =>
        manifestForRole(presentVersion(version, audience), request),
      ),
    };
  }
}
