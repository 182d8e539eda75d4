import type { driftMetricSchema, InferenceEvent } from '@tripline/contracts';
import type { z } from 'zod';
import { checkCitations, compileAllowList, type AllowList, type Citation } from './allow-list';

/**
 * The stream rule: an inference event whose rag.documents cite a source outside the model's
 * allow-list. Violations are published on the metrics topic as metric "rag_citation", detector
 * "allow_list", which the alerter observes as drift.rag_citation.allow_list: an alert rule on that
 * observation (value: violating events) turns them into alerts with the usual lifecycle.
 */
export const RAG_CITATION_METRIC = 'rag_citation';
export const RAG_CITATION_DETECTOR = 'allow_list';
/** The name an alert rule's `metric` uses. */
export const RAG_CITATION_RULE_METRIC = `drift.${RAG_CITATION_METRIC}.${RAG_CITATION_DETECTOR}`;

const MAX_LABEL = 1_024;
const MAX_LISTED_EVENTS = 20;
const MAX_LISTED_DOCUMENTS = 10;

export interface ViolatingEvent {
  eventId: string;
  timestamp: number;
  violations: Citation[];
}

/** One model's share of a batch of events. */
export interface CitationCheckGroup {
  modelId: string;
  allowList: AllowList;
  /** Events of the model with retrieved documents that were checked. */
  checked: number;
  violating: ViolatingEvent[];
}

/**
 * Checks the retrieved documents of every event whose model has an allow-list; models without
 * one (undefined) are not checked, events without documents cite nothing.
 */
export function checkEventCitations(
  events: readonly Pick<InferenceEvent, 'event_id' | 'model_id' | 'timestamp' | 'rag'>[],
  allowListOf: (modelId: string) => AllowList | undefined,
): CitationCheckGroup[] {
  const groups = new Map<string, CitationCheckGroup>();
  for (const event of events) {
    const documents = event.rag?.documents ?? [];
    if (documents.length === 0) continue;
    const allowList = allowListOf(event.model_id);
    if (!allowList) continue;
    let group = groups.get(event.model_id);
    if (!group)
      groups.set(event.model_id, (group = { modelId: event.model_id, allowList, checked: 0, violating: [] }));
    group.checked++;
    const { violations } = checkCitations(documents, allowList);
    if (violations.length > 0)
      group.violating.push({ eventId: event.event_id, timestamp: event.timestamp, violations });
  }
  return [...groups.values()];
}

/** An allow-list as stored with a model (null: none configured). */
export function storedAllowList(entries: readonly string[] | null | undefined): AllowList | undefined {
  return entries ? compileAllowList(entries) : undefined;
}

export type CitationMetricRecord = z.input<typeof driftMetricSchema>;

/**
 * The metrics-topic message of one model's violations in one batch. Its window spans the violating
 * events' own timestamps: a redelivered batch yields the same window (one drift_metrics row), and
 * an alert rule judges events by when they happened, as it does windows. The unapproved sources
 * are a series label, so the alert names them and a new source is a new alert.
 */
export function citationViolationRecord(group: CitationCheckGroup): CitationMetricRecord | undefined {
  if (group.violating.length === 0) return undefined;
  const times = group.violating.map((event) => event.timestamp);
  const bySource = new Map<string, { events: Set<string>; documents: Set<string> }>();
  for (const event of group.violating) {
    for (const citation of event.violations) {
      const entry = bySource.get(citation.source) ?? { events: new Set(), documents: new Set() };
      entry.events.add(event.eventId);
      if (citation.id !== undefined) entry.documents.add(citation.id);
      bySource.set(citation.source, entry);
    }
  }
  const sources = [...bySource.keys()].sort();
  let label = sources.join(',');
  if (label.length > MAX_LABEL) label = `${label.slice(0, MAX_LABEL - 2)},…`;
  return {
    model_id: group.modelId,
    metric: RAG_CITATION_METRIC,
    detector: RAG_CITATION_DETECTOR,
    window_start: times.reduce((a, b) => Math.min(a, b)),
    window_end: times.reduce((a, b) => Math.max(a, b)),
    statistic: group.violating.length,
    p_value: null,
    effect_size: group.violating.length / group.checked,
    sample_size: group.checked,
    reference_size: group.allowList.entries.length,
    verdict: 'drift',
    labels: { unapproved_sources: label },
    details: {
      check: 'rag-allow-list',
      allow_list: group.allowList.entries.slice(0, 100),
      unapproved: sources.map((source) => ({
        source,
        events: bySource.get(source)!.events.size,
        documents: [...bySource.get(source)!.documents].slice(0, MAX_LISTED_DOCUMENTS),
      })),
      event_ids: group.violating.slice(0, MAX_LISTED_EVENTS).map((event) => event.eventId),
    },
  };
}

/** Failures of one RAG answer whose citations must come from the allow-list. */
export function citationFailures(
  citations: readonly Citation[] | undefined,
  list: AllowList,
): {
  violations: Citation[];
  failures: string[];
} {
  const { violations } = checkCitations(citations ?? [], list);
  return {
    violations,
    failures: violations.map(
      (citation) =>
        `cited ${JSON.stringify(citation.source)}${citation.id !== undefined ? ` (document ${JSON.stringify(citation.id)})` : ''}, which is not on the allow-list`,
    ),
  };
}
