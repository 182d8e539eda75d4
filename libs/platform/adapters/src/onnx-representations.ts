import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadTransformers, onnxPrecision, pointAtModelsParent, serialised } from './onnx-adapter';

interface Tensor {
  dims: number[];
  data: Float32Array;
}
interface Extractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<Tensor>;
  dispose(): Promise<void>;
}

/**
 * Per-example representations from a local transformers.js model folder, offline: the
 * `feature-extraction` pipeline's `last_hidden_state`, mean-pooled over the real tokens (padding
 * masked out). What dataset scans cluster and project.
 */
export class OnnxRepresentations {
  private extractor?: Promise<Extractor>;

  constructor(
    readonly folder: string,
    private readonly options: {
      batchSize?: number;
      quantized?: boolean;
      /**
       * ONNX Runtime intra-op threads (default: the runtime's, one per core). A process that must
       * keep a core for other work (the ingestor's consumer) runs its encoder on one.
       */
      threads?: number;
      /** Called between batches: lets a caller yield to its event loop or stop early. */
      betweenBatches?: () => Promise<void>;
    } = {},
  ) {}

  /** One vector per text, in input order. */
  async represent(texts: readonly string[]): Promise<Float32Array[]> {
    const extractor = await this.load();
    const batchSize = this.options.batchSize ?? 32;
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      if (start > 0) await this.options.betweenBatches?.();
      const batch = texts.slice(start, start + batchSize);
      const output = await extractor(batch, { pooling: 'mean', normalize: false });
      const dimension = output.dims[output.dims.length - 1];
      for (let i = 0; i < batch.length; i++)
        vectors.push(output.data.slice(i * dimension, (i + 1) * dimension));
    }
    return vectors;
  }

  async close(): Promise<void> {
    const extractor = this.extractor;
    this.extractor = undefined;
    if (extractor) await extractor.then((loaded) => loaded.dispose()).catch(() => undefined);
  }

  private load(): Promise<Extractor> {
    this.extractor ??= (async () => {
      const folder = path.resolve(this.folder);
      if (!existsSync(path.join(folder, 'config.json')))
        throw new Error(
          `model folder ${folder} has no config.json (expected a transformers.js model folder)`,
        );
      const dtype = onnxPrecision(folder, this.options.quantized);
      const transformers = await loadTransformers();
      return serialised(async () => {
        pointAtModelsParent(transformers.env, folder);
        return transformers.pipeline('feature-extraction', path.basename(folder), {
          dtype,
          local_files_only: true,
          ...(this.options.threads
            ? { session_options: { intraOpNumThreads: this.options.threads, interOpNumThreads: 1 } }
            : {}),
        }) as unknown as Promise<Extractor>;
      }).catch((error: Error) => {
        throw new Error(`model ${folder} could not be loaded for feature extraction: ${error.message}`);
      });
    })();
    this.extractor.catch(() => (this.extractor = undefined));
    return this.extractor;
  }
}
