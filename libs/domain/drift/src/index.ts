export type { Alternative, Rows, Sample, TestResult } from './types';
export { ksTest, type KsMethod, type KsTestOptions, type KsTestResult } from './ks-test';
export {
  chiSquareContingency,
  chiSquareTest,
  type ChiSquareResult,
  type ContingencyOptions,
  type ContingencyResult,
} from './chi-square';
export { psi, type PsiOptions, type PsiResult } from './psi';
export { jensenShannon, type JensenShannonResult } from './jensen-shannon';
export { wasserstein, type WassersteinResult } from './wasserstein';
export { hellinger, type HellingerResult } from './hellinger';
export { DEFAULT_MMD_SEED, mmdTest, type MmdOptions, type MmdResult } from './mmd';
export { linearMmdTest, type LinearMmdOptions, type LinearMmdResult } from './linear-mmd';
export { blockMmdTest, type BlockMmdOptions, type BlockMmdResult } from './block-mmd';
export { fisherExact, type FisherExactResult } from './fisher-exact';
export { binomialTest, type BinomialTestResult } from './binomial-test';
export { benjaminiHochberg, bonferroni } from './multiple-testing';
export {
  CusumDetector,
  PageHinkleyDetector,
  cusum,
  pageHinkley,
  type ChangeDetection,
  type ChangeDetector,
  type CusumOptions,
  type PageHinkleyOptions,
} from './change-detection';
export {
  calibrate,
  calibrationWeights,
  fitCalibration,
  groupVariance,
  histogramCalibration,
  isotonicCalibration,
  type Calibration,
  type CalibrationGroup,
  type CalibrationMethod,
  type HistogramOptions,
} from './calibration';
export { median } from './median';
export { kernelExp } from './kernel-exp';
export { bracketSampleSize, selectByBracket, type BracketCounter } from './rank-bracket';
export { mulberry32, seededRandom, type Random } from './random';
export * as special from './special';
