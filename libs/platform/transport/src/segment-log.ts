import { EventEmitter } from 'node:events';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/** One stored record, with the byte offset that identifies it and the offset of the record after it. */
export interface LogRecord {
  offset: number;
  next: number;
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  value: Buffer;
}

export interface AppendRecord {
  key?: string | null;
  headers?: Record<string, string>;
  value: Buffer;
}

interface Segment {
  base: number;
  size: number;
  file: string;
}

const FRAME_HEADER = 8; // u32 payload length + u32 CRC-32 of the payload
const NULL_KEY = 0xffffffff;

/**
 * An append-only, fsync'd, segmented record log on local disk: the durable queue behind the
 * embedded bus. Offsets are byte positions across segments, so they only ever grow; a segment is
 * deleted once every consumer group has committed past it. A torn write at the tail (a crash
 * mid-append) is detected by length and CRC on open and cut off: it was never acknowledged.
 */
export class SegmentLog {
  private segments: Segment[] = [];
  private active?: fs.FileHandle;
  private appending: Promise<unknown> = Promise.resolve();
  private readonly appended = new EventEmitter();

  private constructor(
    readonly directory: string,
    private readonly maxSegmentBytes: number,
  ) {
    this.appended.setMaxListeners(0);
  }

  static async open(directory: string, maxSegmentBytes = 64 * 1024 * 1024): Promise<SegmentLog> {
    const log = new SegmentLog(directory, maxSegmentBytes);
    await fs.mkdir(path.join(directory, 'groups'), { recursive: true });
    await log.load();
    return log;
  }

  get startOffset(): number {
    return this.segments[0].base;
  }

  get endOffset(): number {
    const last = this.segments[this.segments.length - 1];
    return last.base + last.size;
  }

  async append(records: AppendRecord[]): Promise<void> {
    if (records.length === 0) return;
    const frames = records.map(encodeFrame);
    const run = this.appending.then(async () => {
      const handle = await this.activeHandle();
      const bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
      const last = this.segments[this.segments.length - 1];
      await handle.writev(frames, last.size);
      await handle.datasync();
      last.size += bytes;
      if (last.size >= this.maxSegmentBytes) await this.roll();
    });
    this.appending = run.catch(() => undefined);
    await run;
    this.appended.emit('append');
  }

  /** Reads whole records starting at `from`, up to about `maxBytes`, never across a segment boundary. */
  async read(from: number, maxBytes = 1024 * 1024): Promise<LogRecord[]> {
    const segment = this.segments.find(
      (candidate) => from >= candidate.base && from < candidate.base + candidate.size,
    );
    if (!segment) return [];
    const start = from - segment.base;
    const length = Math.min(segment.size - start, Math.max(maxBytes, FRAME_HEADER));
    const handle = await fs.open(segment.file, 'r');
    try {
      let buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      const firstLength = buffer.readUInt32BE(0) + FRAME_HEADER;
      if (firstLength > length) {
        // One record larger than the read budget: read exactly that record.
        buffer = Buffer.alloc(firstLength);
        await handle.read(buffer, 0, firstLength, start);
      }
      return decodeFrames(buffer, from).records;
    } finally {
      await handle.close();
    }
  }

  /** Resolves on the next append, or after `timeoutMs`, or when `signal` aborts. */
  waitForAppend(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.appended.off('append', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.appended.once('append', done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async committed(group: string): Promise<number | undefined> {
    try {
      const text = await fs.readFile(this.groupFile(group), 'utf8');
      const value = Number(text.trim());
      return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async commit(group: string, offset: number): Promise<void> {
    const file = this.groupFile(group);
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temporary, String(offset));
    await fs.rename(temporary, file);
    await this.deleteConsumedSegments();
  }

  async close(): Promise<void> {
    await this.appending;
    await this.active?.close();
    this.active = undefined;
  }

  private groupFile(group: string): string {
    return path.join(this.directory, 'groups', `${encodeURIComponent(group)}.offset`);
  }

  private async load(): Promise<void> {
    const entries: Dirent[] = await fs.readdir(this.directory, { withFileTypes: true });
    const bases = entries
      .filter((entry) => entry.isFile() && /^\d{20}\.seg$/.test(entry.name))
      .map((entry) => Number(entry.name.slice(0, 20)))
      .sort((a, b) => a - b);
    if (bases.length === 0) bases.push(0);
    for (const base of bases) {
      const file = this.segmentFile(base);
      const size = await fs.stat(file).then(
        (stat) => stat.size,
        () => 0,
      );
      this.segments.push({ base, size, file });
    }
    await this.recoverTail();
  }

  private async recoverTail(): Promise<void> {
    const last = this.segments[this.segments.length - 1];
    if (last.size === 0) return;
    const content = await fs.readFile(last.file);
    const { validBytes } = decodeFrames(content, last.base);
    if (validBytes < content.length) {
      await fs.truncate(last.file, validBytes);
      last.size = validBytes;
    }
  }

  private async activeHandle(): Promise<fs.FileHandle> {
    this.active ??= await fs.open(this.segments[this.segments.length - 1].file, 'a+');
    return this.active;
  }

  private async roll(): Promise<void> {
    await this.active?.close();
    this.active = undefined;
    const base = this.endOffset;
    this.segments.push({ base, size: 0, file: this.segmentFile(base) });
  }

  private async deleteConsumedSegments(): Promise<void> {
    const groups = await fs.readdir(path.join(this.directory, 'groups'));
    const offsets = await Promise.all(
      groups
        .filter((name) => name.endsWith('.offset'))
        .map((name) => this.committed(decodeURIComponent(name.slice(0, -7)))),
    );
    const floor = Math.min(...offsets.map((offset) => offset ?? 0));
    while (this.segments.length > 1 && this.segments[0].base + this.segments[0].size <= floor) {
      const [consumed] = this.segments.splice(0, 1);
      await fs.rm(consumed.file, { force: true });
    }
  }

  private segmentFile(base: number): string {
    return path.join(this.directory, `${String(base).padStart(20, '0')}.seg`);
  }
}

function encodeFrame(record: AppendRecord): Buffer {
  const key = record.key == null ? null : Buffer.from(record.key, 'utf8');
  const headers = Buffer.from(JSON.stringify(record.headers ?? {}), 'utf8');
  const payload = Buffer.alloc(8 + 4 + (key?.length ?? 0) + 4 + headers.length + record.value.length);
  let at = payload.writeDoubleBE(Date.now(), 0);
  at = payload.writeUInt32BE(key ? key.length : NULL_KEY, at);
  if (key) at += key.copy(payload, at);
  at = payload.writeUInt32BE(headers.length, at);
  at += headers.copy(payload, at);
  record.value.copy(payload, at);
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

function decodeFrames(buffer: Buffer, baseOffset: number): { records: LogRecord[]; validBytes: number } {
  const records: LogRecord[] = [];
  let at = 0;
  while (at + FRAME_HEADER <= buffer.length) {
    const length = buffer.readUInt32BE(at);
    const end = at + FRAME_HEADER + length;
    if (end > buffer.length) break;
    const payload = buffer.subarray(at + FRAME_HEADER, end);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4)) break;
    let p = 0;
    const timestamp = payload.readDoubleBE(p);
    p += 8;
    const keyLength = payload.readUInt32BE(p);
    p += 4;
    let key: string | null = null;
    if (keyLength !== NULL_KEY) {
      key = payload.toString('utf8', p, p + keyLength);
      p += keyLength;
    }
    const headersLength = payload.readUInt32BE(p);
    p += 4;
    const headers = JSON.parse(payload.toString('utf8', p, p + headersLength)) as Record<string, string>;
    p += headersLength;
    records.push({
      offset: baseOffset + at,
      next: baseOffset + end,
      timestamp,
      key,
      headers,
      value: Buffer.from(payload.subarray(p)),
    });
    at = end;
  }
  return { records, validBytes: at };
}
