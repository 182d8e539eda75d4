import {
  DEFAULT_MAX_LINE_BYTES,
  describeBytes,
  LineReadError,
  readLines,
  type ChunkSource,
  type LineReaderOptions,
} from './lines';

export interface CsvOptions extends LineReaderOptions {
  /** Longest record in bytes, line breaks inside quoted cells included; default: maxLineBytes. */
  maxRecordBytes?: number;
}

export interface CsvRecord {
  /** The line the record ends on (a quoted cell may span lines). */
  line: number;
  /** The line it starts on. */
  firstLine: number;
  /**
   * Cells by the header's names (trimmed). A record shorter than the header lacks the missing
   * names; cells past the header's count are dropped.
   */
  record: Record<string, string>;
}

/** Where the parser is inside the current record. */
interface RecordState {
  fields: string[];
  cell: string;
  /** Inside a quoted cell, which may go on over the next line. */
  quoted: boolean;
  /** Just past the closing quote of a quoted cell: a comma or the end of the line must follow. */
  closed: boolean;
  /** The unquoted cell has content, so a quote now would be inside it. */
  started: boolean;
  quoteLine: number;
}

const newRecord = (): RecordState => ({
  fields: [],
  cell: '',
  quoted: false,
  closed: false,
  started: false,
  quoteLine: 0,
});

/**
 * The records of a CSV input (RFC 4180: comma-separated, cells with a comma, quote or line break
 * quoted, a quote inside doubled; CRLF or LF line ends, a UTF-8 byte order mark at the start),
 * the first record naming the columns. Streamed: memory holds one record. Empty lines between
 * records are skipped. A line break inside a quoted cell is kept as "\n". Anything that breaks
 * the syntax (a quote inside an unquoted cell, text after a closing quote, a quoted cell never
 * closed) ends the reading with a LineReadError naming the line, as does a record over
 * `maxRecordBytes`.
 */
export async function* readCsvRecords(
  source: ChunkSource,
  options: CsvOptions = {},
): AsyncGenerator<CsvRecord> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxRecordBytes = options.maxRecordBytes ?? maxLineBytes;
  let header: string[] | undefined;
  let state = newRecord();
  let firstLine = 0;
  let recordBytes = 0;
  for await (const { line, text, bytes } of readLines(source, { maxLineBytes })) {
    if (state.quoted) {
      state.cell += '\n';
      recordBytes += 1;
    } else {
      if (text === '') continue;
      firstLine = line;
      recordBytes = 0;
    }
    recordBytes += bytes.length;
    if (recordBytes > maxRecordBytes)
      throw new LineReadError(
        firstLine,
        'record-too-long',
        `the record starting on this line is longer than the limit of ${maxRecordBytes} bytes (${describeBytes(maxRecordBytes)})`,
      );
    feedLine(state, text, line);
    if (state.quoted) continue;
    state.fields.push(state.cell);
    const fields = state.fields;
    state = newRecord();
    if (!header) {
      header = columnNames(fields, line);
      continue;
    }
    const cells = Math.min(header.length, fields.length);
    const record: [string, string][] = new Array(cells);
    for (let i = 0; i < cells; i++) record[i] = [header[i], fields[i]];
    // fromEntries: a column named "__proto__" becomes a property, not the record's prototype.
    yield { line, firstLine, record: Object.fromEntries(record) };
  }
  if (state.quoted)
    throw new LineReadError(
      state.quoteLine,
      'unclosed-quote',
      'the quoted cell that opens on this line is never closed (the input ends inside it)',
    );
}

function columnNames(fields: string[], line: number): string[] {
  const names = fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name))
      throw new LineReadError(line, 'duplicate-column', `the header names column "${name}" twice`);
    seen.add(name);
  }
  return names;
}

/** Parses one physical line into the record's cells; a quoted cell left open continues on the next. */
function feedLine(state: RecordState, text: string, line: number): void {
  let i = 0;
  while (i < text.length) {
    if (state.quoted) {
      const quote = text.indexOf('"', i);
      if (quote < 0) {
        state.cell += text.slice(i);
        return;
      }
      state.cell += text.slice(i, quote);
      if (text.charCodeAt(quote + 1) === 0x22) {
        state.cell += '"';
        i = quote + 2;
      } else {
        state.quoted = false;
        state.closed = true;
        i = quote + 1;
      }
      continue;
    }
    if (state.closed) {
      if (text[i] !== ',')
        throw new LineReadError(
          line,
          'stray-quote',
          `a quoted cell must be followed by "," or the end of the line (got ${JSON.stringify(text.slice(i, i + 10))} after its closing quote)`,
        );
      endCell(state);
      i++;
      continue;
    }
    if (text[i] === '"') {
      if (state.started)
        throw new LineReadError(
          line,
          'stray-quote',
          `a quote inside the unquoted cell ${JSON.stringify(state.cell.slice(0, 40))}; quote the whole cell and double the quotes in it ("")`,
        );
      state.quoted = true;
      state.quoteLine = line;
      i++;
      continue;
    }
    let stop = text.length;
    const comma = text.indexOf(',', i);
    if (comma >= 0) stop = comma;
    const quote = text.indexOf('"', i);
    if (quote >= 0 && quote < stop) stop = quote;
    if (stop > i) {
      state.cell += text.slice(i, stop);
      state.started = true;
    }
    i = stop;
    if (text[i] === ',') {
      endCell(state);
      i++;
    }
  }
}

function endCell(state: RecordState): void {
  state.fields.push(state.cell);
  state.cell = '';
  state.closed = false;
  state.started = false;
}
