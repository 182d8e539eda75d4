import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { contractJsonSchemas } from './json-schemas';

/** `npm run contracts:generate`: rewrites libs/kernel/contracts/schemas from the zod schemas. */
const directory = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  '..',
  'libs',
  'kernel',
  'contracts',
  'schemas',
);
for (const [file, schema] of Object.entries(contractJsonSchemas())) {
  writeFileSync(path.join(directory, file), `${JSON.stringify(schema, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), path.join(directory, file))}\n`);
}
