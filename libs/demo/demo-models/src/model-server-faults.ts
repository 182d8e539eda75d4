import type http from 'node:http';
import { HttpError, send } from './model-server-http';

export interface ModelServerFaults {
  /** Each inference request waits this long before it is handled. */
  delayMs?: number;
  /**
   * Share of inference requests answered 503, spread evenly and deterministically: 0.5 fails
   * every second request, 1 every request. Deterministic so that a test knows what comes next.
   */
  errorRate?: number;
  /** Inference requests are answered 200 with a truncated, unparseable JSON body. */
  garbage?: boolean;
}

const NO_FAULTS: Required<ModelServerFaults> = { delayMs: 0, errorRate: 0, garbage: false };

function validFaults(input: unknown): Required<ModelServerFaults> {
  const faults = (input ?? {}) as Record<string, unknown>;
  const delayMs = faults.delayMs ?? 0;
  const errorRate = faults.errorRate ?? 0;
  const garbage = faults.garbage ?? false;
  if (typeof delayMs !== 'number' || !(delayMs >= 0))
    throw new HttpError(400, 'delayMs must be a number >= 0');
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) {
    throw new HttpError(400, 'errorRate must be a number from 0 to 1');
  }
  if (typeof garbage !== 'boolean') throw new HttpError(400, 'garbage must be true or false');
  return { delayMs, errorRate, garbage };
}

/**
 * The faults the server injects into inference requests, so that tests can prove how Tripline
 * behaves when a model endpoint is slow, failing or answering nonsense.
 */
export class FaultInjector {
  private active = NO_FAULTS;
  /** Error rates add up here; a request fails each time the credit reaches one. */
  private errorCredit = 0;
  /** Wake-ups of requests held back by delayMs, so that close() does not wait for them. */
  private readonly delayed = new Set<() => void>();
  /** Requests answered by a fault instead of the model. */
  failedByFault = 0;

  get faults(): Required<ModelServerFaults> {
    return this.active;
  }

  /** Replaces the faults (a 400 HttpError when they are invalid) and restarts the error spacing. */
  set(input: unknown): Required<ModelServerFaults> {
    this.active = validFaults(input);
    this.errorCredit = 0;
    return this.active;
  }

  /** Delay, injected errors and garbage, in that order; true when the fault has answered. */
  async inject(response: http.ServerResponse): Promise<boolean> {
    const active = this.active;
    if (active.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.delayed.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, active.delayMs);
        this.delayed.add(wake);
      });
    }
    this.errorCredit += active.errorRate;
    if (this.errorCredit >= 1 - 1e-9) {
      this.errorCredit -= 1;
      this.failedByFault++;
      send(response, 503, { error: 'injected fault: the model server is unavailable' });
      return true;
    }
    if (active.garbage) {
      this.failedByFault++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"outputs": [{"name": "label", "data": ["posi');
      return true;
    }
    return false;
  }

  /** Lets every delayed request go on at once (the server is closing). */
  wakeAll(): void {
    for (const wake of [...this.delayed]) wake();
  }
}
