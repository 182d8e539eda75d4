import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LineReadError,
  readCsvRecords,
  readJsonLines,
  readLines,
  type Chunk,
  type CsvOptions,
  type LineReaderOptions,
} from '@tripline/line-readers';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The same bytes in pieces of `size` bytes: every boundary a reader must join across. */
function pieces(input: string | Uint8Array, size: number): Uint8Array[] {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const lines = async (source: Iterable<Chunk>, options?: LineReaderOptions) =>
  (await collect(readLines(source, options))).map(({ line, text }) => [line, text]);

const csv = async (input: string, options?: CsvOptions) =>
  (await collect(readCsvRecords([input], options))).map(({ line, record }) => [line, record]);

async function refusal(promise: Promise<unknown>): Promise<LineReadError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof LineReadError, String(error));
    return error;
  }
  assert.fail('expected a LineReadError');
}

describe('readLines', () => {
  const text = '\uFEFFfirst\r\n\nsécond ✓\n\uFEFFkept\r\nlast without a break';
  const expected = [
    [1, 'first'],
    [2, ''],
    [3, 'sécond ✓'],
    [4, '\uFEFFkept'],
    [5, 'last without a break'],
  ];

  it('splits LF and CRLF, numbers blank lines, drops only the leading byte order mark', async () => {
    assert.deepEqual(await lines([text]), expected);
  });

  it('gives the same lines whatever the chunk boundaries (inside a character, a CRLF or the BOM)', async () => {
    for (const size of [1, 2, 3, 5, 7, 64])
      assert.deepEqual(await lines(pieces(text, size)), expected, `${size}`);
  });

  it('yields no empty line after a final line break, and nothing for an empty input', async () => {
    assert.deepEqual(await lines(['a\nb\n']), [
      [1, 'a'],
      [2, 'b'],
    ]);
    assert.deepEqual(await lines([]), []);
    assert.deepEqual(await lines(['\uFEFF']), [[1, '']]);
  });

  it('accepts a line of exactly the bound, its CR and a BOM beyond it', async () => {
    assert.deepEqual(await lines(pieces('\uFEFF12345678\r\n87654321', 3), { maxLineBytes: 8 }), [
      [1, '12345678'],
      [2, '87654321'],
    ]);
  });

  it('refuses a huge line as soon as it passes the bound, naming the line, without reading the rest', async () => {
    let pulled = 0;
    function* source(): Generator<Uint8Array> {
      yield new TextEncoder().encode('short\nshort too\n');
      for (let i = 0; i < 1_000; i++) {
        pulled++;
        yield new Uint8Array(64 * 1024).fill(0x61); // 64 MB of one line in all
      }
    }
    const error = await refusal(collect(readLines(source(), { maxLineBytes: 1024 * 1024 })));
    assert.equal(error.line, 3);
    assert.equal(error.problem, 'line-too-long');
    assert.equal(error.message, 'line 3: longer than the limit of 1048576 bytes per line (1 MiB)');
    assert.ok(pulled <= 17, `read ${pulled} chunks of 64 KiB for a 1 MiB bound`);
  });

  it('refuses bytes that are not UTF-8, naming the line', async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('fine\ncaf'), 0xc3, 0x28, 0x0a]);
    const error = await refusal(collect(readLines([bytes])));
    assert.deepEqual([error.line, error.problem], [2, 'invalid-utf8']);
  });
});

describe('readJsonLines', () => {
  it('skips blank lines, reports a malformed line by number and reads on', async () => {
    const input = '{"a":1}\n\n   \nnot json\r\n{"a":2}\n';
    const read = await collect(readJsonLines(pieces(input, 4)));
    assert.deepEqual(
      read.map((item) => ('problem' in item ? [item.line, 'problem'] : [item.line, item.value])),
      [
        [1, { a: 1 }],
        [4, 'problem'],
        [5, { a: 2 }],
      ],
    );
    const problem = read[1] as { problem: string };
    assert.match(problem.problem, /^expected one JSON object per line: /);
  });

  it('refuses a line its check refuses, before parsing it', async () => {
    const read = await collect(
      readJsonLines(['[[[1]]]\n[1]\n'], { check: (bytes) => (bytes.length > 3 ? 'too deep' : undefined) }),
    );
    assert.deepEqual(
      read.map((item) => ('problem' in item ? [item.line, item.problem] : [item.line, item.value])),
      [
        [1, 'too deep'],
        [2, [1]],
      ],
    );
  });

  it('reads a file that starts with a byte order mark', async () => {
    const [first] = await collect(readJsonLines(['\uFEFF{"text":"x"}\n']));
    assert.deepEqual(first, {
      line: 1,
      value: { text: 'x' },
      bytes: new TextEncoder().encode('{"text":"x"}'),
    });
  });
});

describe('readCsvRecords', () => {
  it('reads RFC 4180: trimmed header, quoted commas, doubled quotes, a cell over two lines, CRLF and a BOM', async () => {
    const input =
      '\uFEFF text , label ,source\r\n' +
      '"a, b",positive,x\r\n' +
      '\r\n' +
      '"he said ""hi""",negative,\r\n' +
      '"two\r\nlines",positive,y\r\n' +
      'plain,negative,z';
    const expected = [
      [2, { text: 'a, b', label: 'positive', source: 'x' }],
      [4, { text: 'he said "hi"', label: 'negative', source: '' }],
      [6, { text: 'two\nlines', label: 'positive', source: 'y' }],
      [7, { text: 'plain', label: 'negative', source: 'z' }],
    ];
    assert.deepEqual(await csv(input), expected);
    for (const size of [1, 2, 5, 9]) {
      const read = await collect(readCsvRecords(pieces(input, size)));
      assert.deepEqual(
        read.map(({ line, record }) => [line, record]),
        expected,
        `${size}`,
      );
    }
    const [, , multi] = await collect(readCsvRecords([input]));
    assert.deepEqual([multi.firstLine, multi.line], [5, 6]);
  });

  it('skips empty lines, keeps a short record short and drops cells past the header', async () => {
    assert.deepEqual(await csv('\n\na,b\n\n1\n\n1,2,3\n,\n'), [
      [5, { a: '1' }],
      [7, { a: '1', b: '2' }],
      [8, { a: '', b: '' }],
    ]);
    assert.deepEqual(await csv(''), []);
    assert.deepEqual(await csv('a,b\n'), [], 'a header alone holds no record');
  });

  it('names a column called __proto__ as a column, not as the prototype', async () => {
    const [[, record]] = await csv('__proto__,b\nx,y\n');
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(record, '__proto__')?.value, 'x');
  });

  it('refuses malformed quotes, naming the line', async () => {
    const cases: [string, number, string, RegExp][] = [
      ['text,label\nfine,a\n"never closed,a\nmore,b\n', 3, 'unclosed-quote', /never closed/],
      ['text,label\nfine,a\n5" screen,a\n', 3, 'stray-quote', /a quote inside the unquoted cell "5"/],
      [
        'text,label\n"closed"then,a\n',
        2,
        'stray-quote',
        /followed by "," or the end of the line \(got "then,a"/,
      ],
      ['text,text\n', 1, 'duplicate-column', /column "text" twice/],
    ];
    for (const [input, line, problem, reason] of cases) {
      const error = await refusal(csv(input));
      assert.deepEqual([error.line, error.problem], [line, problem], input);
      assert.match(error.message, reason);
      assert.match(error.message, new RegExp(`^line ${line}: `));
    }
  });

  it('refuses a huge line, and a record whose quoted cell runs on past the record bound', async () => {
    const long = await refusal(csv(`text,label\n${'x'.repeat(100)},a\n`, { maxLineBytes: 64 }));
    assert.deepEqual([long.line, long.problem], [2, 'line-too-long']);
    const spanning = `text,label\nok,a\n"${'short line\n'.repeat(20)}",b\n`;
    const record = await refusal(csv(spanning, { maxLineBytes: 64, maxRecordBytes: 128 }));
    assert.deepEqual([record.line, record.problem], [3, 'record-too-long']);
    assert.match(
      record.message,
      /^line 3: the record starting on this line is longer than the limit of 128 bytes/,
    );
  });
});
