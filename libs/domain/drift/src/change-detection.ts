/**
 * Streaming change detectors for a univariate signal (a feature's mean, an error rate, a score).
 * Each takes one observation at a time in O(1) time and memory and reports whether the mean has
 * moved since it started watching (or since its last alarm: both reset themselves after alarming,
 * so they can report a later change too).
 */

export interface ChangeDetection {
  /** True on the observation at which the detector alarms. */
  drift: boolean;
  /** The detector's current test statistic (compare with its threshold). */
  statistic: number;
  /** Which way the mean moved, on an alarm. */
  direction?: 'up' | 'down';
}

export interface ChangeDetector {
  update(x: number): ChangeDetection;
  reset(): void;
}

export interface CusumOptions {
  /** In-control mean μ0. Default: estimated from the first `warmup` observations. */
  mean?: number;
  /** In-control standard deviation σ. Default: estimated from the first `warmup` observations. */
  std?: number;
  /**
   * Observations used to estimate μ0 and σ when they are not given (default 200); no alarms
   * meanwhile. Estimation error acts like a small standing shift and shortens the in-control run
   * length, so give μ0 and σ when they are known (from a baseline) or use a long warm-up.
   */
  warmup?: number;
  /**
   * Allowance k in units of σ (default 0.5): half the shift the chart is tuned to catch fastest.
   * Deviations smaller than k·σ drain the sums instead of filling them.
   */
  slack?: number;
  /**
   * Decision threshold h in units of σ (default 8). With k = 0.5 and known μ0 and σ, the in-control
   * average run length is about 10⁴ observations (two-sided) and a 1σ shift is caught after about
   * 15 (simulated; Siegmund's approximation agrees). h = 12 pushes the former to about 5·10⁵ and
   * the latter to about 25.
   */
  threshold?: number;
}

/**
 * Two-sided tabular CUSUM (Page, 1954) on standardised observations z = (x - μ0)/σ:
 * S⁺ = max(0, S⁺ + z - k), S⁻ = max(0, S⁻ - z - k); alarm when either exceeds h.
 */
export class CusumDetector implements ChangeDetector {
  private readonly slack: number;
  private readonly threshold: number;
  private readonly warmup: number;
  private mean: number | undefined;
  private std: number | undefined;
  private seen = 0;
  private runningMean = 0;
  private runningSquares = 0;
  private upper = 0;
  private lower = 0;

  constructor(private readonly options: CusumOptions = {}) {
    this.slack = options.slack ?? 0.5;
    this.threshold = options.threshold ?? 8;
    this.warmup = options.warmup ?? 200;
    if (!(this.slack >= 0)) throw new RangeError('slack must be ≥ 0');
    if (!(this.threshold > 0)) throw new RangeError('threshold must be > 0');
    if (options.std !== undefined && !(options.std > 0)) throw new RangeError('std must be > 0');
    if ((options.mean === undefined || options.std === undefined) && !(this.warmup >= 2)) {
      throw new RangeError('warmup must be ≥ 2 when mean or std is estimated');
    }
    this.mean = options.mean;
    this.std = options.std;
  }

  update(x: number): ChangeDetection {
    if (!Number.isFinite(x)) throw new RangeError('observation must be a finite number');
    if (this.mean === undefined || this.std === undefined) {
      // Welford's update: numerically stable for a long warm-up.
      this.seen++;
      const delta = x - this.runningMean;
      this.runningMean += delta / this.seen;
      this.runningSquares += delta * (x - this.runningMean);
      if (this.seen >= this.warmup) {
        this.mean ??= this.runningMean;
        // A constant warm-up would make every later deviation infinite; fall back to unit scale.
        this.std ??= Math.sqrt(this.runningSquares / (this.seen - 1)) || 1;
      }
      return { drift: false, statistic: 0 };
    }
    const z = (x - this.mean) / this.std;
    this.upper = Math.max(0, this.upper + z - this.slack);
    this.lower = Math.max(0, this.lower - z - this.slack);
    const statistic = Math.max(this.upper, this.lower);
    if (statistic > this.threshold) {
      const direction = this.upper >= this.lower ? 'up' : 'down';
      this.upper = 0;
      this.lower = 0;
      return { drift: true, statistic, direction };
    }
    return { drift: false, statistic };
  }

  /** Forgets the sums and any estimated mean and σ (given ones are kept). */
  reset(): void {
    this.upper = 0;
    this.lower = 0;
    this.seen = 0;
    this.runningMean = 0;
    this.runningSquares = 0;
    this.mean = this.options.mean;
    this.std = this.options.std;
  }
}

export function cusum(options: CusumOptions = {}): CusumDetector {
  return new CusumDetector(options);
}

export interface PageHinkleyOptions {
  /**
   * Magnitude δ of changes to ignore, in the units of the data (default 0.005, as in Gama et al.
   * and River, which suit small-scale signals such as error rates). For a signal with standard
   * deviation σ, δ ≈ σ/2 plays the role of CUSUM's allowance.
   */
  delta?: number;
  /**
   * Alarm threshold λ, in the units of the data (default 50): larger means fewer false alarms and
   * later detection. For unit-variance data, δ = 0.5 and λ = 15 gave no false alarm in 5 000
   * observations in 99% of simulated runs and caught a 1σ shift after about 25.
   */
  threshold?: number;
  /** Observations before the first alarm can fire (default 30). */
  minInstances?: number;
  /** Which shifts to report: increases, decreases or both (default 'both'). */
  direction?: 'up' | 'down' | 'both';
}

/**
 * Page–Hinkley test: with x̄_t the running mean, m_t = Σ (x_i - x̄_i - δ) and PH_t = m_t - min m;
 * an increase in the mean makes PH_t grow, and an alarm fires when PH_t > λ. The mirrored sum
 * watches for decreases. Unlike CUSUM it needs no in-control mean, only a scale for δ and λ.
 */
export class PageHinkleyDetector implements ChangeDetector {
  private readonly delta: number;
  private readonly threshold: number;
  private readonly minInstances: number;
  private readonly direction: 'up' | 'down' | 'both';
  private seen = 0;
  private mean = 0;
  private sumUp = 0;
  private minUp = 0;
  private sumDown = 0;
  private minDown = 0;

  constructor(options: PageHinkleyOptions = {}) {
    this.delta = options.delta ?? 0.005;
    this.threshold = options.threshold ?? 50;
    this.minInstances = options.minInstances ?? 30;
    this.direction = options.direction ?? 'both';
    if (!(this.delta >= 0)) throw new RangeError('delta must be ≥ 0');
    if (!(this.threshold > 0)) throw new RangeError('threshold must be > 0');
  }

  update(x: number): ChangeDetection {
    if (!Number.isFinite(x)) throw new RangeError('observation must be a finite number');
    this.seen++;
    this.mean += (x - this.mean) / this.seen;
    this.sumUp += x - this.mean - this.delta;
    this.minUp = Math.min(this.minUp, this.sumUp);
    this.sumDown += this.mean - x - this.delta;
    this.minDown = Math.min(this.minDown, this.sumDown);
    const up = this.direction === 'down' ? 0 : this.sumUp - this.minUp;
    const down = this.direction === 'up' ? 0 : this.sumDown - this.minDown;
    const statistic = Math.max(up, down);
    if (this.seen >= this.minInstances && statistic > this.threshold) {
      const direction = up >= down ? 'up' : 'down';
      this.reset();
      return { drift: true, statistic, direction };
    }
    return { drift: false, statistic };
  }

  reset(): void {
    this.seen = 0;
    this.mean = 0;
    this.sumUp = 0;
    this.minUp = 0;
    this.sumDown = 0;
    this.minDown = 0;
  }
}

export function pageHinkley(options: PageHinkleyOptions = {}): PageHinkleyDetector {
  return new PageHinkleyDetector(options);
}
