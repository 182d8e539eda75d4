import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Req,
  Res,
  Inject,
  Optional,
} from '@nestjs/common';
import type { Response } from 'express';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { renderScanReportHtml } from '@tripline/poisoning';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { configAudience, RequireRole, type AuthenticatedRequest } from '@tripline/auth';
import { hidePaths, openApiSchema, sendAsHtmlReport, ZodValidationPipe } from '@tripline/http';
import { CanaryFactory } from './canary-factory.service';
import { UploadRejected } from './dataset-upload';
import { LIVE_TEXTS, LIVE_TRAFFIC_TEXTS, type LiveTrafficTexts } from './live-traffic';
import { DatasetService } from './dataset.service';
import { ModelRegistry } from './model-registry.service';
import { presentDataset, presentModel, presentRun, presentSchedule, presentVersion } from './presenters';
import { scanRagRequest } from './rag-scan';
import { RunQueue } from './run-queue.service';
import { ScheduleService } from './schedule.service';
import { scanStoredDataset } from './stored-dataset-scan';
import {
  canaryRequestSchema,
  datasetFilterSchema,
  evaluationRequestSchema,
  modelChangesSchema,
  modelIdSchema,
  newModelSchema,
  newVersionSchema,
  pageSchema,
  pinBaselineSchema,
  runFilterSchema,
  scanRequestSchema,
  scheduleChangesSchema,
  scheduleSchema,
  uploadQuerySchema,
} from './schemas';

/**
 * Caps how long an upload may take (the signal aborts with a 408 and the connection closes after
 * the answer), and lets the rest of a refused upload drain, within the same cap, so that the
 * client reads the answer instead of a reset connection.
 */
function boundUpload(request: AuthenticatedRequest, response: Response, ms: number): AbortSignal {
  const deadline = new AbortController();
  const started = Date.now();
  // A client that hangs up mid-upload errors the request after the reading may have stopped;
  // the reading path reports what it saw, and nothing else needs to hear of it.
  request.on('error', () => undefined);
  const timer = setTimeout(() => {
    if (request.readableEnded) return;
    response.setHeader('connection', 'close');
    deadline.abort(
      new UploadRejected(
        [
          {
            line: 0,
            field: '(upload)',
            message: `not received within ${ms} ms (TRIPLINE_UPLOAD_TIMEOUT_MS)`,
          },
        ],
        408,
      ),
    );
  }, ms);
  response.once('close', () => clearTimeout(timer));
  response.once('finish', () => {
    clearTimeout(timer);
    if (request.readableEnded) return;
    if (deadline.signal.aborted) return void request.destroy();
    request.resume();
    const drain = setTimeout(() => request.destroy(), Math.max(0, ms - (Date.now() - started)));
    request.once('close', () => clearTimeout(drain));
  });
  return deadline.signal;
}

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

const uuid = new ParseUUIDPipe({ errorHttpStatusCode: 404 });
const modelId = new ZodValidationPipe(modelIdSchema);
const who = (request: AuthenticatedRequest) => request.principal?.name ?? 'unknown';

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

@ApiTags('schedules')
@ApiBearerAuth()
@Controller('v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: ScheduleService) {}

  @Post()
  @ApiOperation({ summary: 'Schedule evaluations of a model on datasets; takes effect without a restart' })
  @ApiBody({ schema: openApiSchema(scheduleSchema) })
  async create(@Body(new ZodValidationPipe(scheduleSchema)) body: z.infer<typeof scheduleSchema>) {
    return presentSchedule(
      await this.schedules.create({
        modelId: body.model_id,
        datasetIds: body.dataset_ids,
        cron: body.cron,
        enabled: body.enabled,
      }),
    );
  }

  @Get()
  async list(@Query('model_id', new ZodValidationPipe(modelIdSchema.optional())) model?: string) {
    return { items: (await this.schedules.list(model)).map(presentSchedule) };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string) {
    return presentSchedule(await this.schedules.get(id));
  }

  @Patch(':id')
  @ApiBody({ schema: openApiSchema(scheduleChangesSchema) })
  async update(
    @Param('id', uuid) id: string,
    @Body(new ZodValidationPipe(scheduleChangesSchema)) body: z.infer<typeof scheduleChangesSchema>,
  ) {
    return presentSchedule(
      await this.schedules.update(id, {
        datasetIds: body.dataset_ids,
        cron: body.cron,
        enabled: body.enabled,
      }),
    );
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Param('id', uuid) id: string) {
    await this.schedules.remove(id);
  }
}

@ApiTags('evaluations')
@ApiBearerAuth()
@Controller('v1/evaluations')
export class EvaluationsController {
  constructor(private readonly runs: RunQueue) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary:
      'Run an evaluation now: one run per dataset (default: every dataset of the model); poll GET /v1/evaluations/{id} for progress',
  })
  @ApiBody({ schema: openApiSchema(evaluationRequestSchema) })
  async run(
    @Body(new ZodValidationPipe(evaluationRequestSchema)) body: z.infer<typeof evaluationRequestSchema>,
  ) {
    return { runs: (await this.runs.enqueue(body.model_id, body.dataset_ids)).map(presentRun) };
  }

  @Get()
  async list(@Query(new ZodValidationPipe(runFilterSchema)) query: z.infer<typeof runFilterSchema>) {
    return {
      items: (
        await this.runs.list({ modelId: query.model_id, status: query.status, limit: query.limit })
      ).map(presentRun),
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One run: status, progress, metrics and the comparison with its baseline' })
  async get(@Param('id', uuid) id: string) {
    return presentRun(await this.runs.get(id));
  }

  @Post(':id/baseline')
  @ApiOperation({
    summary: 'Pin this succeeded run as the baseline later runs of its model and dataset are compared with',
  })
  async pin(@Param('id', uuid) id: string) {
    return presentRun(await this.runs.pinBaseline(id));
  }
}

/**
 * The known-good run of each dataset of a model: what later runs are compared with, and the
 * fingerprint a probe run must match. Pinning is how a person accepts a change (a new model
 * behind an endpoint) after checking it; until then a changed fingerprint stays flagged.
 */
@ApiTags('models')
@ApiBearerAuth()
@Controller('v1/models/:id/baselines')
export class BaselinesController {
  constructor(private readonly runs: RunQueue) {}

  @Get()
  @ApiOperation({
    summary:
      'The baseline in force for each dataset of the model: pinned by a person, or the first succeeded run (per version for probe sets; on the known-good version for canary sets)',
  })
  async list(@Param('id', modelId) id: string) {
    return {
      items: (await this.runs.baselinesOf(id)).map(({ datasetId, run, pinned }) => ({
        dataset_id: datasetId,
        dataset_kind: run.datasetKind,
        pinned,
        run: presentRun(run),
      })),
    };
  }

  @Post()
  @RequireRole('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Pin a baseline for one dataset: the given run, or the latest succeeded run of the dataset on the current version. Later runs are compared with it; the next probe run that matches a newly pinned fingerprint clears a fingerprint alert',
  })
  @ApiBody({ schema: openApiSchema(pinBaselineSchema) })
  async pin(
    @Param('id', modelId) id: string,
    @Body(new ZodValidationPipe(pinBaselineSchema)) body: z.infer<typeof pinBaselineSchema>,
  ) {
    const run = await this.runs.pinBaselineOf(id, body.dataset_id, body.run_id);
    return { dataset_id: run.datasetId, dataset_kind: run.datasetKind, pinned: true, run: presentRun(run) };
  }
}

@ApiTags('scans')
@ApiBearerAuth()
@Controller('v1/scans')
export class ScansController {
  constructor(
    private readonly runs: RunQueue,
    private readonly datasets: DatasetService,
    private readonly registry: ModelRegistry,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    @Optional() @Inject(LIVE_TRAFFIC_TEXTS) private readonly liveTraffic?: LiveTrafficTexts,
  ) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary:
      'type "trigger": scan a model for a trigger no canary names (whole words, and phrases grown from the strongest, inserted at the start, the end and inside clean inputs; a candidate is flagged when its pin rate beats a null of ordinary words measured in the same scan at the stated false_alarm_rate, the clean set does not explain it, and it pins more than on the reference, if one is given), queued as a run (202). ' +
      'type "dataset": scan an uploaded training set for poisoning (rare tokens that pin a label, neighbour label disagreement, class outliers, near-duplicates, spectral signatures, activation clustering), run in the request (200, the report; ?format=html for the HTML page). ' +
      'type "rag": scan RAG knowledge-base documents (unapproved or new sources, instruction-like content aimed at the model, documents unusually close to many canary queries), run in the request (200, the report)',
  })
  @ApiBody({ schema: openApiSchema(scanRequestSchema) })
  async scan(
    @Body(new ZodValidationPipe(scanRequestSchema)) body: z.infer<typeof scanRequestSchema>,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    if (body.type === 'dataset') {
      const report = await scanStoredDataset(
        { datasets: this.datasets, registry: this.registry, environment: this.environment },
        { datasetId: body.dataset_id, modelId: body.model_id, top: body.top, seed: body.seed },
      );
      response.status(HttpStatus.OK);
      if (format !== 'html') return report;
      sendAsHtmlReport(response);
      return renderScanReportHtml(report, `Tripline dataset scan of ${body.dataset_id}`);
    }
    if (body.type === 'rag') {
      response.status(HttpStatus.OK);
      return scanRagRequest(this.registry, body);
    }
    const reference = body.reference
      ? await this.registry.referenceVersion(body.model_id, body.reference.model_id, body.reference.version)
      : undefined;
    const liveTexts = this.liveTraffic
      ? await this.liveTraffic.recentTexts(body.model_id, LIVE_TEXTS)
      : undefined;
    const run = await this.runs.enqueueTriggerScan(body.model_id, body.dataset_id, {
      candidates: body.candidates,
      sampleSize: body.sample_size,
      ...(body.confirmation_inputs ? { confirmationInputs: body.confirmation_inputs } : {}),
      ...(body.null_words ? { nullWords: body.null_words } : {}),
      maxCandidates: body.max_candidates,
      seed: body.seed,
      falseAlarmRate: body.false_alarm_rate,
      ...(body.positions ? { positions: body.positions } : {}),
      ...(reference ? { reference: { versionId: reference.id } } : {}),
      ...(liveTexts?.length ? { liveTexts } : {}),
    });
    return presentRun(run);
  }

  @Get()
  async list(@Query(new ZodValidationPipe(runFilterSchema)) query: z.infer<typeof runFilterSchema>) {
    return {
      items: (
        await this.runs.list({
          modelId: query.model_id,
          status: query.status,
          limit: query.limit,
          mode: 'trigger-scan',
        })
      ).map(presentRun),
    };
  }

  @Get(':id')
  async get(@Param('id', uuid) id: string) {
    return presentRun(await this.runs.get(id));
  }
}
