/** What a model answered for one input. Classification fills label/scores, generation fills text. */
export interface Prediction {
  label?: string;
  /** Probability per label, when the model exposes them. */
  scores?: Record<string, number>;
  text?: string;
  /** Sources a RAG endpoint cited for its answer. */
  citations?: { id?: string; source: string }[];
  latencyMs: number;
}

/** One input's outcome: a failed call is recorded as such, never as a wrong answer. */
export type PredictionOutcome = { ok: true; prediction: Prediction } | { ok: false; error: string };

/**
 * A registered model, however it is reached. Adapters are created from an AdapterConfig by
 * createAdapter() and own their connection limits, timeouts and retries.
 */
export interface ModelAdapter {
  readonly kind: AdapterConfig['kind'];
  /** Predicts every input; the outcomes are in input order. */
  predict(inputs: readonly string[], options?: { signal?: AbortSignal }): Promise<PredictionOutcome[]>;
  /** The model's vocabulary, where it can be read (local models); candidate triggers for a scan. */
  vocabulary?(): Promise<string[] | undefined>;
  close(): Promise<void>;
}

export interface HttpCallOptions {
  /** Per request, default 10 000 ms. */
  timeoutMs?: number;
  /** Retries of a failed request (network error, 429, 5xx), default 2. */
  retries?: number;
  /** Requests in flight at once, default 4. */
  concurrency?: number;
  /** Extra request headers (e.g. Authorization); secret values are redacted in API responses and logs. */
  headers?: Record<string, string>;
}

export type AdapterConfig =
  | {
      kind: 'onnx';
      /** A transformers.js model folder (config.json, tokenizer files, onnx/). */
      path: string;
      /** Inputs per forward pass, default 32. */
      batchSize?: number;
      /** Run onnx/model_quantized.onnx (dtype q8); default: onnx/model.onnx (fp32) when present, else the quantised file. */
      quantized?: boolean;
    }
  | ({
      kind: 'oip-v2';
      /** Base URL of the server, e.g. http://host:8000 */
      url: string;
      modelName: string;
      modelVersion?: string;
      inputName?: string;
      /** Inputs per infer request, default 32. */
      batchSize?: number;
    } & HttpCallOptions)
  | ({
      kind: 'openai-chat';
      /** Base URL up to /v1, e.g. http://host:8000/v1 */
      url: string;
      model: string;
      /** Default with labels: "Classify the user's message. Answer with exactly one of these words: …". */
      systemPrompt?: string;
      /** Labels the reply is matched against, for classification. */
      labels?: string[];
    } & HttpCallOptions)
  | ({
      kind: 'custom-json';
      url: string;
      method?: 'POST' | 'PUT';
      /** JSON body with the placeholder "{{input}}" (a JSON string) anywhere in it. */
      requestTemplate: unknown;
      /** Dot/bracket paths into the JSON answer, e.g. "result.label", "result.probs", "choices[0].text". */
      responsePaths: { label?: string; scores?: string; text?: string; citations?: string };
    } & HttpCallOptions);
