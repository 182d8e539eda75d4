import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allowListEntryProblem,
  CitationTally,
  checkEventCitations,
  citationFailures,
  citationViolationRecord,
  compileAllowList,
  isSourceAllowed,
  RAG_CITATION_RULE_METRIC,
  storedAllowList,
} from '@tripline/rag';
import { driftMetricSchema } from '@tripline/contracts';

describe('RAG allow-lists', () => {
  const list = compileAllowList(['https://wiki.corp/*', 'kb:policies', ' kb:policies ']);

  it('matches exact entries and "*" prefixes, case-sensitively, on the trimmed source', () => {
    assert.deepEqual(list.entries, ['https://wiki.corp/*', 'kb:policies']);
    assert.equal(isSourceAllowed(list, 'kb:policies'), true);
    assert.equal(isSourceAllowed(list, ' kb:policies\n'), true);
    assert.equal(isSourceAllowed(list, 'https://wiki.corp/handbook/leave'), true);
    assert.equal(isSourceAllowed(list, 'kb:policies-old'), false);
    assert.equal(isSourceAllowed(list, 'KB:policies'), false);
    assert.equal(isSourceAllowed(list, 'https://wiki.corp.evil.example/x'), false);
    assert.equal(
      isSourceAllowed(compileAllowList([]), 'kb:policies'),
      false,
      'an empty list approves nothing',
    );
  });

  it('refuses entries that would approve everything or hide a wildcard in the middle', () => {
    assert.match(allowListEntryProblem('*')!, /every source/);
    assert.match(allowListEntryProblem(' ** ')!, /every source/);
    assert.match(allowListEntryProblem('')!, /empty/);
    assert.match(allowListEntryProblem('https://*.corp/')!, /only allowed at the end/);
    assert.equal(allowListEntryProblem('https://wiki.corp/*'), undefined);
    assert.throws(() => compileAllowList(['ok', '*']), /every source/);
  });

  it('names each citation outside the list as a failure', () => {
    const checked = citationFailures(
      [
        { source: 'kb:policies', id: 'd1' },
        { source: 'https://pastebin.example/x', id: 'd9' },
        { source: 'x' },
      ],
      list,
    );
    assert.deepEqual(
      checked.violations.map((citation) => citation.source),
      ['https://pastebin.example/x', 'x'],
    );
    assert.deepEqual(checked.failures, [
      'cited "https://pastebin.example/x" (document "d9"), which is not on the allow-list',
      'cited "x", which is not on the allow-list',
    ]);
    assert.deepEqual(citationFailures(undefined, list), { violations: [], failures: [] });
  });
});

describe('RAG canary citations', () => {
  it('fails an answer once per bad answer, names every bad source, and reports count and rate', () => {
    const list = compileAllowList(['kb:policies', 'https://wiki.corp/*']);
    const tally = new CitationTally();
    assert.deepEqual(tally.check([{ source: 'kb:policies' }, { source: 'https://wiki.corp/a' }], list), []);
    assert.deepEqual(tally.check(undefined, list), [], 'an answer citing nothing cites nothing bad');
    assert.equal(
      tally.check([{ source: 'https://evil.example/1', id: 'x' }, { source: 'https://evil.example/1' }], list)
        .length,
      2,
    );
    tally.check([{ source: 'zz:other' }, { source: 'https://evil.example/1' }], list);
    assert.deepEqual(tally.summary(), {
      checked: 4,
      violations: 2,
      rate: 0.5,
      unapprovedSources: [
        { source: 'https://evil.example/1', answers: 2 },
        { source: 'zz:other', answers: 1 },
      ],
    });
    assert.equal(new CitationTally().summary().rate, null);
  });
});

describe('the RAG stream rule', () => {
  const lists: Record<string, string[] | null> = { bot: ['kb:policies', 'https://wiki.corp/*'], open: null };
  const allowListOf = (model: string) => storedAllowList(lists[model]);
  const T0 = Date.parse('2026-03-01T12:00:00Z');
  const event = (id: string, model: string, at: number, ...sources: string[]) => ({
    event_id: id,
    model_id: model,
    timestamp: T0 + at,
    rag: { documents: sources.map((source, i) => ({ id: `${id}-d${i}`, source })) },
  });

  it('checks only models with an allow-list and events with documents; groups violations per model', () => {
    const groups = checkEventCitations(
      [
        event('e1', 'bot', 1_000, 'kb:policies'),
        event('e2', 'bot', 3_000, 'kb:policies', 'https://evil.example/a'),
        event('e3', 'bot', 2_000, 'https://evil.example/b', 'zz:other', 'https://evil.example/a'),
        event('e4', 'open', 2_000, 'https://evil.example/a'),
        event('e5', 'unknown', 2_000, 'https://evil.example/a'),
        { event_id: 'e6', model_id: 'bot', timestamp: T0 + 5_000 },
        event('e7', 'bot', 9_000),
      ],
      allowListOf,
    );
    assert.equal(groups.length, 1);
    const [group] = groups;
    assert.equal(group.modelId, 'bot');
    assert.equal(group.checked, 3, 'e1, e2 and e3 carry documents');
    assert.deepEqual(
      group.violating.map((violating) => [violating.eventId, violating.violations.map((c) => c.source)]),
      [
        ['e2', ['https://evil.example/a']],
        ['e3', ['https://evil.example/b', 'zz:other', 'https://evil.example/a']],
      ],
    );

    const record = citationViolationRecord(group)!;
    const message = driftMetricSchema.parse(record);
    assert.equal(`drift.${message.metric}.${message.detector}`, RAG_CITATION_RULE_METRIC);
    assert.equal(message.statistic, 2, 'violating events');
    assert.equal(message.sample_size, 3);
    assert.equal(message.reference_size, 2);
    assert.equal(message.window_start, T0 + 2_000, 'the window spans the violating events');
    assert.equal(message.window_end, T0 + 3_000);
    assert.equal(message.verdict, 'drift');
    assert.deepEqual(message.labels, {
      unapproved_sources: 'https://evil.example/a,https://evil.example/b,zz:other',
    });
    assert.deepEqual((message.details as { unapproved: unknown[] }).unapproved[0], {
      source: 'https://evil.example/a',
      events: 2,
      documents: ['e2-d1', 'e3-d2'],
    });
  });

  it('publishes nothing for a batch without violations, and keeps a long label within the contract', () => {
    const [clean] = checkEventCitations([event('e1', 'bot', 1, 'kb:policies')], allowListOf);
    assert.equal(citationViolationRecord(clean), undefined);
    const many = Array.from({ length: 80 }, (_, i) => `https://evil.example/${'x'.repeat(20)}/${i}`);
    const [group] = checkEventCitations([event('e1', 'bot', 1, ...many)], allowListOf);
    const record = citationViolationRecord(group)!;
    assert.ok(driftMetricSchema.safeParse(record).success);
    assert.ok(record.labels!.unapproved_sources.length <= 1_024);
    assert.ok(record.labels!.unapproved_sources.endsWith(',…'));
  });
});
