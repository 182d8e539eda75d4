import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdapterConfig, ModelAdapter, PredictionOutcome } from './model-adapter';

export const DEFAULT_ONNX_BATCH_SIZE = 32;

type OnnxConfig = Extract<AdapterConfig, { kind: 'onnx' }>;
interface LogitsTensor {
  data: ArrayLike<number>;
  dims: number[];
}
/** The parts of a transformers.js text-classification pipeline this adapter drives itself. */
interface Classifier {
  tokenizer(texts: string[], options: { padding: boolean; truncation: boolean }): unknown;
  model: ((inputs: unknown) => Promise<{ logits: LogitsTensor }>) & { config: { problem_type?: string } };
  dispose(): Promise<void>;
}
interface Loaded {
  classifier: Classifier;
  labels: string[];
}

// Loaded natively as ES module: a static import would compile to require() and load the package's
// CommonJS build, a second copy with its own process-wide `env`.
export const loadTransformers = () => import('@huggingface/transformers');

/**
 * transformers.js reads its model directory from a process-wide `env`, so two adapters loading
 * from different parents at once could each load from the other's directory. Loads take turns.
 */
let loadQueue: Promise<unknown> = Promise.resolve();

export function serialised<T>(task: () => Promise<T>): Promise<T> {
  const run = loadQueue.then(task, task);
  loadQueue = run.catch(() => undefined);
  return run;
}

/** The ONNX files transformers.js picks by precision (dtype), relative to the model folder. */
const ONNX_FILES = { fp32: path.join('onnx', 'model.onnx'), q8: path.join('onnx', 'model_quantized.onnx') };

/**
 * Which file of a model folder to run: the full-precision onnx/model.onnx is the reference
 * whenever it is there (PyTorch exports ship only that one); the quantised file only when the
 * folder ships nothing else or the config asks for it. Checked here, because the runtime's own
 * "file not found" does not say which file a folder is expected to hold.
 */
export function onnxPrecision(folder: string, quantized?: boolean): 'fp32' | 'q8' {
  const dtype = (quantized ?? !existsSync(path.join(folder, ONNX_FILES.fp32))) ? 'q8' : 'fp32';
  if (!existsSync(path.join(folder, ONNX_FILES[dtype]))) {
    const wanted = quantized === undefined ? `${ONNX_FILES.fp32} (or ${ONNX_FILES.q8})` : ONNX_FILES[dtype];
    throw new Error(`onnx model ${folder} has no ${wanted}: export the model to ONNX into that file`);
  }
  return dtype;
}

/** Local files only, from the folder's parent: nothing is fetched from a model hub. */
export function pointAtModelsParent(
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string },
  folder: string,
): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${path.dirname(folder)}/`;
}

/**
 * The model folder a config names: relative paths resolve against modelsRoot, which also bounds
 * absolute ones. Bounded by where the folder really is: symbolic links are resolved on both sides
 * (a link inside the root pointing at /etc escapes it), and the comparison is by path segment, so a
 * folder named "..sneaky" inside the root is inside, while "../x" is not.
 */
export function resolveModelFolder(configured: string, modelsRoot?: string): string {
  if (!modelsRoot) return path.resolve(configured);
  const root = realPath(path.resolve(modelsRoot));
  const folder = realPath(path.resolve(root, configured));
  const relative = path.relative(root, folder);
  const [first] = relative.split(path.sep);
  if (relative === '' || first === '..' || path.isAbsolute(relative)) {
    throw new Error(
      `onnx model path "${configured}" is outside the models directory ${root}: local model folders ` +
        'must be inside TRIPLINE_MODELS_DIR (default <TRIPLINE_DATA_DIR>/models); copy the folder there ' +
        'or set TRIPLINE_MODELS_DIR to the directory that holds it',
    );
  }
  return folder;
}

/** The real path of `target`; for a path that does not exist yet, its deepest existing ancestor's real path plus the rest. */
function realPath(target: string): string {
  const missing: string[] = [];
  let current = target;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return target;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * A transformers.js text-classification folder run in-process, offline. It reports every
 * label's probability, not only the top one, because calibration and trigger-confidence metrics
 * need the full distribution.
 */
export class OnnxAdapter implements ModelAdapter {
  readonly kind = 'onnx' as const;
  readonly folder: string;
  readonly batchSize: number;
  private loaded?: Promise<Loaded>;
  private closed = false;

  constructor(
    private readonly config: OnnxConfig,
    modelsRoot?: string,
  ) {
    this.folder = resolveModelFolder(config.path, modelsRoot);
    this.batchSize = config.batchSize ?? DEFAULT_ONNX_BATCH_SIZE;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`onnx batchSize must be a positive integer, not ${config.batchSize}`);
    }
  }

  /** Label names in id order, from config.json's id2label. */
  async labels(): Promise<string[]> {
    return (await this.load()).labels;
  }

  async predict(inputs: readonly string[], options?: { signal?: AbortSignal }): Promise<PredictionOutcome[]> {
    if (inputs.length === 0) return [];
    let model: Loaded;
    try {
      model = await this.load();
    } catch (error) {
      const message = (error as Error).message;
      return inputs.map(() => ({ ok: false, error: message }));
    }
    // Shortest first, so that each batch pads to a length close to its own texts' lengths (a batch
    // runs at the cost of its longest text); answers go back in the caller's order.
    const order = inputs.map((_, index) => index).sort((a, b) => inputs[a].length - inputs[b].length);
    const outcomes: PredictionOutcome[] = new Array(inputs.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      const batch = indices.map((index) => inputs[index]);
      const answers =
        options?.signal?.aborted || this.closed
          ? batch.map(() => ({ ok: false as const, error: 'cancelled before the model ran' }))
          : await this.classifyBatch(model, batch);
      indices.forEach((index, k) => (outcomes[index] = answers[k]));
    }
    return outcomes;
  }

  private async classifyBatch(model: Loaded, batch: string[]): Promise<PredictionOutcome[]> {
    const started = performance.now();
    let probabilities: number[][];
    try {
      probabilities = await this.classify(model, batch);
    } catch (error) {
      // One input the tokenizer or runtime chokes on must not fail its whole batch.
      if (batch.length > 1) {
        const single: PredictionOutcome[] = [];
        for (const input of batch) single.push(...(await this.classifyBatch(model, [input])));
        return single;
      }
      return [
        { ok: false, error: `onnx model ${this.folder} failed on this input: ${(error as Error).message}` },
      ];
    }
    // The batch's wall time shared out, so that latency does not depend on the batch size chosen.
    const latencyMs = (performance.now() - started) / batch.length;
    return probabilities.map((row) => {
      const scores = Object.fromEntries(model.labels.map((label, index) => [label, row[index]]));
      const label = model.labels.reduce((best, next) => (scores[next] > scores[best] ? next : best));
      return { ok: true, prediction: { label, scores, latencyMs } };
    });
  }

  /**
   * Tokenizer and model called directly rather than through the pipeline's call, which ranks
   * every row with a separate runtime operation: on short texts that ranking cost as much as the
   * model. Softmax (sigmoid for multi-label models) as the pipeline applies it, in id2label order.
   */
  private async classify(model: Loaded, batch: string[]): Promise<number[][]> {
    const { classifier, labels } = model;
    const { logits } = await classifier.model(
      classifier.tokenizer(batch, { padding: true, truncation: true }),
    );
    const width = logits.dims[logits.dims.length - 1];
    if (width !== labels.length || logits.data.length !== width * batch.length) {
      throw new Error(`gave ${width} scores per input for the ${labels.length} labels of config.json`);
    }
    const multiLabel = classifier.model.config.problem_type === 'multi_label_classification';
    return batch.map((_, row) => {
      const values = Array.from({ length: width }, (_, column) => Number(logits.data[row * width + column]));
      if (multiLabel) return values.map((value) => 1 / (1 + Math.exp(-value)));
      const top = Math.max(...values);
      const exponentials = values.map((value) => Math.exp(value - top));
      const sum = exponentials.reduce((total, value) => total + value, 0);
      return exponentials.map((value) => value / sum);
    });
  }

  /** Whole vocabulary entries of tokenizer.json, special tokens left out: the candidates a trigger scan tries. */
  async vocabulary(): Promise<string[] | undefined> {
    let tokenizer: {
      model?: { vocab?: Record<string, number> | [string, number][] };
      added_tokens?: { content: string; special?: boolean }[];
    };
    try {
      tokenizer = JSON.parse(await readFile(path.join(this.folder, 'tokenizer.json'), 'utf8'));
    } catch {
      return undefined;
    }
    const special = new Set((tokenizer.added_tokens ?? []).filter((t) => t.special).map((t) => t.content));
    const vocab = tokenizer.model?.vocab;
    if (!vocab) return undefined;
    // WordPiece and BPE map token -> id; Unigram lists [token, score] in id order.
    const tokens = Array.isArray(vocab)
      ? vocab.map(([token]) => token)
      : Object.entries(vocab)
          .sort((a, b) => a[1] - b[1])
          .map(([token]) => token);
    return tokens.filter((token) => !special.has(token));
  }

  async close(): Promise<void> {
    this.closed = true;
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded) await loaded.then((model) => model.classifier.dispose()).catch(() => undefined);
  }

  private load(): Promise<Loaded> {
    if (this.closed) return Promise.reject(new Error(`onnx model ${this.folder} is closed`));
    if (!this.loaded) {
      this.loaded = this.loadOnce();
      // A failed load is tried again next time: the folder may appear later (models:build).
      this.loaded.catch(() => (this.loaded = undefined));
    }
    return this.loaded;
  }

  private async loadOnce(): Promise<Loaded> {
    const folder = this.folder;
    let labels: string[];
    try {
      const config = JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as {
        id2label?: Record<string, string>;
      };
      labels = Object.entries(config.id2label ?? {})
        .sort((a, b) => Number(a[0]) - Number(b[0]))
        .map(([, label]) => label);
    } catch (error) {
      throw new Error(
        `onnx model ${folder} could not be read: ${(error as Error).message} ` +
          '(expected a transformers.js folder with config.json, tokenizer.json and onnx/model.onnx)',
      );
    }
    if (labels.length === 0) throw new Error(`onnx model ${folder}: config.json has no id2label`);
    const dtype = onnxPrecision(folder, this.config.quantized);
    const transformers = await loadTransformers();
    const classifier = await serialised(async () => {
      pointAtModelsParent(transformers.env, folder);
      return transformers.pipeline('text-classification', path.basename(folder), {
        dtype,
        local_files_only: true,
      });
    }).catch((error: Error) => {
      throw new Error(`onnx model ${folder} could not be loaded: ${error.message}`);
    });
    return { classifier: classifier as unknown as Classifier, labels };
  }
}
