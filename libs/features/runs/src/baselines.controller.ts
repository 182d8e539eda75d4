import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { RequireRole } from '@tripline/auth';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { modelId } from './params';
import { presentRun } from './presenters';
import { RunQueue } from './run-queue.service';
import { pinBaselineSchema } from './schemas';

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
