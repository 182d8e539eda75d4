export interface TableBufferOptions {
  maxRows: number;
  maxWaitMs: number;
}

type Writer<Row> = (rows: Row[]) => Promise<void>;

/**
 * Rows from many consumer batches, written to one table as one insert. `add` resolves once the
 * flush containing its rows succeeded and rejects if that flush failed, so a caller commits its
 * offsets exactly when its rows are stored, and redelivers them otherwise.
 */
export class TableBuffer<Row> {
  private rows: Row[] = [];
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: Writer<Row>,
    private readonly options: TableBufferOptions,
  ) {}

  get pending(): number {
    return this.rows.length;
  }

  add(rows: Row[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const stored = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    for (const row of rows) this.rows.push(row);
    if (this.rows.length >= this.options.maxRows) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.maxWaitMs);
    return stored;
  }

  /** Writes what is buffered now; resolves when that write (and any before it) has finished. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rows.length === 0) return this.flushing;
    const rows = this.rows;
    const waiters = this.waiters;
    this.rows = [];
    this.waiters = [];
    // Serialised: inserts of one table never race each other.
    this.flushing = this.flushing.then(async () => {
      try {
        await this.write(rows);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    });
    return this.flushing;
  }
}
