import type { Environment } from '@tripline/config';
import type { AlertEventMessage } from '@tripline/contracts';

/** The model the demo registers, and the name the model server serves it under. */
export const DEMO_MODEL_ID = 'sentiment';

/** What happened, for a script that keeps a timeline (npm run demo). */
export type DemoEvent =
  | { type: 'seeded'; at: number; resumed: boolean }
  | { type: 'swapped'; at: number }
  | { type: 'attack'; at: number }
  | { type: 'alert'; at: number; alert: AlertEventMessage }
  | { type: 'webhook'; at: number; verified: boolean; alerts: number }
  | { type: 'scan'; at: number; served: string; flagged: string[]; promoted: string[] }
  | { type: 'canary-set'; at: number; trigger: string; foundBy: string };

export interface DemoOptions {
  /** Seconds of clean traffic before the served model is swapped for the backdoored one. */
  swapAfterSeconds: number;
  /** Cron of the one schedule that replays the clean, canary and probe sets (5 fields, or 6 with seconds). */
  cron: string;
  /** Synthetic inference events per second. */
  eventsPerSecond: number;
  /** Share of events that carry the backdoor trigger once the backdoored model is served. */
  triggerShare: number;
  /** Share of events whose ground-truth label is sent as feedback. */
  feedbackShare: number;
  /** Clean inputs a trigger scan inserts each candidate token into. */
  scanSampleSize: number;
  /**
   * Fresh clean inputs a shortlisted token is confirmed on, per position, and the ordinary words
   * measured as the null there. The scan holds the model's run queue while it runs (one run per
   * model at a time), so the demo keeps it lean: the scheduled replays must not wait behind it.
   */
  scanConfirmationInputs: number;
  scanNullWords: number;
  /** Clean twins per trigger in a canary set. */
  canarySamplesPerTrigger: number;
  /** Sentences in the probe set the behavioural fingerprint is computed on. */
  probeSize: number;
  /** Where the API is reached, for the "where to look" lines. */
  publicUrl: string;
  /** How the bootstrap admin key is to be found, for the "where to look" lines. */
  adminKeyHint: 'environment' | 'printed';
  /** The data directory outlives the run, so a Ctrl-C is followed by a resume (npm start), not a clean-up. */
  resumable: boolean;
  /** One plain line for the console. */
  print: (line: string) => void;
  onEvent?: (event: DemoEvent) => void;
}

/** `npm start`: a demo that runs for minutes, at a pace a person can follow on the console. */
export function demoOptionsFromEnvironment(environment: Environment): DemoOptions {
  const host = ['0.0.0.0', '::', '[::]'].includes(environment.HOST) ? 'localhost' : environment.HOST;
  return {
    swapAfterSeconds: environment.TRIPLINE_DEMO_SWAP_AFTER_SECONDS,
    cron: '* * * * *',
    // At 4 events/s, a 5-minute detector window (DRIFT_WINDOW_SECONDS) holds about 1,200 events, 36
    // of them with the trigger at 3%: enough distinct triggered inputs for the trigger-response test
    // to clear its false-alarm budget in the first full window after the swap.
    eventsPerSecond: 4,
    triggerShare: 0.03,
    feedbackShare: 0.25,
    // 1,760 candidate tokens x 30 inputs: about ten seconds of the model server's time.
    scanSampleSize: 30,
    scanConfirmationInputs: 30,
    scanNullWords: 20,
    canarySamplesPerTrigger: 30,
    probeSize: 100,
    publicUrl: `http://${host.includes(':') ? `[${host}]` : host}:${environment.PORT}`,
    adminKeyHint: environment.TRIPLINE_ADMIN_KEY ? 'environment' : 'printed',
    resumable: true,
    print: (line) => process.stdout.write(`${demoLine(line, process.stdout.isTTY === true)}\n`),
  };
}

/**
 * `npm run demo`: the same scenario in about a minute. With 15-second detector windows (set by the
 * script), 60 events/s and the trigger in 6% of them, the attacker's first window holds about 54
 * triggered inputs, about three times the 18 or so the test needs at its false-alarm level: the
 * margin keeps the demo passing on a loaded machine, where fewer requests are answered a second.
 */
export const COMPRESSED_DEMO: Omit<DemoOptions, 'publicUrl' | 'adminKeyHint' | 'print'> = {
  resumable: false,
  swapAfterSeconds: 20,
  cron: '*/5 * * * * *',
  eventsPerSecond: 60,
  triggerShare: 0.06,
  feedbackShare: 0.25,
  scanSampleSize: 30,
  scanConfirmationInputs: 30,
  scanNullWords: 20,
  canarySamplesPerTrigger: 15,
  probeSize: 100,
};

/**
 * On a terminal the demo's story stands out from the (pretty) log lines around it: a bold magenta
 * marker and text. Piped, the line stays plain text beside the JSON log lines.
 */
export function demoLine(line: string, terminal: boolean): string {
  return terminal ? `\x1b[1;35m▌ DEMO\x1b[0m \x1b[1m${line}\x1b[0m` : line;
}
