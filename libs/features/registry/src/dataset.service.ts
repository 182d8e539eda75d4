import { BadRequestException, HttpException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { Readable } from 'node:stream';
import { DataSource, In, Repository, type EntityManager } from 'typeorm';
import { Dataset, DatasetSample, Model, type DatasetKind } from './entities';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { LIMITS } from '@tripline/contracts';
import { readLines } from '@tripline/line-readers';
import {
  readSampleUpload,
  UploadRejected,
  type SampleRow,
  type UploadFormat,
  type UploadSummary,
} from './dataset-upload';

export interface DatasetUpload {
  name: string;
  kind: DatasetKind;
  format: UploadFormat;
  modelId?: string;
  source?: string;
  uploadedBy: string;
  maxBytes: number;
}

export interface GeneratedSample {
  id: string;
  text: string;
  label?: string | null;
  targetLabel?: string | null;
  twinId?: string | null;
  twinText?: string | null;
  trigger?: string | null;
  position?: string | null;
}

@Injectable()
export class DatasetService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Dataset) private readonly datasets: Repository<Dataset>,
    @InjectRepository(DatasetSample) private readonly samples: Repository<DatasetSample>,
  ) {}

  /**
   * Stores an upload as a new dataset: all rows or none. The body is validated and staged on disk
   * first, with no database connection held, so a client that uploads slowly cannot starve other
   * requests of the (in standalone mode, single) connection; the rows then go in in one short
   * transaction, at disk speed.
   */
  async upload(request: DatasetUpload, body: Readable, signal?: AbortSignal): Promise<Dataset> {
    if (request.modelId && !(await this.dataSource.getRepository(Model).existsBy({ id: request.modelId }))) {
      throw new NotFoundException(`model "${request.modelId}" does not exist`);
    }
    const staging = await mkdtemp(path.join(tmpdir(), 'tripline-upload-'));
    try {
      const file = path.join(staging, 'rows.jsonl');
      const out = createWriteStream(file);
      const stagedWriting = finished(out);
      stagedWriting.catch(() => undefined);
      let summary: UploadSummary;
      try {
        summary = await readSampleUpload(
          body,
          { format: request.format, kind: request.kind, maxBytes: request.maxBytes, signal },
          async (rows) => {
            if (!out.write(rows.map((row) => `${JSON.stringify(row)}\n`).join(''))) await once(out, 'drain');
          },
        );
      } catch (error) {
        out.destroy();
        throw asHttpError(error);
      }
      out.end();
      await stagedWriting;
      return await this.dataSource.transaction(async (manager) => {
        const dataset = await manager.save(
          manager.create(Dataset, {
            name: request.name,
            kind: request.kind,
            format: request.format,
            modelId: request.modelId ?? null,
            source: request.source ?? '',
            uploadedBy: request.uploadedBy,
            sha256: summary.sha256,
            bytes: summary.bytes,
            sampleCount: summary.samples,
            labels: summary.labels,
            generatedFrom: null,
            generator: null,
          }),
        );
        let ordinal = 0;
        let batch: Partial<DatasetSample>[] = [];
        // Staged rows were written by us from validated rows; JSON escaping can make one longer than its upload line.
        for await (const { text } of readLines(createReadStream(file), {
          maxLineBytes: 8 * LIMITS.uploadLineBytes,
        })) {
          batch.push(sampleEntity(dataset.id, ordinal++, JSON.parse(text) as SampleRow));
          if (batch.length >= 500) {
            await manager.insert(DatasetSample, batch);
            batch = [];
          }
        }
        if (batch.length > 0) await manager.insert(DatasetSample, batch);
        return dataset;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Stores a set built by Tripline itself (e.g. canaries generated from a clean set). */
  async createGenerated(
    meta: {
      name: string;
      kind: DatasetKind;
      modelId: string | null;
      source: string;
      uploadedBy: string;
      generatedFrom: string;
      generator: Record<string, unknown>;
    },
    rows: GeneratedSample[],
    sha256: string,
  ): Promise<Dataset> {
    return this.dataSource.transaction(async (manager) => {
      const labels = [
        ...new Set(rows.map((row) => row.label).filter((label): label is string => !!label)),
      ].sort();
      const dataset = await manager.save(
        manager.create(Dataset, {
          ...meta,
          format: 'generated',
          sha256,
          bytes: 0,
          sampleCount: rows.length,
          labels,
        }),
      );
      for (let start = 0; start < rows.length; start += 500) {
        await manager.insert(
          DatasetSample,
          rows.slice(start, start + 500).map((row, i) => ({
            datasetId: dataset.id,
            ordinal: start + i,
            sampleId: row.id,
            text: row.text,
            label: row.label ?? null,
            targetLabel: row.targetLabel ?? null,
            twinId: row.twinId ?? null,
            twinText: row.twinText ?? null,
            trigger: row.trigger ?? null,
            position: row.position ?? null,
            assertions: null,
            metadata: null,
          })),
        );
      }
      return dataset;
    });
  }

  list(filter: { modelId?: string; kind?: DatasetKind }): Promise<Dataset[]> {
    return this.datasets.find({
      where: {
        ...(filter.modelId ? { modelId: filter.modelId } : {}),
        ...(filter.kind ? { kind: filter.kind } : {}),
      },
      order: { createdAt: 'ASC' },
    });
  }

  /**
   * The datasets of these ids that exist (a deleted one is simply absent). `manager`: read in the
   * caller's transaction (the run queue's tick, see ModelRegistry.findModel).
   */
  findByIds(ids: readonly string[], manager?: EntityManager): Promise<Dataset[]> {
    const datasets = manager?.getRepository(Dataset) ?? this.datasets;
    return ids.length === 0 ? Promise.resolve([]) : datasets.findBy({ id: In([...ids]) });
  }

  async get(id: string): Promise<Dataset> {
    const dataset = await this.datasets.findOneBy({ id });
    if (!dataset)
      throw new NotFoundException(`dataset ${id} does not exist; list datasets with GET /v1/datasets`);
    return dataset;
  }

  async samplesOf(id: string, offset = 0, limit = 1_000): Promise<DatasetSample[]> {
    await this.get(id);
    return this.samples.find({
      where: { datasetId: id },
      order: { ordinal: 'ASC' },
      skip: offset,
      take: limit,
    });
  }

  async remove(id: string): Promise<void> {
    await this.get(id);
    await this.datasets.delete({ id });
  }
}

function sampleEntity(datasetId: string, ordinal: number, row: SampleRow): Partial<DatasetSample> {
  return {
    datasetId,
    ordinal,
    sampleId: row.id ?? `s${ordinal + 1}`,
    text: row.text,
    label: row.label ?? null,
    targetLabel: row.target_label ?? null,
    twinId: row.twin_id ?? null,
    twinText: row.twin_text ?? null,
    trigger: row.trigger ?? null,
    position: row.position ?? null,
    assertions:
      row.assertions || row.allowed_sources
        ? {
            mustContain: row.assertions?.must_contain,
            mustNotContain: row.assertions?.must_not_contain,
            regex: row.assertions?.regex,
            ...(row.allowed_sources ? { allowedSources: row.allowed_sources } : {}),
          }
        : null,
    metadata: row.source !== undefined ? { ...row.metadata, source: row.source } : (row.metadata ?? null),
  };
}

/** An upload's problems as the answer: 400 for bad rows, 413 over a size limit, 408 too slow. */
function asHttpError(error: unknown): unknown {
  if (!(error instanceof UploadRejected)) return error;
  const body = {
    statusCode: error.status,
    error:
      error.status === 413 ? 'Payload Too Large' : error.status === 408 ? 'Request Timeout' : 'Bad Request',
    message: [
      error.message,
      ...error.problems.slice(0, 20).map((p) => `line ${p.line}: ${p.field}: ${p.message}`),
    ],
    problems: error.problems,
  };
  return error.status === 400 ? new BadRequestException(body) : new HttpException(body, error.status);
}
