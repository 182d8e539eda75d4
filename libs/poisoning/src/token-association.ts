import { benjaminiHochberg, binomialTest } from '@tripline/drift';
import { documentFrequencies, type ScanFeatures } from './features';
import { formatNumber, type DetectorOutcome } from './types';

export interface TokenAssociationOptions {
  /** Distinct rows (duplicates counted once) a token must appear in to be tested (default 5). */
  minRows?: number;
  /** Largest share of rows a token may appear in and still count as rare (default 0.1). */
  maxRowShare?: number;
  /** Share of a token's rows that must carry its majority label (default 0.9). */
  minPurity?: number;
  /** Benjamini–Hochberg false-discovery rate over the tested tokens (default 0.001). */
  alpha?: number;
  /**
   * Least mean probability, over a token's rows, that the rest of the row gives to a label other
   * than the one it carries (default 0.6). Ordinary sentiment words ("excellent", "poor") pin a
   * label too, but the rest of their sentence leans the same way or nowhere (0.25–0.56 on the demo
   * data); a dirty-label trigger pins a label its sentence contradicts (0.70 for the demo trigger).
   */
  minContextContradiction?: number;
}

export interface TokenFinding {
  token: string;
  /** Rows holding the token. */
  rows: number;
  /** The same, with each duplicate cluster counted once: what the test counts. */
  distinctRows: number;
  label: string;
  purity: number;
  baseRate: number;
  pValue: number;
  qValue: number;
  /** Mean probability that the other tokens of the token's majority-label rows give to another label. */
  contextContradiction: number;
  flagged: boolean;
}

/**
 * Token–label association: per rare token, how many rows hold it and how pure their label is
 * against the label's base rate (one-sided exact binomial test, Benjamini–Hochberg over all tested
 * tokens). A significant, pure token is flagged when the rest of its rows' text contradicts the
 * label (a naive Bayes over the other tokens, the row's duplicate cluster left out): the
 * signature of dirty-label poisoning. Duplicates are counted once throughout. Rows holding a flagged token score −log10 q of the most significant one.
 */
export function tokenAssociation(
  features: ScanFeatures,
  options: TokenAssociationOptions = {},
  clusters?: Int32Array,
): DetectorOutcome {
  const minRows = options.minRows ?? 5;
  const maxRowShare = options.maxRowShare ?? 0.1;
  const minPurity = options.minPurity ?? 0.9;
  const alpha = options.alpha ?? 0.001;
  const minContradiction = options.minContextContradiction ?? 0.6;
  const { rows, labels, labelOf, tokenStart, tokenIds, vocabulary } = features;
  const L = labels.length;
  const V = vocabulary.length;

  // Copies of one row are one observation: each row weighs 1 / (size of its duplicate cluster),
  // so a poison amplified by duplication is neither more significant nor its own context.
  const members = new Map<number, number[]>();
  const weight = new Float64Array(rows).fill(1);
  if (clusters) {
    for (let i = 0; i < rows; i++) {
      const group = members.get(clusters[i]);
      if (group) group.push(i);
      else members.set(clusters[i], [i]);
    }
    for (const group of members.values()) for (const i of group) weight[i] = 1 / group.length;
  }
  const df = documentFrequencies(features);
  const effectiveDf = new Float64Array(V);
  const counts = new Float64Array(V * L);
  const labelRows = new Float64Array(L);
  const labelTokens = new Float64Array(L);
  let effectiveRows = 0;
  for (let i = 0; i < rows; i++) {
    const label = labelOf[i];
    const w = weight[i];
    effectiveRows += w;
    labelRows[label] += w;
    labelTokens[label] += w * (tokenStart[i + 1] - tokenStart[i]);
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
      counts[tokenIds[p] * L + label] += w;
      effectiveDf[tokenIds[p]] += w;
    }
  }

  const tested: number[] = [];
  const majority: number[] = [];
  const pValues: number[] = [];
  if (L >= 2) {
    for (let t = 0; t < V; t++) {
      const n = Math.round(effectiveDf[t]);
      if (n < minRows || effectiveDf[t] > maxRowShare * effectiveRows) continue;
      let best = 0;
      for (let c = 1; c < L; c++) if (counts[t * L + c] > counts[t * L + best]) best = c;
      tested.push(t);
      majority.push(best);
      const k = Math.min(n, Math.round(counts[t * L + best]));
      pValues.push(binomialTest(k, n, labelRows[best] / effectiveRows, 'greater').pValue);
    }
  }
  const qValues = benjaminiHochberg(pValues);

  /**
   * What a row's own duplicate cluster (the row alone, for most rows) adds to the counts, so that
   * it can be left out: the probability below is what the rest of the data says about the row.
   */
  const contributions = new Map<number, ReturnType<typeof contributionOf>>();
  const ownContribution = (i: number) => {
    const group = clusters ? members.get(clusters[i])! : [i];
    if (group.length === 1) return contributionOf(group);
    // A large cluster of copies is summed once, not once per row and token.
    let cached = contributions.get(clusters![i]);
    if (!cached) contributions.set(clusters![i], (cached = contributionOf(group)));
    return cached;
  };
  const contributionOf = (group: number[]) => {
    const tokens = new Map<number, Float64Array>();
    const rowsByLabel = new Float64Array(L);
    const tokensByLabel = new Float64Array(L);
    let total = 0;
    for (const j of group) {
      const w = weight[j];
      total += w;
      rowsByLabel[labelOf[j]] += w;
      tokensByLabel[labelOf[j]] += w * (tokenStart[j + 1] - tokenStart[j]);
      for (let p = tokenStart[j]; p < tokenStart[j + 1]; p++) {
        let perLabel = tokens.get(tokenIds[p]);
        if (!perLabel) tokens.set(tokenIds[p], (perLabel = new Float64Array(L)));
        perLabel[labelOf[j]] += w;
      }
    }
    return { tokens, rowsByLabel, tokensByLabel, total };
  };
  /** Probability the row's other tokens give to its own label (naive Bayes, its cluster left out). */
  const contextSupport = (i: number, excluded: number): number => {
    const own = labelOf[i];
    const left = ownContribution(i);
    const logPosterior = new Float64Array(L);
    for (let c = 0; c < L; c++) {
      const classTokens = labelTokens[c] - left.tokensByLabel[c];
      let score = Math.log((labelRows[c] - left.rowsByLabel[c] + 1) / (effectiveRows - left.total + L));
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const t = tokenIds[p];
        if (t === excluded) continue;
        const count = counts[t * L + c] - (left.tokens.get(t)?.[c] ?? 0);
        score += Math.log((Math.max(0, count) + 1) / (classTokens + V));
      }
      logPosterior[c] = score;
    }
    const top = Math.max(...logPosterior);
    let total = 0;
    for (let c = 0; c < L; c++) total += Math.exp(logPosterior[c] - top);
    return Math.exp(logPosterior[own] - top) / total;
  };

  const candidates = new Map<number, number>();
  tested.forEach((t, k) => {
    const purity = counts[t * L + majority[k]] / effectiveDf[t];
    if (qValues[k] <= alpha && purity >= minPurity) candidates.set(t, k);
  });
  const contradiction = new Map<number, number>();
  if (candidates.size > 0) {
    const against = new Map<number, number>();
    for (let i = 0; i < rows; i++) {
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const k = candidates.get(tokenIds[p]);
        if (k === undefined || labelOf[i] !== majority[k]) continue;
        const t = tokenIds[p];
        against.set(t, (against.get(t) ?? 0) + weight[i] * (1 - contextSupport(i, t)));
      }
    }
    for (const [t, k] of candidates)
      contradiction.set(t, (against.get(t) ?? 0) / counts[t * L + majority[k]]);
  }

  const found = [...candidates].map(([t, k]) => {
    const finding: TokenFinding = {
      token: vocabulary[t],
      rows: df[t],
      distinctRows: Math.round(effectiveDf[t]),
      label: labels[majority[k]],
      purity: counts[t * L + majority[k]] / effectiveDf[t],
      baseRate: labelRows[majority[k]] / effectiveRows,
      pValue: pValues[k],
      qValue: qValues[k],
      contextContradiction: contradiction.get(t) ?? 0,
      flagged: (contradiction.get(t) ?? 0) >= minContradiction,
    };
    return { id: t, finding };
  });
  found.sort(
    ({ finding: a }, { finding: b }) =>
      Number(b.flagged) - Number(a.flagged) || a.qValue - b.qValue || b.rows - a.rows,
  );
  const findings = found.map(({ finding }) => finding);
  const flaggedTokens = new Map(
    found.filter(({ finding }) => finding.flagged).map(({ id, finding }) => [id, finding]),
  );

  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const strongest = new Int32Array(rows).fill(-1);
  for (let i = 0; i < rows; i++) {
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
      const finding = flaggedTokens.get(tokenIds[p]);
      if (!finding) continue;
      const score = Math.min(300, -Math.log10(Math.max(finding.qValue, 1e-300)));
      if (score > scores[i]) {
        scores[i] = score;
        strongest[i] = tokenIds[p];
      }
      flagged[i] = 1;
    }
  }

  return {
    detector: 'token-association',
    scores,
    flagged,
    reason: (i) => {
      if (strongest[i] < 0) return 'holds no token that pins a label against its text';
      const f = flaggedTokens.get(strongest[i])!;
      return (
        `holds "${f.token}": ${Math.round(f.purity * f.rows)} of ${f.rows} rows with it are labelled ${f.label} ` +
        `(base rate ${formatNumber(f.baseRate * 100, 0)}%, q = ${formatNumber(f.qValue, 3)}), and the rest of ` +
        `those rows gives another label ${formatNumber(f.contextContradiction * 100, 0)}% on average`
      );
    },
    summary: {
      tested: tested.length,
      options: { minRows, maxRowShare, minPurity, alpha, minContextContradiction: minContradiction },
      tokens: findings.slice(0, 100),
      flaggedTokens: findings.filter((finding) => finding.flagged).map((finding) => finding.token),
    },
  };
}
