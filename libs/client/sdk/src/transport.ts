import type { RecordKind } from './types';

/** One buffered item, serialised when it was recorded so later changes by the caller cannot leak in. */
export interface BufferedItem {
  seq: number;
  json: string;
  bytes: number;
  /** The model_id, the Kafka key; null when an unvalidated item has none. */
  key: string | null;
  eventId?: string;
}

export type SendOutcome =
  | {
      ok: true;
      /** Items the receiver refused one by one; index is the position in the batch. */
      rejections: { index: number; event_id?: string; errors: { field: string; message: string }[] }[];
    }
  | {
      ok: false;
      error: Error;
      retriable: boolean;
      status?: number;
      retryAfterMs?: number;
      /** The receiver refused the batch for its size; smaller batches may pass. */
      tooLarge?: boolean;
    };

/** Delivers one batch once; retries, splitting and accounting are the recorder's. Never throws. */
export interface Transport {
  /** Bytes one item costs in a batch beyond its JSON, so maxBatchBytes bounds what goes on the wire. */
  overheadBytes(item: { key: string | null }): number;
  send(kind: RecordKind, batch: BufferedItem[]): Promise<SendOutcome>;
  close(): Promise<void>;
}
