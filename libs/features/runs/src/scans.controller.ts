import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Optional,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { z } from 'zod';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { openApiSchema, sendAsHtmlReport, ZodValidationPipe } from '@tripline/http';
import { renderScanReportHtml } from '@tripline/poisoning';
import { DatasetService, ModelRegistry } from '@tripline/registry';
import { LIVE_TEXTS, LIVE_TRAFFIC_TEXTS, type LiveTrafficTexts } from './live-traffic';
import { uuid } from './params';
import { presentRun } from './presenters';
import { scanRagRequest } from './rag-scan';
import { RunQueue } from './run-queue.service';
import { runFilterSchema, scanRequestSchema } from './schemas';
import { scanStoredDataset } from './stored-dataset-scan';

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
