/**
 * Double-precision constants the special-function families share, written out so no family
 * recomputes them (and so every family rounds them the same way).
 */
export const LN_SQRT_2PI = 0.9189385332046728;
export const LN_2PI = 1.8378770664093456;
export const SQRT_2PI = 2.5066282746310007;
export const DBL_EPSILON = 2.220446049250313e-16;
export const DBL_MIN = 2.2250738585072014e-308;
/** Cephes' MINLOG: log(2^-1022). */
export const MIN_LOG = -708.3964185322641;
