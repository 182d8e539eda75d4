import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { uuid } from './params';
import { presentRun } from './presenters';
import { RunQueue } from './run-queue.service';
import { evaluationRequestSchema, runFilterSchema } from './schemas';

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
