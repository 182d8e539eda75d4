import { redactUrl, type EgressPolicy } from '@tripline/egress';
import { JsonHttpClient, withPath } from './http-client';
import type { AdapterConfig, ModelAdapter, Prediction, PredictionOutcome } from './model-adapter';

export const DEFAULT_OIP_BATCH_SIZE = 32;

type OipConfig = Extract<AdapterConfig, { kind: 'oip-v2' }>;

interface Tensor {
  name: string;
  datatype?: string;
  shape: number[];
  data: unknown[];
  parameters?: { labels?: unknown };
}

/** Output names read, in order of preference; anything else in the answer is ignored. */
const LABEL_OUTPUTS = ['label', 'labels'];
const SCORE_OUTPUTS = ['scores', 'probabilities', 'probs'];
const TEXT_OUTPUTS = ['text', 'text_output'];

/** Statuses at which a batch is tried again one input at a time: the server disliked the request, perhaps one input in it. */
const SPLIT_STATUSES = new Set([400, 413, 422]);

function flatten(data: unknown[]): unknown[] {
  // The v2 JSON encoding allows tensor data flat or nested row-major; both mean the same.
  return data.some(Array.isArray) ? data.flat(Infinity) : data;
}

function stringLabels(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')
    ? (value as string[])
    : undefined;
}

/** The answer's outputs by name, data flattened; an error when one is not a tensor. */
function outputTensors(body: unknown): Map<string, Tensor> | { error: string } {
  const outputs = (body as { outputs?: unknown })?.outputs;
  if (!Array.isArray(outputs)) return { error: 'the answer has no "outputs" list' };
  const tensors = new Map<string, Tensor>();
  for (const output of outputs as Tensor[]) {
    if (
      !output ||
      typeof output.name !== 'string' ||
      !Array.isArray(output.data) ||
      !Array.isArray(output.shape)
    ) {
      return { error: 'an output lacks name, shape or data' };
    }
    tensors.set(output.name, { ...output, data: flatten(output.data) });
  }
  return tensors;
}

/**
 * One prediction per input row from tensors whose shapes were checked: scores by label name (the
 * label the highest-scoring one), then a label output's name or index over it, then the text.
 * An error names the first item that is not a label or not text.
 */
function rowPredictions(
  count: number,
  {
    labelTensor,
    scoreTensor,
    textTensor,
  }: { labelTensor?: Tensor; scoreTensor?: Tensor; textTensor?: Tensor },
  labelNames: string[] | undefined,
  width: number,
): { predictions: Omit<Prediction, 'latencyMs'>[] } | { error: string } {
  const predictions: Omit<Prediction, 'latencyMs'>[] = [];
  for (let row = 0; row < count; row++) {
    const prediction: Omit<Prediction, 'latencyMs'> = {};
    if (scoreTensor && labelNames) {
      const values = scoreTensor.data.slice(row * width, (row + 1) * width) as number[];
      prediction.scores = Object.fromEntries(labelNames.map((label, column) => [label, values[column]]));
      prediction.label = labelNames[values.indexOf(Math.max(...values))];
    }
    if (labelTensor) {
      const value = labelTensor.data[row];
      if (typeof value === 'string') prediction.label = value;
      else if (Number.isInteger(value) && labelNames?.[value as number] !== undefined) {
        prediction.label = labelNames[value as number];
      } else {
        return {
          error: `output "${labelTensor.name}" item ${row} is ${JSON.stringify(value)}, not a label`,
        };
      }
    }
    if (textTensor) {
      const value = textTensor.data[row];
      if (typeof value !== 'string') return { error: `output "${textTensor.name}" item ${row} is not text` };
      prediction.text = value;
    }
    predictions.push(prediction);
  }
  return { predictions };
}

/**
 * Open Inference Protocol v2 (KServe v2 / Triton REST). The convention read here: one BYTES input
 * of shape [n] holding the texts, and in the answer
 * - an output named "label" (or "labels"): BYTES [n] label names, or integer [n] label indices;
 * - an output named "scores" (or "probabilities", "probs"): numbers of shape [n, k], flat or
 *   nested; column j belongs to the j-th label, the label names taken from the first of: that
 *   output's `parameters.labels`, the answer's `parameters.labels`, and in the model metadata
 *   (GET /v2/models/{name}) the scores output's `parameters.labels` or `parameters.labels`;
 * - an output named "text" (or "text_output"): BYTES [n], for generation.
 * With scores and no label output the label is the highest-scoring one. Binary tensor data is
 * not supported.
 */
export class OipV2Adapter implements ModelAdapter {
  readonly kind = 'oip-v2' as const;
  private readonly client: JsonHttpClient;
  private readonly modelPath: string;
  private readonly modelUrl: string;
  private readonly inferUrl: string;
  private readonly batchSize: number;
  private metadataLabels?: Promise<{ labels?: string[]; error?: string }>;

  constructor(
    private readonly config: OipConfig,
    egress: EgressPolicy,
  ) {
    this.client = new JsonHttpClient(config, egress);
    const version = config.modelVersion ? `/versions/${encodeURIComponent(config.modelVersion)}` : '';
    this.modelPath = `/v2/models/${encodeURIComponent(config.modelName)}${version}`;
    this.modelUrl = withPath(config.url, this.modelPath);
    this.inferUrl = withPath(config.url, `${this.modelPath}/infer`);
    this.batchSize = config.batchSize ?? DEFAULT_OIP_BATCH_SIZE;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new Error(`oip-v2 batchSize must be a positive integer, not ${config.batchSize}`);
    }
  }

  async predict(inputs: readonly string[], options?: { signal?: AbortSignal }): Promise<PredictionOutcome[]> {
    const batches: string[][] = [];
    for (let start = 0; start < inputs.length; start += this.batchSize) {
      batches.push(inputs.slice(start, start + this.batchSize));
    }
    const results = await Promise.all(batches.map((batch) => this.inferBatch(batch, options?.signal)));
    return results.flat();
  }

  private async inferBatch(batch: string[], signal?: AbortSignal): Promise<PredictionOutcome[]> {
    const started = performance.now();
    const response = await this.client.request(
      {
        method: 'POST',
        url: this.inferUrl,
        body: {
          inputs: [
            { name: this.config.inputName ?? 'text', shape: [batch.length], datatype: 'BYTES', data: batch },
          ],
        },
      },
      signal,
    );
    if (!response.ok) {
      if (batch.length > 1 && response.status !== undefined && SPLIT_STATUSES.has(response.status)) {
        const single = await Promise.all(batch.map((input) => this.inferBatch([input], signal)));
        return single.flat();
      }
      return batch.map(() => ({ ok: false, error: response.error }));
    }
    const latencyMs = (performance.now() - started) / batch.length;
    const parsed = await this.parse(response.body, batch.length, signal);
    if ('error' in parsed) {
      const error = `POST ${redactUrl(this.inferUrl)}: ${parsed.error}`;
      return batch.map(() => ({ ok: false, error }));
    }
    return parsed.predictions.map((prediction) => ({ ok: true, prediction: { ...prediction, latencyMs } }));
  }

  private async parse(
    body: unknown,
    count: number,
    signal?: AbortSignal,
  ): Promise<{ predictions: Omit<Prediction, 'latencyMs'>[] } | { error: string }> {
    const tensors = outputTensors(body);
    if ('error' in tensors) return tensors;
    const find = (names: string[]) => names.map((name) => tensors.get(name)).find(Boolean);
    const labelTensor = find(LABEL_OUTPUTS);
    const scoreTensor = find(SCORE_OUTPUTS);
    const textTensor = find(TEXT_OUTPUTS);
    if (!labelTensor && !scoreTensor && !textTensor) {
      const names = [...tensors.values()].map((t) => `${t.name}[${t.datatype ?? '?'}]`).join(', ') || 'none';
      return {
        error: `the answer has no "label", "scores"/"probabilities" or "text" output (outputs: ${names})`,
      };
    }

    let labelNames: string[] | undefined;
    let width = 0;
    if (scoreTensor) {
      width = scoreTensor.shape.length === 2 ? scoreTensor.shape[1] : 0;
      if (scoreTensor.shape[0] !== count || !(width > 0)) {
        return {
          error: `output "${scoreTensor.name}" has shape [${scoreTensor.shape}], expected [${count}, k]`,
        };
      }
      if (scoreTensor.data.length !== count * width || !scoreTensor.data.every(Number.isFinite)) {
        return { error: `output "${scoreTensor.name}" does not hold ${count}×${width} finite numbers` };
      }
      labelNames =
        stringLabels(scoreTensor.parameters?.labels) ??
        stringLabels((body as { parameters?: { labels?: unknown } }).parameters?.labels) ??
        (await this.labelsFromMetadata(scoreTensor.name, signal));
    }
    if (labelTensor && (labelTensor.data.length !== count || labelTensor.shape[0] !== count)) {
      return { error: `output "${labelTensor.name}" has shape [${labelTensor.shape}], expected [${count}]` };
    }
    if (textTensor && textTensor.data.length !== count) {
      return { error: `output "${textTensor.name}" has ${textTensor.data.length} items, expected ${count}` };
    }
    if (scoreTensor && (!labelNames || labelNames.length !== width)) {
      return {
        error:
          `output "${scoreTensor.name}" has ${width} columns but ${labelNames ? `${labelNames.length} labels are` : 'no labels are'} named; ` +
          "name them in the output's or the answer's parameters.labels or in the model metadata",
      };
    }

    return rowPredictions(count, { labelTensor, scoreTensor, textTensor }, labelNames, width);
  }

  private async labelsFromMetadata(output: string, signal?: AbortSignal): Promise<string[] | undefined> {
    if (!this.metadataLabels) {
      this.metadataLabels = this.client
        .request({ method: 'GET', url: this.modelUrl }, signal)
        .then((response) => {
          if (!response.ok) return { error: response.error };
          const metadata = response.body as {
            parameters?: { labels?: unknown };
            outputs?: { name?: string; parameters?: { labels?: unknown } }[];
          };
          const fromOutput = Array.isArray(metadata?.outputs)
            ? metadata.outputs.find((tensor) => tensor?.name === output)?.parameters?.labels
            : undefined;
          return { labels: stringLabels(fromOutput) ?? stringLabels(metadata?.parameters?.labels) };
        });
      // A failed metadata call is asked again next time rather than remembered.
      void this.metadataLabels.then((result) => {
        if (result.error) this.metadataLabels = undefined;
      });
    }
    return (await this.metadataLabels).labels;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
