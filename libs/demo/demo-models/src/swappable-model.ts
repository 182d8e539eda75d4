import { existsSync } from 'node:fs';
import path from 'node:path';
import { OnnxAdapter } from '@tripline/adapters';
import { HttpError } from './model-server-http';

/** A loaded folder, closed once it has been swapped out and its last request is done. */
interface Served {
  model: string;
  adapter: OnnxAdapter;
  labels: string[];
  active: number;
  retired: boolean;
}

/**
 * The model folder behind the demo server's one public name. A swap loads the next folder before
 * it takes over, and a request in flight finishes on the folder it started on: callers see no
 * gap and no error, only different answers — the silent swap a fingerprint has to notice.
 */
export class SwappableModel {
  /** When the folder was last swapped (ISO 8601); undefined until the first swap. */
  swappedAt?: string;

  private constructor(
    private readonly modelsDir: string,
    private served: Served,
  ) {}

  /** Loads the first folder from modelsDir. */
  static async open(modelsDir: string, model: string): Promise<SwappableModel> {
    return new SwappableModel(modelsDir, await load(modelsDir, model));
  }

  /** The folder served now. */
  get model(): string {
    return this.served.model;
  }

  get labels(): string[] {
    return this.served.labels;
  }

  /** Serves another folder from modelsDir; resolves once it is loaded. */
  async swap(model: string): Promise<void> {
    const next = await load(this.modelsDir, model);
    const previous = this.served;
    this.served = next;
    this.swappedAt = new Date().toISOString();
    previous.retired = true;
    if (previous.active === 0) await previous.adapter.close();
  }

  /** Probabilities by label for each text, in label order. */
  async classify(texts: string[]): Promise<{ label: string; scores: Record<string, number> }[]> {
    const entry = this.served;
    entry.active++;
    try {
      const outcomes = await entry.adapter.predict(texts);
      return outcomes.map((outcome) => {
        if (!outcome.ok) throw new HttpError(500, outcome.error);
        const scores = outcome.prediction.scores ?? {};
        return {
          label: outcome.prediction.label!,
          scores: Object.fromEntries(entry.labels.map((label) => [label, scores[label] ?? 0])),
        };
      });
    } finally {
      entry.active--;
      if (entry.retired && entry.active === 0) void entry.adapter.close();
    }
  }

  async close(): Promise<void> {
    await this.served.adapter.close();
  }
}

async function load(modelsDir: string, model: string): Promise<Served> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) {
    throw new HttpError(400, `"${model}" is not a model folder name`);
  }
  const folder = path.join(modelsDir, model);
  if (!existsSync(path.join(folder, 'config.json'))) {
    throw new HttpError(404, `no model folder "${model}" in ${modelsDir}`);
  }
  const adapter = new OnnxAdapter({ kind: 'onnx', path: folder });
  try {
    return { model, adapter, labels: await adapter.labels(), active: 0, retired: false };
  } catch (error) {
    await adapter.close();
    throw new HttpError(500, (error as Error).message);
  }
}
