import { describe, it } from 'node:test';
import { special } from '@tripline/drift';
import { Comparison, reference } from './reference';

const EXACT = 1e-9;

describe('drift special functions', () => {
  it('match scipy.special.gammaln to 1e-14 relative plus 1e-13 absolute (ln Γ has zeros at 1 and 2)', () => {
    const check = new Comparison();
    for (const [x, expected] of reference.special.gammaln as number[][]) {
      const actual = special.logGamma(x);
      check.close(actual, expected, 1e-14, `lgamma(${x})`, 1e-13);
    }
    check.assert();
  });

  it('match scipy.special.gammainc and gammaincc to 1e-9 relative, including the far tails', () => {
    const check = new Comparison();
    for (const [a, x, lower, upper] of reference.special.gammainc as number[][]) {
      check.close(special.regularizedGammaP(a, x), lower, EXACT, `P(${a}, ${x})`);
      check.close(special.regularizedGammaQ(a, x), upper, EXACT, `Q(${a}, ${x})`);
    }
    check.assert();
  });

  it('match scipy.special.chdtrc (chi-square survival) to 1e-9 relative from df 1 to 10 000', () => {
    const check = new Comparison();
    for (const [df, x, expected] of reference.special.chdtrc as number[][]) {
      check.close(special.chiSquareSf(x, df), expected, EXACT, `chdtrc(${df}, ${x})`);
    }
    check.assert();
  });

  it("match scipy.stats.kstwo.sf on every branch of the Simard–L'Ecuyer method to 1e-9 relative", () => {
    const check = new Comparison();
    for (const [n, x, expected] of reference.special.kstwo_sf as number[][]) {
      check.close(special.kolmogorovSmirnovSf(n, x), expected, EXACT, `kstwo.sf(${x}, ${n})`);
    }
    check.assert();
  });

  it('match scipy.special.smirnov (one-sided KS survival) to 1e-9 relative', () => {
    const check = new Comparison();
    for (const [n, x, expected] of reference.special.smirnov as number[][]) {
      check.close(special.smirnovSf(n, x), expected, EXACT, `smirnov(${n}, ${x})`);
    }
    check.assert();
  });

  it('match scipy.stats.binom pmf, cdf and sf to 1e-9 relative up to n = 10^6', () => {
    const check = new Comparison();
    for (const [k, n, p, pmf, cdf, sf] of reference.special.binom as number[][]) {
      check.close(special.binomialPmf(k, n, p), pmf, EXACT, `binom.pmf(${k}, ${n}, ${p})`);
      check.close(special.binomialCdf(k, n, p), cdf, EXACT, `binom.cdf(${k}, ${n}, ${p})`);
      check.close(special.binomialSf(k, n, p), sf, EXACT, `binom.sf(${k}, ${n}, ${p})`);
    }
    check.assert();
  });

  it('match scipy.stats.hypergeom pmf, cdf and sf to 1e-9 relative', () => {
    const check = new Comparison();
    for (const [x, good, bad, draws, pmf, cdf, sf] of reference.special.hypergeom as number[][]) {
      const label = `hypergeom(${x}; ${good}, ${bad}, ${draws})`;
      check.close(special.hypergeometricPmf(x, good, bad, draws), pmf, EXACT, `${label}.pmf`);
      check.close(special.hypergeometricCdf(x, good, bad, draws), cdf, EXACT, `${label}.cdf`);
      check.close(special.hypergeometricSf(x, good, bad, draws), sf, EXACT, `${label}.sf`);
    }
    check.assert();
  });
});
