/**
 * Which sources a RAG system may cite. One allow-list serves the knowledge-base scan, the RAG
 * canaries and the stream rule, so "approved" means the same thing everywhere.
 *
 * An entry is either an exact source ("https://wiki.corp/handbook", "kb:policies") or a prefix
 * ending in "*" ("https://wiki.corp/*"). Matching is case-sensitive and on the source as given
 * (trimmed): a source that differs only in case may be a different bucket or site, and a false
 * alarm is cheaper than a poisoned citation passing as approved.
 */
export interface AllowList {
  /** The entries as configured, trimmed, without duplicates. */
  readonly entries: readonly string[];
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

/** Why an allow-list entry cannot be used, or undefined when it can. */
export function allowListEntryProblem(entry: string): string | undefined {
  const trimmed = entry.trim();
  if (trimmed === '') return 'an allow-list entry must not be empty';
  // A bare "*" would approve every source and turn every check off without saying so.
  if (trimmed.replace(/\*+$/, '') === '')
    return 'an allow-list entry of only "*" would approve every source; list the approved sources or prefixes';
  if (trimmed.slice(0, -1).includes('*'))
    return `"${trimmed}": "*" is only allowed at the end of an entry (a prefix)`;
  return undefined;
}

export function compileAllowList(entries: readonly string[]): AllowList {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const kept: string[] = [];
  for (const raw of entries) {
    const problem = allowListEntryProblem(raw);
    if (problem) throw new Error(problem);
    const entry = raw.trim();
    if (kept.includes(entry)) continue;
    kept.push(entry);
    if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1));
    else exact.add(entry);
  }
  return { entries: kept, exact, prefixes };
}

export function isSourceAllowed(list: AllowList, source: string): boolean {
  const value = source.trim();
  return list.exact.has(value) || list.prefixes.some((prefix) => value.startsWith(prefix));
}

export interface Citation {
  id?: string;
  source: string;
}

export interface CitationCheck {
  /** Citations looked at. */
  cited: number;
  /** Citations whose source is not on the allow-list, in the order cited. */
  violations: Citation[];
}

/** The citations of one answer (or one event's retrieved documents) against the allow-list. */
export function checkCitations(citations: readonly Citation[], list: AllowList): CitationCheck {
  return {
    cited: citations.length,
    violations: citations.filter((citation) => !isSourceAllowed(list, citation.source)),
  };
}
