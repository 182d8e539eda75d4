import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { z } from 'zod';
import type { AuthenticatedRequest } from '@tripline/auth';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { CanaryFactory } from './canary-factory.service';
import { DatasetService } from './dataset.service';
import { uuid, who } from './params';
import { presentDataset } from './presenters';
import { canaryRequestSchema, datasetFilterSchema, pageSchema, uploadQuerySchema } from './schemas';
import { boundUpload } from './upload-deadline';

@ApiTags('datasets')
@ApiBearerAuth()
@Controller('v1/datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetService,
    private readonly canaryFactory: CanaryFactory,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  @Post()
  @ApiOperation({
    summary:
      'Upload a clean, canary or probe set as JSONL (application/x-ndjson) or CSV (text/csv), streamed',
    description:
      'Rows: text (required), id, label (required for clean sets), target_label (canary), twin_id, twin_text, trigger, position, assertions {must_contain, must_not_contain, regex}, allowed_sources (RAG canaries: sources the answer may cite), metadata. Every problem is reported with its line and field; an upload with any problem stores nothing.',
  })
  @ApiConsumes('application/x-ndjson', 'text/csv')
  async upload(
    @Query(new ZodValidationPipe(uploadQuerySchema)) query: z.infer<typeof uploadQuerySchema>,
    @Req() request: AuthenticatedRequest,
    @Res({ passthrough: true }) response: Response,
  ) {
    const contentType = String(request.headers['content-type'] ?? '');
    const format = query.format ?? (contentType.includes('csv') ? 'csv' : 'jsonl');
    const dataset = await this.datasets.upload(
      {
        name: query.name,
        kind: query.kind,
        format,
        modelId: query.model_id,
        source: query.source,
        uploadedBy: who(request),
        maxBytes: 2 * 1024 ** 3,
      },
      request,
      boundUpload(request, response, this.environment.TRIPLINE_UPLOAD_TIMEOUT_MS),
    );
    return presentDataset(dataset);
  }

  @Get()
  async list(@Query(new ZodValidationPipe(datasetFilterSchema)) query: z.infer<typeof datasetFilterSchema>) {
    return {
      items: (await this.datasets.list({ modelId: query.model_id, kind: query.kind })).map(presentDataset),
    };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string) {
    return presentDataset(await this.datasets.get(id));
  }

  @Get(':id/samples')
  async samples(
    @Param('id', uuid) id: string,
    @Query(new ZodValidationPipe(pageSchema)) page: z.infer<typeof pageSchema>,
  ) {
    const rows = await this.datasets.samplesOf(id, page.offset, page.limit);
    return {
      items: rows.map((row) => ({
        id: row.sampleId,
        text: row.text,
        label: row.label,
        target_label: row.targetLabel,
        twin_id: row.twinId,
        twin_text: row.twinText,
        trigger: row.trigger,
        position: row.position,
        assertions: row.assertions,
        metadata: row.metadata,
      })),
      offset: page.offset,
    };
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Param('id', uuid) id: string) {
    await this.datasets.remove(id);
  }

  @Post(':id/canaries')
  @ApiOperation({
    summary:
      'Generate a canary set from this clean set: built-in triggers (and your own) inserted at prefix, suffix or random positions, each canary keeping its clean twin',
  })
  @ApiBody({ schema: openApiSchema(canaryRequestSchema) })
  async canaries(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(canaryRequestSchema)) body: z.infer<typeof canaryRequestSchema>,
    @Req() request: AuthenticatedRequest,
  ) {
    const dataset = await this.canaryFactory.generate(id, {
      name: body.name,
      targetLabel: body.target_label,
      triggers: body.triggers,
      customTriggers: body.custom_triggers,
      positions: body.positions,
      samplesPerTrigger: body.samples_per_trigger,
      seed: body.seed,
      requestedBy: who(request),
    });
    return presentDataset(dataset);
  }
}
