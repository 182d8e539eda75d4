import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { z } from 'zod';
import { openApiSchema, ZodValidationPipe } from '@tripline/http';
import { uuid } from './params';
import { presentSchedule } from './presenters';
import { modelIdSchema, scheduleChangesSchema, scheduleSchema } from './schemas';
import { ScheduleService } from './schedule.service';

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
