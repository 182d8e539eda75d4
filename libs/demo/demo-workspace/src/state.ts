import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What the demo needs to resume on the next start, beside what the registry already holds. The
 * model server's port is kept because the registered adapter URL names it: a restarted server on
 * the same port keeps the registered version valid, so no new version (and no spurious
 * "version changed") is needed unless the port has been taken meanwhile.
 */
export interface DemoState {
  version: 1;
  /** 'seeding' until every step of the seeding is done; a start that finds it finishes the seeding. */
  phase: 'seeding' | 'seeded';
  seededAt: string;
  modelServerPort: number;
  webhookPort: number;
  webhookSecret: string;
  /** The model folder the model server serves. */
  served: string;
  swappedAt: string | null;
  /** When the simulated attacker started sending the trigger. */
  attackStartedAt: string | null;
  cleanSetId?: string;
  scheduleId?: string;
  channelId?: string;
  /** Tokens a detector found and the demo turned into canary sets, so none is made twice. */
  promotedTriggers: string[];
}

export class DemoStateFile {
  readonly file: string;

  constructor(dataDirectory: string) {
    this.file = path.resolve(dataDirectory, 'demo', 'state.json');
  }

  /** The saved state, or undefined when the demo never ran here. A corrupt file is an error, not a fresh start. */
  read(): DemoState | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const state = JSON.parse(text) as DemoState;
    if (state.version !== 1)
      throw new Error(`${this.file}: unknown demo state version ${String(state.version)}`);
    return {
      ...state,
      attackStartedAt: state.attackStartedAt ?? null,
      promotedTriggers: state.promotedTriggers ?? [],
    };
  }

  /** Written to a temporary file and renamed over the old one, so a crash never leaves half a file. */
  write(state: DemoState): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}
