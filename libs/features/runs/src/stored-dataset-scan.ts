import { BadRequestException, ConflictException } from '@nestjs/common';
import { OnnxRepresentations, resolveModelFolder } from '@tripline/adapters';
import type { Environment } from '@tripline/config';
import { DatasetScan, NO_SOURCE, type DatasetScanReport } from '@tripline/poisoning';
import { readFile } from 'node:fs/promises';
import { ArtefactIntegrityError, splitPemBlocks, verifyArtefact } from '@tripline/supply-chain';
import type { DatasetService, ModelRegistry } from '@tripline/registry';

/**
 * The API scans in the request, so the scan's CPU work (the neighbour search above all) holds the
 * process for its duration: the set is capped, and neighbours are sought among a 1,000-row sample.
 * Larger files are for `tripline scan dataset`, which streams them on the caller's machine.
 */
export const MAX_API_SCAN_ROWS = 20_000;
const PAGE = 1_000;

export interface StoredDatasetScanRequest {
  datasetId: string;
  modelId?: string;
  top: number;
  seed: number;
}

export type StoredDatasetScanReport = DatasetScanReport & {
  dataset_id: string;
  model_id: string | null;
  model_version: string | null;
  skipped: { count: number; examples: string[] };
};

/**
 * Scans an uploaded dataset for poisoning. A row's source is its metadata.source when it has one,
 * else the dataset's provenance. With a model, rows are represented by its mean-pooled
 * last_hidden_state, after its folder is checked against the version's manifest.
 */
export async function scanStoredDataset(
  services: { datasets: DatasetService; registry: ModelRegistry; environment: Environment },
  request: StoredDatasetScanRequest,
): Promise<StoredDatasetScanReport> {
  const dataset = await services.datasets.get(request.datasetId);
  if (dataset.sampleCount > MAX_API_SCAN_ROWS)
    throw new BadRequestException(
      `dataset_id: dataset ${dataset.id} has ${dataset.sampleCount} samples; the API scans up to ` +
        `${MAX_API_SCAN_ROWS} in the request. Scan the file locally with \`tripline scan dataset FILE\`.`,
    );
  const model = request.modelId ? await modelRepresentations(services, request.modelId) : undefined;
  const modelVersion = model?.version ?? null;
  const scan = new DatasetScan({
    topRows: request.top,
    seed: request.seed,
    knn: { maxReference: 1_000 },
    representationSource: request.modelId
      ? `mean-pooled last_hidden_state of model ${request.modelId} version ${modelVersion}`
      : undefined,
  });
  const skipped = await addSamples(services.datasets, dataset, scan, model?.representations);
  if (scan.rows === 0)
    throw new BadRequestException(`dataset_id: dataset ${dataset.id} has no labelled samples to scan`);
  const { report } = scan.finish();
  return {
    ...report,
    dataset_id: dataset.id,
    model_id: request.modelId ?? null,
    model_version: modelVersion,
    skipped,
  };
}

type Services = Parameters<typeof scanStoredDataset>[0];

/**
 * The current version of the model as the scan's representation: only a local (onnx) model has
 * hidden states to read, and its folder must match the version's manifest (signed by a trusted
 * key when keys are configured) before it is loaded.
 */
async function modelRepresentations(
  services: Services,
  modelId: string,
): Promise<{ representations: OnnxRepresentations; version: string }> {
  const version = await services.registry.currentVersion(modelId);
  if (version.adapter.kind !== 'onnx')
    throw new BadRequestException(
      `model_id: representations come from a local (onnx) model's hidden states; the current version of ` +
        `"${modelId}" is ${version.adapter.kind}. Scan without model_id for a bag-of-words representation.`,
    );
  // Run in the request: a manifest still being computed is not waited for.
  services.registry.assertManifestUsable(version, 'refuse');
  const folder = resolveModelFolder(version.adapter.path, services.environment.TRIPLINE_MODELS_DIR);
  if (version.manifest) {
    const keysFile = services.environment.TRIPLINE_MANIFEST_KEYS;
    const trusted = keysFile ? splitPemBlocks(await readFile(keysFile, 'utf8')) : undefined;
    let result;
    try {
      result = await verifyArtefact(folder, version.manifest, trusted);
    } catch (error) {
      throw new BadRequestException(`model_id: ${(error as Error).message}`);
    }
    if (!result.ok)
      throw new ConflictException(
        `model_id: refusing to load the model: ${new ArtefactIntegrityError(result).message}`,
      );
  }
  return {
    representations: new OnnxRepresentations(folder, { batchSize: version.adapter.batchSize }),
    version: version.version,
  };
}

/**
 * Adds the dataset's labelled samples to the scan a page at a time (embedded by the model when
 * there is one, which is closed at the end) and counts the unlabelled ones it skips.
 */
async function addSamples(
  datasets: DatasetService,
  dataset: { id: string; source: string | null },
  scan: DatasetScan,
  representations: OnnxRepresentations | undefined,
): Promise<StoredDatasetScanReport['skipped']> {
  const skipped = { count: 0, examples: [] as string[] };
  try {
    for (let offset = 0; ; offset += PAGE) {
      const page = await datasets.samplesOf(dataset.id, offset, PAGE);
      const labelled = page.filter((sample) => {
        if (sample.label) return true;
        skipped.count++;
        if (skipped.examples.length < 10) skipped.examples.push(`sample ${sample.sampleId} has no label`);
        return false;
      });
      const vectors = representations
        ? await representations.represent(labelled.map((sample) => sample.text))
        : undefined;
      labelled.forEach((sample, i) =>
        scan.add(
          {
            text: sample.text,
            label: sample.label!,
            source: sample.metadata?.source ?? (dataset.source || NO_SOURCE),
          },
          sample.ordinal + 1,
          vectors?.[i],
        ),
      );
      if (page.length < PAGE) break;
    }
  } finally {
    await representations?.close();
  }
  return skipped;
}
