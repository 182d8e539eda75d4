import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readSampleUpload, UploadRejected, type SampleRow } from '@tripline/registry';

async function upload(csv: string): Promise<(SampleRow & { line: number })[]> {
  const rows: (SampleRow & { line: number })[] = [];
  await readSampleUpload(Readable.from([csv]), { format: 'csv', kind: 'clean' }, async (batch) => {
    rows.push(...batch);
  });
  return rows;
}

describe('dataset upload: row-level provenance', () => {
  it('accepts the id and source columns that `tripline scan dataset` reads', async () => {
    const rows = await upload(
      'id,text,label,source\nr1,good film,positive,vendor-a\nr2,dull film,negative,\n',
    );
    assert.deepEqual(
      rows.map((row) => [row.id, row.source]),
      [
        ['r1', 'vendor-a'],
        ['r2', undefined],
      ],
    );
  });

  it('refuses a source that contradicts metadata.source, naming the line', async () => {
    const jsonl = `${JSON.stringify({ text: 'x', label: 'a', source: 'vendor-a', metadata: { source: 'vendor-b' } })}\n`;
    await assert.rejects(
      readSampleUpload(Readable.from([jsonl]), { format: 'jsonl', kind: 'clean' }, async () => {}),
      (error: unknown) =>
        error instanceof UploadRejected &&
        error.problems[0].line === 1 &&
        error.problems[0].field === 'source' &&
        /differs from metadata\.source/.test(error.problems[0].message),
    );
  });

  it('reads a CSV with a BOM, CRLF and a quoted cell over two lines, numbering lines as the CLI does', async () => {
    const rows = await upload('\uFEFFtext,label\r\n"two\r\nlines",a\r\n\r\nplain,b\r\n');
    assert.deepEqual(
      rows.map((row) => [row.line, row.text, row.label]),
      [
        [3, 'two\nlines', 'a'],
        [5, 'plain', 'b'],
      ],
    );
  });

  it('refuses a CSV whose quote breaks the syntax, naming the line of the quoted cell', async () => {
    await assert.rejects(
      upload('text,label\nfine,a\n"never closed,b\nmore,c\n'),
      (error: unknown) =>
        error instanceof UploadRejected &&
        error.status === 400 &&
        error.problems.some(
          (problem) =>
            problem.line === 3 && problem.field === '(csv)' && /never closed/.test(problem.message),
        ),
    );
  });
});
