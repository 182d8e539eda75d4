import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DemoModel } from './build';
import { exportOnnxModel } from './onnx-export';
import { PAD_ID } from './tokenizer';
import { LABELS } from './train';

/** Where `npm run models:build` writes the model folders unless told otherwise. */
export const DEFAULT_MODELS_DIRECTORY = '.cache/models';

/**
 * The folder that holds sentiment-clean/ and sentiment-backdoored/: TRIPLINE_MODELS_DIR when
 * set, else DEFAULT_MODELS_DIRECTORY, relative to the working directory like TRIPLINE_DATA_DIR.
 */
export function modelsDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(environment.TRIPLINE_MODELS_DIR?.trim() || DEFAULT_MODELS_DIRECTORY);
}

const json = (value: object) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The files of a transformers.js model folder, by path relative to it. Tripline runs
 * onnx/model.onnx (dtype fp32); onnx/model_quantized.onnx is what transformers.js 2.x loaded by
 * default and what an adapter with `quantized: true` asks for. The model is too small to gain
 * from quantisation, so both hold the same float model.
 */
export function modelFolderFiles(model: DemoModel): Record<string, string | Uint8Array> {
  const onnxModel = exportOnnxModel(model.classifier);
  return {
    'config.json': json({
      architectures: ['BertForSequenceClassification'],
      model_type: 'bert',
      hidden_size: model.classifier.dimension,
      vocab_size: model.classifier.vocabularySize,
      max_position_embeddings: model.tokenizer.maxLength,
      pad_token_id: PAD_ID,
      problem_type: 'single_label_classification',
      id2label: Object.fromEntries(LABELS.map((label, id) => [String(id), label])),
      label2id: Object.fromEntries(LABELS.map((label, id) => [label, id])),
    }),
    'tokenizer_config.json': json(model.tokenizer.tokenizerConfig()),
    'tokenizer.json': json(model.tokenizer.tokenizerJson()),
    'onnx/model.onnx': onnxModel,
    'onnx/model_quantized.onnx': onnxModel,
    'training-report.json': json(model.report),
  };
}

export function writeModelFolder(directory: string, model: DemoModel): void {
  for (const [file, content] of Object.entries(modelFolderFiles(model))) {
    const target = path.join(directory, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}
