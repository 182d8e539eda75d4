import type { AllowList, Citation } from './allow-list';
import { citationFailures } from './citation-rule';

export interface CitationSummary {
  /** Answers whose citations were checked against an allow-list. */
  checked: number;
  /** Answers citing at least one source outside it. */
  violations: number;
  /** violations / checked, null when nothing was checked. */
  rate: number | null;
  /** The unapproved sources, most often cited first, with the answers citing each. */
  unapprovedSources: { source: string; answers: number }[];
}

/**
 * The citation side of a RAG canary run: each answer's cited sources against its allow-list. A
 * citation outside the list fails the sample (with the source named) and counts once per answer
 * towards the run's citation_violations, however many bad sources the answer cites.
 */
export class CitationTally {
  private checked = 0;
  private violating = 0;
  private readonly sources = new Map<string, number>();

  /** The failures to add to the sample's; empty when every citation is approved. */
  check(citations: readonly Citation[] | undefined, list: AllowList): string[] {
    this.checked++;
    const { violations, failures } = citationFailures(citations, list);
    if (violations.length > 0) {
      this.violating++;
      for (const source of new Set(violations.map((citation) => citation.source)))
        this.sources.set(source, (this.sources.get(source) ?? 0) + 1);
    }
    return failures;
  }

  summary(): CitationSummary {
    return {
      checked: this.checked,
      violations: this.violating,
      rate: this.checked > 0 ? this.violating / this.checked : null,
      unapprovedSources: [...this.sources]
        .map(([source, answers]) => ({ source, answers }))
        .sort((a, b) => b.answers - a.answers || a.source.localeCompare(b.source))
        .slice(0, 50),
    };
  }
}
