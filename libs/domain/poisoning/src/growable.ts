type TypedArray = Uint32Array | Float32Array | Uint16Array;
type TypedArrayConstructor<T extends TypedArray> = { new (length: number): T };

/**
 * An append-only typed array that doubles when full: per-row features of a streamed file take a
 * few flat buffers instead of one object per row.
 */
export class Growable<T extends TypedArray> {
  private buffer: T;
  length = 0;

  constructor(
    private readonly type: TypedArrayConstructor<T>,
    initial = 1_024,
  ) {
    this.buffer = new type(initial);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new this.type(size);
    next.set(this.buffer.subarray(0, this.length) as never);
    this.buffer = next;
  }

  push(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  pushAll(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.buffer.set(values as never, this.length);
    this.length += values.length;
  }

  /** The filled part, without a copy. */
  view(): T {
    return this.buffer.subarray(0, this.length) as T;
  }
}
