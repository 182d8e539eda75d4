import type { OutgoingMessage } from './event-bus';

/**
 * Bytes of messages per produce request. The broker refuses a record batch (all of a request's
 * messages for one partition) over its `message.max.bytes`, 1 MB by default; half of that leaves
 * room for the record framing.
 */
export const PRODUCE_REQUEST_BYTES = 512 * 1024;

/** What one message adds to a record batch: its key, value and headers, and the record's framing. */
function messageBytes(message: OutgoingMessage): number {
  let bytes = 64 + Buffer.byteLength(message.value) + (message.key ? Buffer.byteLength(message.key) : 0);
  for (const [name, value] of Object.entries(message.headers ?? {}))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  return bytes;
}

/**
 * Items in consecutive groups, in order, each holding at most `maxBytes` by `sizeOf` and at most
 * `maxItems` items (an item larger than `maxBytes` alone in its group). Shared by whatever must
 * cut a stream of messages under a size limit: produce requests here, per-sample evaluation rows
 * into messages.
 */
export function groupsWithin<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxItems = Infinity,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * The messages of one publish as consecutive requests of at most `maxBytes` each, in order (a
 * message larger than that alone in its request). The outbox hands over up to 500 messages at a
 * time, a large evaluation's per-sample rows a few hundred KB each, and an HTTP batch up to 8 MB:
 * sent as one request, their partition's batch would exceed the broker's limit.
 */
export function produceRequests<T extends OutgoingMessage>(
  messages: readonly T[],
  maxBytes = PRODUCE_REQUEST_BYTES,
): T[][] {
  return groupsWithin(messages, messageBytes, maxBytes);
}
