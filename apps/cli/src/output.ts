/** Prints rows as an aligned table, or as JSON when the user asked for it. */
export function printTable(rows: Record<string, unknown>[], columns: string[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((row) => columns.map((column) => format(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `${line(columns.map((column) => column.toUpperCase()))}\n${cells.map(line).join('\n')}\n`,
  );
}

export function printObject(value: unknown, json: boolean): void {
  if (json || typeof value !== 'object' || value === null) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    process.stdout.write(
      `${key.padEnd(18)} ${typeof entry === 'object' && entry !== null ? JSON.stringify(entry) : format(entry)}\n`,
    );
  }
}

function format(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (Array.isArray(value)) return value.join(',');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  const text = String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
