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
});
