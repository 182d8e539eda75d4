import { benjaminiHochberg, binomialTest } from '@tripline/drift';
import { documentFrequencies, type ScanFeatures } from './features';
import { formatNumber, type DetectorOutcome } from './types';

export interface TokenAssociationOptions {
  /** Rows a token must appear in to be tested (default 5): fewer cannot be told from chance. */
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
  rows: number;
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
 * label (a leave-one-out naive Bayes over the other tokens): the signature of dirty-label
 * poisoning. Rows holding a flagged token score −log10 q of the most significant one.
 */
export function tokenAssociation(
  features: ScanFeatures,
  options: TokenAssociationOptions = {},
): DetectorOutcome {
  const minRows = options.minRows ?? 5;
  const maxRowShare = options.maxRowShare ?? 0.1;
  const minPurity = options.minPurity ?? 0.9;
  const alpha = options.alpha ?? 0.001;
  const minContradiction = options.minContextContradiction ?? 0.6;
  const { rows, labels, labelOf, tokenStart, tokenIds, vocabulary } = features;
  const L = labels.length;
  const V = vocabulary.length;

  const df = documentFrequencies(features);
  const counts = new Uint32Array(V * L);
  const labelRows = new Float64Array(L);
  const labelTokens = new Float64Array(L);
  for (let i = 0; i < rows; i++) {
    const label = labelOf[i];
    labelRows[label]++;
    labelTokens[label] += tokenStart[i + 1] - tokenStart[i];
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) counts[tokenIds[p] * L + label]++;
  }

  const tested: number[] = [];
  const majority: number[] = [];
  const pValues: number[] = [];
  if (L >= 2) {
    for (let t = 0; t < V; t++) {
      if (df[t] < minRows || df[t] > maxRowShare * rows) continue;
      let best = 0;
      for (let c = 1; c < L; c++) if (counts[t * L + c] > counts[t * L + best]) best = c;
      tested.push(t);
      majority.push(best);
      pValues.push(binomialTest(counts[t * L + best], df[t], labelRows[best] / rows, 'greater').pValue);
    }
  }
  const qValues = benjaminiHochberg(pValues);

  // Naive Bayes over token presence with add-one smoothing, each row left out of its own counts.
  const logLikelihood = (t: number, c: number, own: number) =>
    Math.log((counts[t * L + c] - (c === own ? 1 : 0) + 1) / (labelTokens[c] + V));
  /** Probability the row's other tokens give to its own label (naive Bayes, the row left out). */
  const contextSupport = (i: number, excluded: number): number => {
    const own = labelOf[i];
    const logPosterior = new Float64Array(L);
    for (let c = 0; c < L; c++) {
      const ownTokens = c === own ? tokenStart[i + 1] - tokenStart[i] : 0;
      let score = Math.log((labelRows[c] - (c === own ? 1 : 0) + 1) / (rows - 1 + L));
      // The row's own token count is taken out of its class total as well.
      const correction = Math.log((labelTokens[c] + V) / (labelTokens[c] - ownTokens + V));
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const t = tokenIds[p];
        if (t !== excluded) score += logLikelihood(t, c, own) + correction;
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
    const purity = counts[t * L + majority[k]] / df[t];
    if (qValues[k] <= alpha && purity >= minPurity) candidates.set(t, k);
  });
  const disagreement = new Map<number, number>();
  if (candidates.size > 0) {
    const disagreeing = new Map<number, number>();
    for (let i = 0; i < rows; i++) {
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const k = candidates.get(tokenIds[p]);
        if (k === undefined || labelOf[i] !== majority[k]) continue;
        disagreeing.set(
          tokenIds[p],
          (disagreeing.get(tokenIds[p]) ?? 0) + 1 - contextSupport(i, tokenIds[p]),
        );
      }
    }
    for (const [t, k] of candidates)
      disagreement.set(t, (disagreeing.get(t) ?? 0) / counts[t * L + majority[k]]);
  }

  const found = [...candidates].map(([t, k]) => {
    const finding: TokenFinding = {
      token: vocabulary[t],
      rows: df[t],
      label: labels[majority[k]],
      purity: counts[t * L + majority[k]] / df[t],
      baseRate: labelRows[majority[k]] / rows,
      pValue: pValues[k],
      qValue: qValues[k],
      contextContradiction: disagreement.get(t) ?? 0,
      flagged: (disagreement.get(t) ?? 0) >= minContradiction,
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
