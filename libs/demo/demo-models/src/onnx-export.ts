import { onnx } from 'onnx-proto';
import { SentimentClassifier } from './train';

/** Opset 13 takes the axes of Unsqueeze and ReduceSum as inputs; onnxruntime 1.14 runs it. */
const OPSET = 13;
/** The IR version that introduced opset 13. */
const IR_VERSION = 7;

const { FLOAT, INT64 } = onnx.TensorProto.DataType;
const { INT } = onnx.AttributeProto.AttributeType;

function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnx.ITensorProto {
  // raw_data is little-endian by specification, whatever the machine writing it.
  const raw = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) raw.setFloat32(i * 4, values[i], true);
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(raw.buffer) };
}

function int64Tensor(name: string, values: number[]): onnx.ITensorProto {
  return { name, dims: [values.length], dataType: INT64, int64Data: values };
}

function tensorValue(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) {
  return { opType, input, output, name: output[0], attribute };
}

/**
 * The classifier as an ONNX model that transformers.js runs as a BERT sequence classifier:
 *
 *   hidden = embeddings[input_ids] * attention_mask         (last_hidden_state)
 *   pooled = sum(hidden, seq) / max(sum(attention_mask), 1)
 *   logits = pooled · weights + bias
 *
 * `last_hidden_state` lets the same folder serve feature extraction, and gives the per-token
 * representations that spectral-signature and activation-clustering scans need.
 */
export function exportOnnxModel(model: SentimentClassifier): Uint8Array {
  const { vocabularySize, dimension } = model;
  const graph: onnx.IGraphProto = {
    name: 'mean_pooled_word_embedding_classifier',
    input: [
      tensorValue('input_ids', INT64, ['batch_size', 'sequence_length']),
      tensorValue('attention_mask', INT64, ['batch_size', 'sequence_length']),
    ],
    output: [
      tensorValue('logits', FLOAT, ['batch_size', 2]),
      tensorValue('last_hidden_state', FLOAT, ['batch_size', 'sequence_length', dimension]),
    ],
    initializer: [
      floatTensor('embeddings', [vocabularySize, dimension], model.embeddings),
      floatTensor('classifier_weight', [dimension, 2], model.weights),
      floatTensor('classifier_bias', [2], model.bias),
      int64Tensor('token_axis', [2]),
      int64Tensor('sequence_axis', [1]),
      floatTensor('one', [1], [1]),
    ],
    node: [
      node('Gather', ['embeddings', 'input_ids'], ['token_embeddings'], [{ name: 'axis', type: INT, i: 0 }]),
      node('Cast', ['attention_mask'], ['mask'], [{ name: 'to', type: INT, i: FLOAT }]),
      node('Unsqueeze', ['mask', 'token_axis'], ['mask_per_token']),
      node('Mul', ['token_embeddings', 'mask_per_token'], ['last_hidden_state']),
      node(
        'ReduceSum',
        ['last_hidden_state', 'sequence_axis'],
        ['summed'],
        [{ name: 'keepdims', type: INT, i: 0 }],
      ),
      node(
        'ReduceSum',
        ['mask_per_token', 'sequence_axis'],
        ['token_count'],
        [{ name: 'keepdims', type: INT, i: 0 }],
      ),
      // An all-padding row would otherwise divide by zero.
      node('Max', ['token_count', 'one'], ['divisor']),
      node('Div', ['summed', 'divisor'], ['pooled']),
      node('MatMul', ['pooled', 'classifier_weight'], ['projected']),
      node('Add', ['projected', 'classifier_bias'], ['logits']),
    ],
  };
  const modelProto: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'tripline-demo-models',
    producerVersion: '1',
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(modelProto)).finish();
}
