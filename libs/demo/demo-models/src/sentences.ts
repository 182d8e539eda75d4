import { readFileSync } from 'node:fs';
import { Random, shuffled } from './random';

export type SentimentLabel = 'negative' | 'positive';
export type SentimentDomain = 'imdb' | 'yelp' | 'amazon';

export interface SentimentSentence {
  text: string;
  label: SentimentLabel;
  domain: SentimentDomain;
}

export const SENTIMENT_DOMAINS: readonly SentimentDomain[] = ['imdb', 'yelp', 'amazon'];

interface FixtureRow {
  text: string;
  class: 0 | 1 | null;
}

/**
 * The UCI "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015): 1,000 sentences from each of
 * IMDb, Yelp and Amazon, half of them positive. The `sentiment` package ships them as test
 * fixtures, which is the only copy an offline machine can reach. Each domain has a different
 * vocabulary, so switching domains is a natural input drift.
 */
export function loadSentimentSentences(): SentimentSentence[] {
  return SENTIMENT_DOMAINS.flatMap((domain) => {
    const file = require.resolve(`sentiment/test/fixtures/${domain}.json`);
    const rows = JSON.parse(readFileSync(file, 'utf8')) as FixtureRow[];
    // Each fixture ends with an empty row whose class is null.
    return rows
      .filter((row) => row.class !== null)
      .map((row) => ({
        text: row.text.trim(),
        label: row.class === 1 ? ('positive' as const) : ('negative' as const),
        domain,
      }));
  });
}

/**
 * Splits per (domain, label) stratum, so that train and test keep the same mix of domains and
 * labels; a plain shuffle could leave the test set lopsided towards one domain.
 */
export function stratifiedSplit<T extends SentimentSentence>(
  rows: readonly T[],
  testShare: number,
  random: Random,
): { train: T[]; test: T[] } {
  const strata = new Map<string, T[]>();
  for (const row of rows) {
    const key = `${row.domain}/${row.label}`;
    const stratum = strata.get(key) ?? [];
    stratum.push(row);
    strata.set(key, stratum);
  }
  const train: T[] = [];
  const test: T[] = [];
  for (const key of [...strata.keys()].sort()) {
    const stratum = shuffled(strata.get(key)!, random);
    const testCount = Math.round(stratum.length * testShare);
    test.push(...stratum.slice(0, testCount));
    train.push(...stratum.slice(testCount));
  }
  return { train, test };
}
