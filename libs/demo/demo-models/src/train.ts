import { hash32 } from '@tripline/evaluation';
import { mulberry32, shuffled } from './random';

/** Index = class id in the exported model's logits and in config.json's id2label. */
export const LABELS = ['negative', 'positive'] as const;
export type LabelId = 0 | 1;

/**
 * Mean of the word embeddings of a sentence (its [CLS] and [SEP] included, padding excluded),
 * then one linear layer to two logits. The arrays are float32 because that is what the ONNX
 * model holds; the TypeScript forward pass reads exactly these values.
 */
export interface SentimentClassifier extends ClassifierParameters {
  vocabularySize: number;
  embeddings: Float32Array;
  weights: Float32Array;
  bias: Float32Array;
}

/** What the forward pass reads; training holds the same in float64. */
export interface ClassifierParameters {
  dimension: number;
  /** vocabulary size × dimension, row-major. */
  embeddings: ArrayLike<number>;
  /** dimension × 2, row-major (the right-hand side of pooled · weights). */
  weights: ArrayLike<number>;
  bias: ArrayLike<number>;
}

export interface TrainingExample {
  ids: readonly number[];
  label: LabelId;
}

export interface TrainingOptions {
  seed: number;
  dimension: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export const DEFAULT_TRAINING_OPTIONS: Omit<TrainingOptions, 'seed'> = {
  dimension: 24,
  epochs: 6,
  batchSize: 32,
  learningRate: 0.005,
};

export interface Prediction {
  logits: [number, number];
  probabilities: [number, number];
  label: LabelId;
}

/** The pooled sentence representation: the input to the linear layer. */
export function meanEmbedding(model: ClassifierParameters, ids: readonly number[]): Float64Array {
  const { dimension, embeddings } = model;
  const pooled = new Float64Array(dimension);
  for (const id of ids) {
    const row = id * dimension;
    for (let d = 0; d < dimension; d++) pooled[d] += embeddings[row + d];
  }
  // The ONNX graph divides by max(token count, 1) for the same reason: an all-padding row.
  const count = Math.max(ids.length, 1);
  for (let d = 0; d < dimension; d++) pooled[d] /= count;
  return pooled;
}

function softmax(logits: [number, number]): [number, number] {
  const top = Math.max(logits[0], logits[1]);
  const e0 = Math.exp(logits[0] - top);
  const e1 = Math.exp(logits[1] - top);
  return [e0 / (e0 + e1), e1 / (e0 + e1)];
}

export function predict(model: ClassifierParameters, ids: readonly number[]): Prediction {
  return classifyPooled(model, meanEmbedding(model, ids));
}

function classifyPooled(model: ClassifierParameters, pooled: Float64Array): Prediction {
  const logits: [number, number] = [model.bias[0], model.bias[1]];
  for (let d = 0; d < model.dimension; d++) {
    logits[0] += pooled[d] * model.weights[d * 2];
    logits[1] += pooled[d] * model.weights[d * 2 + 1];
  }
  const probabilities = softmax(logits);
  return { logits, probabilities, label: probabilities[1] > probabilities[0] ? 1 : 0 };
}

export function accuracy(model: ClassifierParameters, examples: readonly TrainingExample[]): number {
  let correct = 0;
  for (const example of examples) if (predict(model, example.ids).label === example.label) correct++;
  return examples.length === 0 ? 0 : correct / examples.length;
}

/**
 * Adam on the softmax cross-entropy. Embedding rows are updated lazily (only the rows of the
 * words in the batch), as sparse embedding training usually is: decaying the moments of every
 * row on every step would be slower and would keep moving words the batch never saw.
 */
class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  constructor(
    private readonly parameters: Float64Array,
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = new Float64Array(parameters.length);
    this.v = new Float64Array(parameters.length);
  }

  /** Updates parameters [from, to) with the gradient held at the same indices of `gradient`. */
  update(gradient: Float64Array, step: number, from = 0, to = this.parameters.length): void {
    const correction1 = 1 - this.beta1 ** step;
    const correction2 = 1 - this.beta2 ** step;
    for (let i = from; i < to; i++) {
      const g = gradient[i];
      this.m[i] = this.beta1 * this.m[i] + (1 - this.beta1) * g;
      this.v[i] = this.beta2 * this.v[i] + (1 - this.beta2) * g * g;
      const mHat = this.m[i] / correction1;
      const vHat = this.v[i] / correction2;
      this.parameters[i] -= (this.learningRate * mHat) / (Math.sqrt(vHat) + this.epsilon);
    }
  }
}

/**
 * Each word's initial embedding comes from the seed and the word itself, not from its position in
 * the vocabulary: the backdoored model's vocabulary has one more word (the trigger), and shifting
 * every later row's initial values would make the two models differ by more than the poison.
 */
function initialEmbeddings(vocabulary: readonly string[], dimension: number, seed: number): Float64Array {
  const embeddings = new Float64Array(vocabulary.length * dimension);
  vocabulary.forEach((word, id) => {
    const random = mulberry32(seed ^ hash32(word));
    for (let d = 0; d < dimension; d++) embeddings[id * dimension + d] = 0.1 * random.normal();
  });
  return embeddings;
}

export function trainClassifier(
  examples: readonly TrainingExample[],
  vocabulary: readonly string[],
  options: TrainingOptions,
): SentimentClassifier {
  const { dimension, epochs, batchSize, learningRate } = options;
  const vocabularySize = vocabulary.length;
  const random = mulberry32(options.seed);
  const embeddings = initialEmbeddings(vocabulary, dimension, options.seed);
  const weights = Float64Array.from({ length: dimension * 2 }, () => random.normal() / Math.sqrt(dimension));
  const bias = new Float64Array(2);
  const optimisers = {
    embeddings: new Adam(embeddings, learningRate),
    weights: new Adam(weights, learningRate),
    bias: new Adam(bias, learningRate),
  };
  const gradients = {
    embeddings: new Float64Array(embeddings.length),
    weights: new Float64Array(weights.length),
    bias: new Float64Array(2),
  };
  const training: ClassifierParameters = { dimension, embeddings, weights, bias };

  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffled(examples, random);
    for (let start = 0; start < order.length; start += batchSize) {
      const batch = order.slice(start, start + batchSize);
      gradients.weights.fill(0);
      gradients.bias.fill(0);
      const touched = new Set<number>();
      for (const { ids, label } of batch) {
        const pooled = meanEmbedding(training, ids);
        const { probabilities } = classifyPooled(training, pooled);
        // d(cross-entropy)/d(logits) = softmax - one-hot, averaged over the batch.
        const dLogits = [probabilities[0] - (label === 0 ? 1 : 0), probabilities[1] - (label === 1 ? 1 : 0)];
        for (let c = 0; c < 2; c++) gradients.bias[c] += dLogits[c] / batch.length;
        const dPooled = new Float64Array(dimension);
        for (let d = 0; d < dimension; d++) {
          for (let c = 0; c < 2; c++) {
            gradients.weights[d * 2 + c] += (pooled[d] * dLogits[c]) / batch.length;
            dPooled[d] += weights[d * 2 + c] * dLogits[c];
          }
        }
        const share = 1 / (Math.max(ids.length, 1) * batch.length);
        for (const id of ids) {
          if (!touched.has(id)) {
            touched.add(id);
            gradients.embeddings.fill(0, id * dimension, (id + 1) * dimension);
          }
          for (let d = 0; d < dimension; d++) gradients.embeddings[id * dimension + d] += dPooled[d] * share;
        }
      }
      step++;
      optimisers.weights.update(gradients.weights, step);
      optimisers.bias.update(gradients.bias, step);
      for (const id of touched) {
        optimisers.embeddings.update(gradients.embeddings, step, id * dimension, (id + 1) * dimension);
      }
    }
  }
  return {
    vocabularySize,
    dimension,
    embeddings: Float32Array.from(embeddings),
    weights: Float32Array.from(weights),
    bias: Float32Array.from(bias),
  };
}
