/**
 * The project's seeded randomness, in one place: every random choice in the domain libs (and the
 * demo) goes through a `Random` made here, so results are reproducible from the seed alone.
 * Math.random cannot be seeded. A `Random` is called like Math.random, or used through its methods.
 */
export interface Random {
  /** Uniform on [0, 1). */
  (): number;
  /** The same draw as calling it. */
  next(): number;
  /** Uniform integer on [0, bound). */
  integer(bound: number): number;
  /** Standard normal (Box–Muller, two uniform draws). */
  normal(): number;
  /**
   * Fills `target` with the next target.length uniform draws, exactly as that many calls would
   * (seededRandom runs its generator in one loop, without a call per draw); returns target.
   */
  fill(target: Float64Array): Float64Array;
}

function fromUniform(next: () => number, fill?: (target: Float64Array) => Float64Array): Random {
  const random = next as Random;
  random.next = next;
  random.fill =
    fill ??
    ((target) => {
      for (let i = 0; i < target.length; i++) target[i] = next();
      return target;
    });
  random.integer = (bound) => Math.floor(next() * bound);
  // 1 - u keeps the logarithm away from zero.
  random.normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return random;
}

/**
 * xoshiro128** (Blackman & Vigna), its state filled by splitmix32 from the seed; 53 random bits a
 * draw. The generator for new code: the statistics' permutations and reservoirs use it.
 */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be a safe integer');
  let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32) >>> 0, 0x9e3779b9);
  const splitmix = (): number => {
    mix = (mix + 0x9e3779b9) | 0;
    let t = mix ^ (mix >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  let s0 = splitmix();
  let s1 = splitmix();
  let s2 = splitmix();
  let s3 = splitmix();
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  // The same steps as next32, twice per draw, written out (no closure calls: each generator has
  // its own closures, so a loop over many generators could not inline them) with the state in
  // locals for the whole loop.
  const fill = (target: Float64Array): Float64Array => {
    let a = s0;
    let b = s1;
    let c = s2;
    let d = s3;
    for (let i = 0; i < target.length; i++) {
      let m = Math.imul(b, 5);
      const high = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
      let t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      m = Math.imul(b, 5);
      const low = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
      t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      target[i] = ((high >>> 5) * 67108864 + (low >>> 6)) / 9007199254740992;
    }
    s0 = a;
    s1 = b;
    s2 = c;
    s3 = d;
    return target;
  };
  return fromUniform(() => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992, fill);
}

/**
 * mulberry32: 32 bits of state and of output. Canary sets, trigger scans and the demo models are
 * defined by its stream (a canary set must come out identical for the same seed on every machine
 * and every release, so runs stay comparable sample by sample); moving them to seededRandom would
 * change every one of them, so they keep it. New code takes seededRandom.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return fromUniform(() => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}
