import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository, type EntityManager } from 'typeorm';
import { DatasetService, ModelRegistry, type Dataset, type Model } from '@tripline/registry';
import { EvaluationRun, type TriggerScanOptions } from './entities';

/** How many of the earliest runs may become a baseline nobody pinned (a search bound, not a rule). */
const IMPLICIT_BASELINE_CANDIDATES = 20;

/** A run the evaluator has not touched for this long is considered dead. */
export const HEARTBEAT_TIMEOUT_MS = 120_000;

/** A run just closed as failed, with the version string it ran (null when that version is gone). */
export interface ClosedRun {
  run: EvaluationRun;
  modelVersion: string | null;
}

// Every claim takes this lock, so two evaluators never both start runs of one model.
const CLAIM_LOCK = 7_303_417_010;

/**
 * Evaluation runs as a work queue in PostgreSQL: the API and the schedules enqueue, any
 * evaluator replica claims. Claims are serialised and skip models that already have a run in
 * progress, so runs of one model never overlap, however many evaluators there are.
 */
@Injectable()
export class RunQueue {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(EvaluationRun) private readonly runs: Repository<EvaluationRun>,
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetService,
  ) {}

  /** Queues one run per dataset; by default every dataset registered for the model. */
  async enqueue(modelId: string, datasetIds: string[] | undefined): Promise<EvaluationRun[]> {
    const model = await this.registry.get(modelId);
    const version = await this.registry.currentVersion(model.id);
    // A pending manifest is waited for (claim() skips the run until it is ready); a failed one is refused now.
    this.registry.assertManifestUsable(version, 'allow');
    const datasets = await this.datasetsFor(model, datasetIds);
    return this.runs.save(
      datasets.map((dataset) =>
        this.runs.create({
          modelId: model.id,
          versionId: version.id,
          datasetId: dataset.id,
          datasetKind: dataset.kind,
          status: 'queued',
          trigger: 'api',
          progressTotal: dataset.sampleCount,
          progressDone: 0,
          isBaseline: false,
        }),
      ),
    );
  }

  /** Queues a trigger scan of the model's current version over a sample of a clean set. */
  async enqueueTriggerScan(
    modelId: string,
    datasetId: string,
    options: TriggerScanOptions,
  ): Promise<EvaluationRun> {
    const model = await this.registry.get(modelId);
    const version = await this.registry.currentVersion(model.id);
    this.registry.assertManifestUsable(version, 'allow');
    const [dataset] = await this.datasetsFor(model, [datasetId]);
    if (dataset.kind !== 'clean')
      throw new BadRequestException(
        `dataset_id: a trigger scan inserts candidates into clean inputs; dataset ${dataset.id} is a ${dataset.kind} set`,
      );
    return this.runs.save(
      this.runs.create({
        modelId: model.id,
        versionId: version.id,
        datasetId: dataset.id,
        datasetKind: 'clean',
        mode: 'trigger-scan',
        options,
        status: 'queued',
        trigger: 'api',
        progressDone: 0,
        progressTotal: 0,
        isBaseline: false,
      }),
    );
  }

  /**
   * Queues the runs of one schedule tick. Returns nothing when another replica already queued
   * this tick (the unique key on schedule, tick and dataset) or when the model still has a run
   * in progress (no overlap).
   */
  async enqueueTick(
    scheduleId: string,
    modelId: string,
    datasetIds: string[],
    tick: Date,
  ): Promise<EvaluationRun[] | 'overlap' | 'claimed-elsewhere'> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }] = await manager.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [
        `tripline:tick:${scheduleId}`,
      ]);
      if (!locked) return 'claimed-elsewhere';
      const active = await manager.count(EvaluationRun, {
        where: { modelId, status: In(['queued', 'running']) },
      });
      if (active > 0) return 'overlap';
      const model = await this.registry.findModel(modelId, manager);
      if (!model?.currentVersionId) return [];
      const datasets = await this.datasets.findByIds(datasetIds, manager);
      const inserted: EvaluationRun[] = [];
      for (const dataset of datasets) {
        const rows = await manager.query(
          `INSERT INTO evaluation_runs (model_id, version_id, dataset_id, dataset_kind, status, trigger, schedule_id, scheduled_for, progress_total)
           VALUES ($1, $2, $3, $4, 'queued', 'schedule', $5, $6, $7)
           ON CONFLICT (schedule_id, scheduled_for, dataset_id) DO NOTHING RETURNING id`,
          [modelId, model.currentVersionId, dataset.id, dataset.kind, scheduleId, tick, dataset.sampleCount],
        );
        if (rows.length === 0) return 'claimed-elsewhere';
        inserted.push(await manager.findOneByOrFail(EvaluationRun, { id: rows[0].id }));
      }
      return inserted;
    });
  }

  /**
   * The next queued run of a model with nothing in progress, now marked running; or null. Runs of
   * a version whose manifest is still pending wait (an evaluator is hashing its folder).
   */
  async claim(): Promise<EvaluationRun | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK]);
      const queued: { id: string; version_id: string | null }[] = await manager.query(
        `SELECT queued.id, queued.version_id FROM evaluation_runs queued
         WHERE queued.status = 'queued'
           AND NOT EXISTS (SELECT 1 FROM evaluation_runs busy WHERE busy.model_id = queued.model_id AND busy.status = 'running')
         ORDER BY queued.created_at, queued.id`,
      );
      if (queued.length === 0) return null;
      // A local version is loaded only once its manifest is computed: its runs wait queued. Read
      // after the runs: a version is pending only from its registration, which precedes its runs.
      const pending = await this.registry.pendingManifests(
        queued.flatMap((run) => (run.version_id ? [run.version_id] : [])),
        manager,
      );
      const next = queued.find((run) => !run.version_id || !pending.has(run.version_id));
      if (!next) return null;
      await manager.update(
        EvaluationRun,
        { id: next.id, status: 'queued' },
        { status: 'running', startedAt: () => 'now()', heartbeatAt: () => 'now()' },
      );
      return manager.findOneByOrFail(EvaluationRun, { id: next.id });
    });
  }

  async progress(runId: string, done: number, total: number): Promise<void> {
    await this.runs.update(
      { id: runId },
      { progressDone: done, progressTotal: total, heartbeatAt: new Date() },
    );
  }

  /**
   * Records a run's outcome. `inTransaction` runs in the same transaction, after the update: what
   * it writes (the evaluator's outbox message) commits with the outcome or not at all.
   */
  async finish(
    runId: string,
    outcome: {
      status: 'succeeded' | 'failed';
      summary?: Record<string, unknown>;
      error?: string;
      baselineRunId?: string | null;
    },
    inTransaction?: (manager: EntityManager) => Promise<void>,
  ): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.update(
        EvaluationRun,
        { id: runId },
        {
          status: outcome.status,
          summary: (outcome.summary ?? null) as never,
          error: outcome.error ?? null,
          baselineRunId: outcome.baselineRunId ?? null,
          finishedAt: new Date(),
          heartbeatAt: new Date(),
        },
      );
      await inTransaction?.(manager);
    });
  }

  /**
   * Records that a running run failed with `error`; false when it was no longer running (it
   * finished after all, or a reaper closed it), and then nothing is written. `inTransaction` runs
   * in the same transaction with the closed run: what it writes (the evaluator's outbox message)
   * commits with the failure or not at all, and a run is announced failed at most once.
   */
  async fail(
    runId: string,
    error: string,
    inTransaction?: (manager: EntityManager, closed: ClosedRun) => Promise<void>,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.update(
        EvaluationRun,
        { id: runId, status: 'running' },
        {
          status: 'failed',
          summary: null as never,
          error,
          baselineRunId: null,
          finishedAt: new Date(),
          heartbeatAt: new Date(),
        },
      );
      if ((result.affected ?? 0) === 0) return false;
      const [closed] = await this.closedRuns(manager, [runId]);
      await inTransaction?.(manager, closed);
      return true;
    });
  }

  /**
   * Fails runs whose evaluator stopped mid-way, so they never read as in progress (or passed).
   * `inTransaction` gets the runs it closed, in the same transaction (as for `fail`).
   */
  async failAbandoned(
    inTransaction?: (manager: EntityManager, closed: ClosedRun[]) => Promise<void>,
  ): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const [rows]: [{ id: string }[], number] = await manager.query(
        `UPDATE evaluation_runs SET status = 'failed', finished_at = now(),
           error = 'the evaluator running it stopped (no heartbeat for ' || $1 || ' s); it was not completed'
         WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1) RETURNING id`,
        [HEARTBEAT_TIMEOUT_MS / 1000],
      );
      if (rows.length > 0 && inTransaction)
        await inTransaction(
          manager,
          await this.closedRuns(
            manager,
            rows.map((row) => row.id),
          ),
        );
      return rows.length;
    });
  }

  /**
   * The run a new one is compared with, and whether a person pinned it. A pinned run of the same
   * model and dataset wins. Otherwise:
   * - clean set: the first succeeded run;
   * - probe set: the first succeeded run of the same registered version (a new version is a
   *   declared change of behaviour and brings its own known-good fingerprint; a change under the
   *   same version is not, and stays flagged until someone pins a new baseline);
   * - canary set: the first succeeded run on the model's known-good version (the version of its
   *   clean-set baseline). A canary set first replayed against a later, perhaps backdoored, version
   *   has no baseline rather than taking that run as one; the absolute gates judge it instead.
   * `knownGood` narrows the runs that may become a baseline without a person pinning them: a
   * canary run that already failed an absolute gate (a silent swap keeps the registered version)
   * is evidence of a backdoor, not a baseline. The run itself is never its own baseline.
   */
  async baselineFor(
    run: EvaluationRun,
    knownGood: (candidate: EvaluationRun) => boolean = () => true,
  ): Promise<{ run: EvaluationRun; pinned: boolean } | null> {
    const { modelId, datasetId } = run;
    const pinned = await this.runs.findOneBy({ modelId, datasetId, isBaseline: true, mode: 'replay' });
    if (pinned && pinned.id !== run.id && (run.datasetKind !== 'probe' || pinned.versionId === run.versionId))
      return { run: pinned, pinned: true };
    let versionId: string | null | undefined;
    if (run.datasetKind === 'probe') versionId = run.versionId;
    else if (run.datasetKind === 'canary') {
      versionId = await this.knownGoodVersion(modelId);
      if (!versionId) return null;
    }
    const earliest = await this.runs.find({
      where: {
        modelId,
        datasetId,
        status: 'succeeded',
        mode: 'replay',
        ...(versionId ? { versionId } : {}),
      },
      order: { finishedAt: 'ASC' },
      take: IMPLICIT_BASELINE_CANDIDATES,
    });
    const first = earliest.find((candidate) => candidate.id !== run.id && knownGood(candidate));
    return first ? { run: first, pinned: false } : null;
  }

  /** The version of the model's clean-set baseline: the pinned clean run's, else the first clean run's. */
  async knownGoodVersion(modelId: string): Promise<string | null> {
    const pinned = await this.runs.findOneBy({
      modelId,
      datasetKind: 'clean',
      isBaseline: true,
      mode: 'replay',
    });
    if (pinned) return pinned.versionId;
    const first = await this.runs.findOne({
      where: { modelId, datasetKind: 'clean', status: 'succeeded', mode: 'replay' },
      order: { finishedAt: 'ASC' },
    });
    return first?.versionId ?? null;
  }

  /**
   * The baseline in force for each dataset of the model that has succeeded runs, pinned or not:
   * what `baselineFor` would compare the next run with.
   */
  async baselinesOf(modelId: string): Promise<{ datasetId: string; run: EvaluationRun; pinned: boolean }[]> {
    const model = await this.registry.get(modelId);
    const datasets = await this.datasets.list({ modelId: model.id });
    const baselines: { datasetId: string; run: EvaluationRun; pinned: boolean }[] = [];
    for (const dataset of datasets) {
      const next = this.runs.create({
        id: '00000000-0000-0000-0000-000000000000',
        modelId: model.id,
        datasetId: dataset.id,
        datasetKind: dataset.kind,
        versionId: model.currentVersionId,
        mode: 'replay',
      });
      const baseline = await this.baselineFor(next);
      if (baseline) baselines.push({ datasetId: dataset.id, ...baseline });
    }
    return baselines;
  }

  /**
   * Pins a baseline for one dataset of a model: the given run, or else the latest succeeded run of
   * that dataset on the model's current version (what is being served now, accepted as known-good).
   */
  async pinBaselineOf(modelId: string, datasetId: string, runId?: string): Promise<EvaluationRun> {
    const model = await this.registry.get(modelId);
    if (runId) {
      const run = await this.get(runId);
      if (run.modelId !== model.id || run.datasetId !== datasetId)
        throw new BadRequestException(
          `run_id: run ${runId} evaluated model "${run.modelId}" on dataset ${run.datasetId}, not model "${model.id}" on dataset ${datasetId}`,
        );
      if (run.mode !== 'replay')
        throw new BadRequestException(
          `run_id: run ${runId} is a trigger scan; only an evaluation run can be a baseline`,
        );
      return this.pinBaseline(run.id);
    }
    const latest = await this.runs.findOne({
      where: {
        modelId: model.id,
        datasetId,
        status: 'succeeded',
        mode: 'replay',
        ...(model.currentVersionId ? { versionId: model.currentVersionId } : {}),
      },
      order: { finishedAt: 'DESC' },
    });
    if (!latest)
      throw new ConflictException(
        `dataset ${datasetId} has no succeeded run of model "${model.id}" on its current version to pin; run one with POST /v1/evaluations`,
      );
    return this.pinBaseline(latest.id);
  }

  async pinBaseline(runId: string): Promise<EvaluationRun> {
    const run = await this.get(runId);
    if (run.status !== 'succeeded')
      throw new ConflictException(`run ${runId} is ${run.status}; only a succeeded run can be a baseline`);
    await this.dataSource.transaction(async (manager) => {
      await manager.update(
        EvaluationRun,
        { modelId: run.modelId, datasetId: run.datasetId, isBaseline: true },
        { isBaseline: false },
      );
      await manager.update(EvaluationRun, { id: run.id }, { isBaseline: true });
    });
    return this.get(runId);
  }

  async get(id: string): Promise<EvaluationRun> {
    const run = await this.runs.findOneBy({ id });
    if (!run) throw new NotFoundException(`evaluation run ${id} does not exist`);
    return run;
  }

  /** A model's runs of every mode, newest first: its history (the evidence pack). */
  history(modelId: string, limit: number): Promise<EvaluationRun[]> {
    return this.runs.find({ where: { modelId }, order: { createdAt: 'DESC' }, take: limit });
  }

  list(filter: {
    modelId?: string;
    status?: string;
    limit?: number;
    mode?: EvaluationRun['mode'];
  }): Promise<EvaluationRun[]> {
    return this.runs.find({
      where: {
        mode: filter.mode ?? 'replay',
        ...(filter.modelId ? { modelId: filter.modelId } : {}),
        ...(filter.status ? { status: filter.status as EvaluationRun['status'] } : {}),
      },
      order: { createdAt: 'DESC' },
      take: filter.limit ?? 100,
    });
  }

  private async datasetsFor(model: Model, datasetIds: string[] | undefined): Promise<Dataset[]> {
    if (!datasetIds || datasetIds.length === 0) {
      const all = await this.datasets.list({ modelId: model.id });
      if (all.length === 0)
        throw new BadRequestException(
          `model "${model.id}" has no datasets; upload a clean set with POST /v1/datasets?model_id=${model.id}`,
        );
      return all;
    }
    const found = await this.datasets.findByIds(datasetIds);
    const missing = datasetIds.filter((id) => !found.some((dataset) => dataset.id === id));
    if (missing.length > 0) throw new BadRequestException(`dataset_ids: ${missing.join(', ')} do not exist`);
    return found;
  }

  /** The runs as just written, each with its version string, read in the transaction that closed them. */
  private async closedRuns(manager: EntityManager, runIds: readonly string[]): Promise<ClosedRun[]> {
    const runs = await manager.findBy(EvaluationRun, { id: In([...runIds]) });
    const versions = await this.registry.versionNames(
      runs.flatMap((run) => (run.versionId ? [run.versionId] : [])),
      manager,
    );
    return runs.map((run) => ({
      run,
      modelVersion: run.versionId ? (versions.get(run.versionId) ?? null) : null,
    }));
  }
}
