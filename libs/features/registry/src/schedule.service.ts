import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CronTime } from 'cron';
import { In, Repository } from 'typeorm';
import { Dataset, Schedule } from './entities';
import { ModelRegistry } from './model-registry.service';

export interface ScheduleRequest {
  modelId: string;
  datasetIds: string[];
  cron: string;
  enabled?: boolean;
}

/** Validates a cron expression (5 fields, or 6 with seconds) and says what is wrong with a bad one. */
export function checkCron(expression: string): string | undefined {
  try {
    new CronTime(expression);
    return undefined;
  } catch (error) {
    return `expected a cron expression such as "*/5 * * * *" (5 fields, or 6 with seconds first): ${(error as Error).message}`;
  }
}

@Injectable()
export class ScheduleService {
  constructor(
    @InjectRepository(Schedule) private readonly schedules: Repository<Schedule>,
    @InjectRepository(Dataset) private readonly datasets: Repository<Dataset>,
    private readonly registry: ModelRegistry,
  ) {}

  async create(request: ScheduleRequest): Promise<Schedule> {
    await this.check(request);
    return this.schedules.save(this.schedules.create({ ...request, enabled: request.enabled ?? true }));
  }

  list(modelId?: string): Promise<Schedule[]> {
    return this.schedules.find({ where: modelId ? { modelId } : {}, order: { createdAt: 'ASC' } });
  }

  async get(id: string): Promise<Schedule> {
    const schedule = await this.schedules.findOneBy({ id });
    if (!schedule) throw new NotFoundException(`schedule ${id} does not exist`);
    return schedule;
  }

  async update(id: string, changes: Partial<Omit<ScheduleRequest, 'modelId'>>): Promise<Schedule> {
    const schedule = await this.get(id);
    const next = {
      ...schedule,
      ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)),
    };
    await this.check(next);
    return this.schedules.save(next);
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.schedules.delete({ id });
  }

  private async check(request: ScheduleRequest): Promise<void> {
    const problem = checkCron(request.cron);
    if (problem) throw new BadRequestException(`cron: ${problem}`);
    await this.registry.get(request.modelId);
    const found = await this.datasets.findBy({ id: In(request.datasetIds) });
    const missing = request.datasetIds.filter((id) => !found.some((dataset) => dataset.id === id));
    if (missing.length > 0) throw new BadRequestException(`dataset_ids: ${missing.join(', ')} do not exist`);
    const foreign = found.filter(
      (dataset) => dataset.modelId !== null && dataset.modelId !== request.modelId,
    );
    if (foreign.length > 0)
      throw new BadRequestException(
        `dataset_ids: ${foreign.map((d) => d.id).join(', ')} belong to another model`,
      );
  }
}
