import { compileAllowList, isSourceAllowed, type AllowList } from './allow-list';
import { combineWeights, findInjections, revealInvisible } from './injection-patterns';
import { robustScale, TfIdfIndex } from './similarity';

/** One document of a RAG knowledge base (a chunk, as the retriever indexes it). */
export interface KnowledgeBaseDocument {
  id: string;
  source: string;
  text: string;
  /** Epoch ms when it entered the knowledge base, where known. */
  addedAt?: number;
}

export interface KnowledgeBaseScanOptions {
  /** Approved sources: exact names, or prefixes ending in "*" (see allow-list.ts). */
  allowedSources: readonly string[];
  /** Canary queries: the questions a poisoner would target (the RAG canaries' queries). */
  queries?: readonly string[];
  /** Sources of an earlier, reviewed state of the knowledge base: any other source is new. */
  knownSources?: readonly string[];
  /**
   * Epoch ms: a source whose first document was added at or after this is new. Default, when no
   * known sources are given either: seven days before the newest added_at, provided some
   * documents are older than that (when the whole base is that young, "new" says nothing).
   */
  newSince?: number;
  /** Documents each query retrieves, default 5. */
  topK?: number;
  /** Robust z-score of a document's retrieval count above which it is unusually central, default 3.5. */
  zThreshold?: number;
  /** Queries a document must be retrieved for before it can be flagged, default max(3, 20% of queries). */
  minQueries?: number;
  /** Documents listed in the report, default 100. */
  top?: number;
}

export type Detector = 'unapproved-source' | 'new-source' | 'instruction' | 'query-proximity';

export interface DocumentFinding {
  detector: Detector;
  /** How strongly this finding alone suggests poisoning, 0..1. */
  score: number;
  reason: string;
  /** The injection pattern (detector "instruction"). */
  pattern?: string;
}

export interface DocumentVerdict {
  id: string;
  source: string;
  approved: boolean;
  /** Noisy-or of the findings' scores. */
  score: number;
  level: 'flagged' | 'review' | 'ok';
  findings: DocumentFinding[];
  /** Canary queries that retrieve it (detector "query-proximity"), at most five. */
  queries?: string[];
  /** The opening of the text, invisible characters shown as <U+XXXX>. */
  excerpt: string;
}

export interface SourceSummary {
  source: string;
  approved: boolean;
  new: boolean;
  documents: number;
  flagged: number;
  firstAddedAt: string | null;
}

export interface KnowledgeBaseScanReport {
  documents: number;
  flagged: number;
  review: number;
  allowList: string[];
  sources: SourceSummary[];
  /** Matches per injection pattern (documents), strongest pattern first. */
  patterns: { id: string; reason: string; weight: number; documents: number }[];
  newSources: { since: string | null; knownSources: number | null };
  proximity: {
    queries: number;
    topK: number;
    zThreshold: number;
    minQueries: number;
    median: number | null;
    scale: number | null;
    estimator: string | null;
    flagged: number;
  };
  /** Documents with any finding, most suspicious first. */
  top: DocumentVerdict[];
}

export const FLAG_THRESHOLD = 0.5;
export const REVIEW_THRESHOLD = 0.3;
/** A document from a source nobody approved is suspect before anything else is known of it. */
const UNAPPROVED_SCORE = 0.8;
/** New but approved (a prefix entry covers it), or unapproved and new: worth a look, not an alarm. */
const NEW_SOURCE_SCORE = 0.4;
const DAY_MS = 86_400_000;
const EXCERPT_LENGTH = 200;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

function levelOf(score: number): DocumentVerdict['level'] {
  return score >= FLAG_THRESHOLD ? 'flagged' : score >= REVIEW_THRESHOLD ? 'review' : 'ok';
}

/**
 * Scans a knowledge base for poisoning: documents from unapproved or new sources, instruction-like
 * content aimed at the model, and documents that sit unusually close to many canary queries.
 * Each finding has a score and a reason; a document's score combines them by noisy-or.
 */
export function scanKnowledgeBase(
  documents: readonly KnowledgeBaseDocument[],
  options: KnowledgeBaseScanOptions,
): KnowledgeBaseScanReport {
  const allowList = compileAllowList(options.allowedSources);
  const findings: DocumentFinding[][] = documents.map(() => []);
  const retrievedBy: string[][] = documents.map(() => []);
  // The detectors in this order, each adding to `findings`: a tie in score keeps this order.
  const { sourceSummaries, known, newSince } = sourceFindings(documents, options, allowList, findings);
  const patternCounts = instructionFindings(documents, findings);
  const proximity = proximityFindings(documents, options, findings, retrievedBy);
  const verdicts = documentVerdicts(documents, findings, retrievedBy, allowList);

  const flaggedBySource = new Map<string, number>();
  for (const verdict of verdicts)
    if (verdict.level === 'flagged')
      flaggedBySource.set(verdict.source, (flaggedBySource.get(verdict.source) ?? 0) + 1);
  for (const summary of sourceSummaries) summary.flagged = flaggedBySource.get(summary.source) ?? 0;
  sourceSummaries.sort(
    (a, b) =>
      Number(a.approved) - Number(b.approved) ||
      b.flagged - a.flagged ||
      b.documents - a.documents ||
      a.source.localeCompare(b.source),
  );

  return {
    documents: documents.length,
    flagged: verdicts.filter((verdict) => verdict.level === 'flagged').length,
    review: verdicts.filter((verdict) => verdict.level === 'review').length,
    allowList: [...allowList.entries],
    sources: sourceSummaries,
    patterns: [...patternCounts.entries()]
      .map(([id, count]) => ({ id, ...count }))
      .sort((a, b) => b.weight - a.weight || b.documents - a.documents),
    newSources: { since: iso(newSince), knownSources: known ? known.size : null },
    proximity,
    top: verdicts.slice(0, options.top ?? 100),
  };
}

/** Sources: approved or not, and new since when; a finding on every document of a suspect source. */
function sourceFindings(
  documents: readonly KnowledgeBaseDocument[],
  options: KnowledgeBaseScanOptions,
  allowList: AllowList,
  findings: DocumentFinding[][],
): { sourceSummaries: SourceSummary[]; known: Set<string> | undefined; newSince: number | undefined } {
  const sources = new Map<string, { documents: number[]; firstAddedAt?: number }>();
  documents.forEach((document, index) => {
    const entry = sources.get(document.source) ?? { documents: [] };
    entry.documents.push(index);
    if (document.addedAt !== undefined && Number.isFinite(document.addedAt))
      entry.firstAddedAt = Math.min(entry.firstAddedAt ?? Infinity, document.addedAt);
    sources.set(document.source, entry);
  });
  const known = options.knownSources ? new Set(options.knownSources) : undefined;
  const newSince = options.newSince ?? (known ? undefined : defaultNewSince(documents));
  const isNew = (source: string, firstAddedAt: number | undefined) =>
    (known !== undefined && !known.has(source)) ||
    (newSince !== undefined && firstAddedAt !== undefined && firstAddedAt >= newSince);
  const sourceSummaries: SourceSummary[] = [];
  for (const [source, entry] of sources) {
    const approved = isSourceAllowed(allowList, source);
    const fresh = isNew(source, entry.firstAddedAt);
    for (const index of entry.documents) {
      if (!approved)
        findings[index].push({
          detector: 'unapproved-source',
          score: UNAPPROVED_SCORE,
          reason: `source "${source}" is not on the allow-list`,
        });
      if (fresh)
        findings[index].push({
          detector: 'new-source',
          score: NEW_SOURCE_SCORE,
          reason:
            known !== undefined && !known.has(source)
              ? `source "${source}" is new: not among the ${known.size} known sources (${entry.documents.length} document(s))`
              : `source "${source}" is new: its first document was added ${iso(entry.firstAddedAt)}, on or after ${iso(newSince)} (${entry.documents.length} document(s))`,
        });
    }
    sourceSummaries.push({
      source,
      approved,
      new: fresh,
      documents: entry.documents.length,
      flagged: 0,
      firstAddedAt: iso(entry.firstAddedAt),
    });
  }
  return { sourceSummaries, known, newSince };
}

/** Instruction-like content aimed at the model, and how many documents each pattern matched. */
function instructionFindings(
  documents: readonly KnowledgeBaseDocument[],
  findings: DocumentFinding[][],
): Map<string, { reason: string; weight: number; documents: number }> {
  const patternCounts = new Map<string, { reason: string; weight: number; documents: number }>();
  documents.forEach((document, index) => {
    for (const finding of findInjections(document.text)) {
      findings[index].push({
        detector: 'instruction',
        pattern: finding.pattern,
        score: finding.weight,
        reason: `${finding.reason}: "${finding.excerpt}"`,
      });
      const count = patternCounts.get(finding.pattern) ?? {
        reason: finding.reason,
        weight: finding.weight,
        documents: 0,
      };
      count.documents++;
      patternCounts.set(finding.pattern, count);
    }
  });
  return patternCounts;
}

/** Closeness to many canary queries: documents retrieved for unusually many of them (robust z). */
function proximityFindings(
  documents: readonly KnowledgeBaseDocument[],
  options: KnowledgeBaseScanOptions,
  findings: DocumentFinding[][],
  retrievedBy: string[][],
): KnowledgeBaseScanReport['proximity'] {
  const queries = (options.queries ?? []).filter((query) => query.trim() !== '');
  const topK = options.topK ?? 5;
  const zThreshold = options.zThreshold ?? 3.5;
  const minQueries = options.minQueries ?? Math.max(3, Math.ceil(0.2 * queries.length));
  const proximity: KnowledgeBaseScanReport['proximity'] = {
    queries: queries.length,
    topK,
    zThreshold,
    minQueries,
    median: null,
    scale: null,
    estimator: null,
    flagged: 0,
  };
  if (queries.length > 0 && documents.length > 0) {
    const index = new TfIdfIndex(documents.map((document) => document.text));
    const counts = new Float64Array(documents.length);
    for (const query of queries) {
      for (const { document } of index.topK(query, topK)) {
        counts[document]++;
        retrievedBy[document].push(query);
      }
    }
    const scale = robustScale(counts);
    Object.assign(proximity, {
      median: scale.median,
      scale: round(scale.scale, 4),
      estimator: scale.estimator,
    });
    counts.forEach((count, document) => {
      const z = scale.scale > 0 ? (count - scale.median) / scale.scale : 0;
      if (!(z >= zThreshold && count >= minQueries)) return;
      proximity.flagged++;
      // Half-way to flagged at the threshold, rising with the share of queries it answers.
      const share = count / queries.length;
      findings[document].push({
        detector: 'query-proximity',
        score: round(0.5 + 0.5 * share),
        reason:
          `in the top ${topK} for ${count} of ${queries.length} canary queries ` +
          `(a typical document: ${scale.median}; robust z ${round(z, 1)} ≥ ${zThreshold})`,
      });
    });
  }
  return proximity;
}

/** A verdict for every document with a finding, most suspicious first. */
function documentVerdicts(
  documents: readonly KnowledgeBaseDocument[],
  findings: DocumentFinding[][],
  retrievedBy: string[][],
  allowList: AllowList,
): DocumentVerdict[] {
  const verdicts: DocumentVerdict[] = [];
  documents.forEach((document, index) => {
    if (findings[index].length === 0) return;
    const score = round(combineWeights(findings[index].map((finding) => finding.score)), 4);
    const proximate = findings[index].some((finding) => finding.detector === 'query-proximity');
    const visible = document.text;
    verdicts.push({
      id: document.id,
      source: document.source,
      approved: isSourceAllowed(allowList, document.source),
      score,
      level: levelOf(score),
      findings: findings[index].sort((a, b) => b.score - a.score),
      ...(proximate ? { queries: retrievedBy[index].slice(0, 5) } : {}),
      excerpt: revealInvisible(
        visible.length > EXCERPT_LENGTH ? `${visible.slice(0, EXCERPT_LENGTH - 1)}…` : visible,
      ),
    });
  });
  verdicts.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
  return verdicts;
}

/** Seven days before the newest added_at, when some documents are older than that. */
function defaultNewSince(documents: readonly KnowledgeBaseDocument[]): number | undefined {
  let newest = -Infinity;
  let oldest = Infinity;
  for (const { addedAt } of documents) {
    if (addedAt === undefined || !Number.isFinite(addedAt)) continue;
    newest = Math.max(newest, addedAt);
    oldest = Math.min(oldest, addedAt);
  }
  if (!Number.isFinite(newest)) return undefined;
  const since = newest - 7 * DAY_MS;
  return oldest < since ? since : undefined;
}
