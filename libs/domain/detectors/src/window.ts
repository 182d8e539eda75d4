import { tokenise } from './tokens';
import type { WindowEvent } from './types';

/**
 * A window of events with the views the detectors share, each computed once on first use: a
 * suite of detectors over one window tokenises its texts once, not once per detector.
 */
export class EventWindow {
  private tokenSets?: readonly (readonly string[])[];

  constructor(readonly events: readonly WindowEvent[]) {}

  get size(): number {
    return this.events.length;
  }

  /** The distinct tokens of each event's text, in event order. */
  get tokens(): readonly (readonly string[])[] {
    this.tokenSets ??= this.events.map((event) => tokenise(event.text));
    return this.tokenSets;
  }

  labelCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const event of this.events) counts.set(event.label, (counts.get(event.label) ?? 0) + 1);
    return counts;
  }

  confidences(): Float64Array {
    const values: number[] = [];
    for (const event of this.events) {
      if (event.confidence !== null && Number.isFinite(event.confidence)) values.push(event.confidence);
    }
    return Float64Array.from(values);
  }

  textLengths(): Float64Array {
    return Float64Array.from(this.events, (event) => event.textLength ?? [...event.text].length);
  }

  /** Events whose feedback has arrived: how many, and how many of them the model got right. */
  feedback(): { labelled: number; correct: number } {
    let labelled = 0;
    let correct = 0;
    for (const event of this.events) {
      if (event.correct === true || event.correct === false) {
        labelled++;
        if (event.correct) correct++;
      }
    }
    return { labelled, correct };
  }
}

export function asWindow(events: EventWindow | readonly WindowEvent[]): EventWindow {
  return events instanceof EventWindow ? events : new EventWindow(events);
}
