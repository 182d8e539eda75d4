import {
  Body,
  Controller,
  HttpCode,
  HttpException,
  HttpStatus,
  Logger,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { RequireScope } from '@tripline/auth';
import {
  feedbackSchema,
  inferenceEventSchema,
  LIMITS,
  validate,
  type FieldError,
  type TopicKey,
} from '@tripline/contracts';
import { openApiSchema } from '@tripline/http';
import { Metrics } from '@tripline/server';
import { EventBus } from '@tripline/transport';

export type ItemResult =
  | { index: number; event_id: string; status: 'accepted'; duplicate?: true }
  | { index: number; event_id?: string; status: 'rejected'; errors: FieldError[] };

export interface BatchAnswer {
  accepted: number;
  rejected: number;
  results: ItemResult[];
}

/**
 * Checks every item on its own: one bad event never sinks the batch, and its answer names the
 * field and the reason. Repeats of an event_id within the batch are published once.
 */
export function checkBatch<T extends { event_id: string; model_id: string }>(
  schema: z.ZodType<T>,
  items: unknown[],
): { answer: BatchAnswer; valid: T[] } {
  const results: ItemResult[] = [];
  const valid: T[] = [];
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const checked = validate(schema, item);
    if (!checked.ok) {
      const id = (item as { event_id?: unknown } | null)?.event_id;
      results.push({
        index,
        ...(typeof id === 'string' ? { event_id: id.slice(0, LIMITS.idLength) } : {}),
        status: 'rejected',
        errors: checked.errors,
      });
      return;
    }
    const event = checked.value as T;
    if (seen.has(event.event_id)) {
      results.push({ index, event_id: event.event_id, status: 'accepted', duplicate: true });
      return;
    }
    seen.add(event.event_id);
    valid.push(event);
    results.push({ index, event_id: event.event_id, status: 'accepted' });
  });
  const accepted = results.filter((result) => result.status === 'accepted').length;
  return { answer: { accepted, rejected: results.length - accepted, results }, valid };
}

const batchOf = (field: 'events' | 'feedback', item: z.ZodType) =>
  z
    .object({
      [field]: z
        .array(item)
        .min(1, `expected at least one item in "${field}"`)
        .max(LIMITS.batchEvents, `expected at most ${LIMITS.batchEvents} items per request; split the batch`),
    })
    .strict();

const batchAnswerSchema = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  results: z.array(
    z.object({
      index: z.number().int(),
      event_id: z.string().optional(),
      status: z.enum(['accepted', 'rejected']),
      duplicate: z.boolean().optional(),
      errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  ),
});

@ApiTags('ingest')
@ApiBearerAuth()
@Controller('v1')
export class IngestController {
  private readonly logger = new Logger('HttpIngest');
  private readonly counted;

  constructor(
    private readonly bus: EventBus,
    metrics: Metrics,
  ) {
    this.counted = metrics.counter(
      {
        name: 'tripline_http_ingest_items_total',
        help: 'Items received by HTTP ingest',
        labelNames: ['kind', 'outcome'],
      },
      { kind: ['events', 'feedback'], outcome: ['accepted', 'rejected'] },
    );
  }

  @Post('events')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScope('ingest')
  @ApiOperation({
    summary: `Ingest a batch of inference events (at most ${LIMITS.batchEvents} events and ${LIMITS.batchBytes / 1024 / 1024} MiB)`,
    description:
      'Each event is validated on its own; the answer lists, per item, accepted or rejected with the field and the reason. Re-sending a batch is safe: events are deduplicated by event_id.',
  })
  @ApiBody({ schema: openApiSchema(batchOf('events', inferenceEventSchema)) })
  @ApiResponse({ status: 202, schema: openApiSchema(batchAnswerSchema) })
  async events(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Body() body: unknown,
  ): Promise<BatchAnswer> {
    return this.ingest(request, response, body, 'events', inferenceEventSchema, 'inference');
  }

  @Post('feedback')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScope('ingest')
  @ApiOperation({
    summary: 'Ingest ground-truth labels for earlier events',
    description: 'Same batch rules and answers as POST /v1/events.',
  })
  @ApiBody({ schema: openApiSchema(batchOf('feedback', feedbackSchema)) })
  @ApiResponse({ status: 202, schema: openApiSchema(batchAnswerSchema) })
  async feedback(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Body() body: unknown,
  ): Promise<BatchAnswer> {
    return this.ingest(request, response, body, 'feedback', feedbackSchema, 'feedback');
  }

  private async ingest<T extends { event_id: string; model_id: string }>(
    request: Request,
    response: Response,
    body: unknown,
    field: 'events' | 'feedback',
    schema: z.ZodType<T>,
    topic: TopicKey,
  ): Promise<BatchAnswer> {
    const length = Number(request.headers['content-length'] ?? 0);
    if (length > LIMITS.batchBytes) {
      throw new HttpException(
        `the batch is ${length} bytes; at most ${LIMITS.batchBytes} bytes per request: split it`,
        HttpStatus.PAYLOAD_TOO_LARGE,
      );
    }
    const envelope = batchOf(field, z.unknown()).safeParse(body);
    if (!envelope.success) {
      const issue = envelope.error.issues[0];
      // Too many items is a size problem the client fixes by splitting, not a malformed request.
      const tooMany = issue.code === 'too_big';
      throw new HttpException(
        {
          statusCode: tooMany ? 413 : 400,
          error: tooMany ? 'Payload Too Large' : 'Bad Request',
          message: `${issue.path.join('.') || '(body)'}: ${issue.message}; expected {"${field}": [ ... ]}`,
        },
        tooMany ? HttpStatus.PAYLOAD_TOO_LARGE : HttpStatus.BAD_REQUEST,
      );
    }
    const items = (envelope.data as Record<string, unknown[]>)[field];
    const { answer, valid } = checkBatch(schema, items);
    if (valid.length > 0) {
      try {
        await withTimeout(
          this.bus.publish(
            topic,
            valid.map((item) => ({ key: item.model_id, value: JSON.stringify(item) })),
          ),
          PUBLISH_TIMEOUT_MS,
        );
      } catch (error) {
        this.logger.error(`publishing ${valid.length} ${field} failed: ${String(error)}`);
        response.setHeader('Retry-After', '5');
        throw new ServiceUnavailableException(
          `the event transport is unavailable, so this batch was not accepted; retry it (repeats are deduplicated by event_id)`,
        );
      }
    }
    this.counted.inc({ kind: field, outcome: 'accepted' }, answer.accepted);
    this.counted.inc({ kind: field, outcome: 'rejected' }, answer.rejected);
    return answer;
  }
}

/** A publish that has not finished by then is answered 503, well before a client's own timeout. */
const PUBLISH_TIMEOUT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
    }),
  ]);
}
