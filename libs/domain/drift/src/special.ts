/**
 * Special functions behind the tests' p-values, one file per family under special/. Each is
 * written for relative accuracy in the far tails, because drift monitors care most about very
 * small p-values:
 *
 * - discrete probabilities (binomial, hypergeometric) use Loader's saddle-point expansion
 *   ("Fast and accurate computation of binomial probabilities", 2000), which stays accurate to a
 *   few ulps where `exp(lgamma(n+1) - ...)` loses digits to cancellation between huge logs;
 * - the regularized incomplete gamma uses the series / Lentz continued fraction split at x = a+1,
 *   with the x^a e^-x / Γ(a) prefactor taken from the same saddle-point terms;
 * - the finite-n Kolmogorov distribution follows Simard & L'Ecuyer (2011), exactly as SciPy's
 *   `scipy.stats.kstwo` chooses between Durbin's matrix, Pomeranz's recursion, Pelz–Good and
 *   Smirnov's one-sided sum, so the asymptotic KS p-value matches SciPy's.
 *
 * This file is the `special` namespace the lib exports: named re-exports, so a family's internal
 * helpers (poissonPmfRaw, the constants) stay out of it.
 */
export { devianceTerm, logBinomialPmfRaw, logGamma, stirlingError } from './special/gamma';
export {
  binomialCdf,
  binomialPmf,
  binomialSf,
  hypergeometricCdf,
  hypergeometricPmf,
  hypergeometricSf,
  logHypergeometricPmf,
} from './special/discrete';
export { chiSquareSf, normalSf, regularizedGammaP, regularizedGammaQ } from './special/incomplete-gamma';
export { kolmogorovSmirnovCdf, kolmogorovSmirnovSf, smirnovSf } from './special/kolmogorov';
