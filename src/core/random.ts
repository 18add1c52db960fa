/**
 * Seeded, splittable, counter-based random numbers (in the spirit of JAX keys).
 *
 * Every random draw in genlab (initialisation, dropout, shuffling, noise) goes through a
 * {@link Generator}. The bits come from Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11) keyed by a 64-bit key and driven by a
 * 128-bit block counter. Only 32-bit integer arithmetic (`Math.imul`, `>>> 0`, exact
 * double-precision products of 16-bit halves) is used for the bits, so a seed gives
 * bit-identical `nextUint32` / `uniform` / `bernoulli` / `randint` / `permutation` /
 * `categorical` results in every JavaScript engine. `normal` additionally uses `Math.log`,
 * `Math.sqrt`, `Math.cos` and `Math.sin`, whose last-ulp rounding is engine-defined by the
 * ECMAScript spec (V8 and SpiderMonkey both use fdlibm ports, so they agree).
 *
 * Stream layout: each public method starts at the current counter, consumes whole 4-word
 * Philox blocks (one block per counter increment) and leaves the counter just past the last
 * block it used; unused words of that last block are discarded. Hence `{ key, counter }` is
 * the complete state and `Generator.fromState(g.state())` resumes exactly.
 */

// Philox4x32 round multipliers and Weyl key increments (Salmon et al. 2011, Random123 philox.h).
const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const M0_LO = PHILOX_M0 & 0xffff;
const M0_HI = PHILOX_M0 >>> 16;
const M1_LO = PHILOX_M1 & 0xffff;
const M1_HI = PHILOX_M1 >>> 16;

const TWO_POW_32 = 4294967296;
const TWO_POW_26 = 67108864;
const TWO_POW_MINUS_53 = 1 / 9007199254740992;
const TWO_PI = 2 * Math.PI;

/** High 32 bits of the exact 64-bit product of two uint32s, from 16-bit halves (all partial products < 2^32 are exact). */
function mulhi32Split(aLo: number, aHi: number, b: number): number {
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** High 32 bits of the exact 64-bit product `a * b` of two uint32s. */
function mulhi32(a: number, b: number): number {
  return mulhi32Split(a & 0xffff, a >>> 16, b);
}

/**
 * One Philox4x32-10 block: 10 rounds of the Philox S-P network with a Weyl-sequence key schedule
 * (Salmon et al. 2011; matches Random123's `philox4x32_R(10, ctr, key)`). Words are little-endian
 * in significance: `c0` is the least significant counter word, `k0` the low key word.
 */
function philoxBlock(
  c0: number, c1: number, c2: number, c3: number,
  k0: number, k1: number,
  out: Uint32Array,
  at: number,
): void {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32Split(M0_LO, M0_HI, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32Split(M1_LO, M1_HI, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
}

/**
 * The Philox4x32-10 bijection (Salmon et al. 2011) on a 128-bit counter (4 uint32 words, least
 * significant first) under a 64-bit key (2 uint32 words, low first); returns the 4 output words.
 * Exposed for known-answer tests against Random123's `kat_vectors`.
 */
export function philox4x32_10(counter: ArrayLike<number>, key: ArrayLike<number>): Uint32Array {
  if (counter.length !== 4 || key.length !== 2) {
    throw new Error(`philox4x32_10: counter must have 4 words and key 2 words, got ${counter.length} and ${key.length}`);
  }
  const out = new Uint32Array(4);
  philoxBlock(counter[0]! >>> 0, counter[1]! >>> 0, counter[2]! >>> 0, counter[3]! >>> 0, key[0]! >>> 0, key[1]! >>> 0, out, 0);
  return out;
}

/**
 * splitmix64 output function (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
 * generators"; Vigna's splitmix64.c) applied to `seed + 0x9E3779B97F4A7C15`, in 32-bit halves.
 * Returns `[lo, hi]`. Used to turn small, similar seeds (0, 1, 2, ...) into unrelated keys.
 */
function splitmix64(hi: number, lo: number): [number, number] {
  // z = seed + golden gamma (64-bit add with carry)
  let l = lo + 0x7f4a7c15;
  let h = hi + 0x9e3779b9 + (l >= TWO_POW_32 ? 1 : 0);
  l >>>= 0;
  h >>>= 0;
  // z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9
  l = (l ^ ((l >>> 30) | (h << 2))) >>> 0;
  h = (h ^ (h >>> 30)) >>> 0;
  [h, l] = mul64(h, l, 0xbf58476d, 0x1ce4e5b9);
  // z = (z ^ (z >>> 27)) * 0x94D049BB133111EB
  l = (l ^ ((l >>> 27) | (h << 5))) >>> 0;
  h = (h ^ (h >>> 27)) >>> 0;
  [h, l] = mul64(h, l, 0x94d049bb, 0x133111eb);
  // z ^ (z >>> 31)
  l = (l ^ ((l >>> 31) | (h << 1))) >>> 0;
  h = (h ^ (h >>> 31)) >>> 0;
  return [l, h];
}

/** (aHi:aLo) * (bHi:bLo) mod 2^64, returned as [hi, lo]. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  const lo = Math.imul(aLo, bLo) >>> 0;
  const hi = (mulhi32(aLo, bLo) + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0;
  return [hi, lo];
}

const UINT64_MASK = (1n << 64n) - 1n;
const SEED_MIN = -(1n << 63n);

/** Seed → 64-bit unsigned value as [hi, lo]; negative seeds wrap modulo 2^64 (as torch.manual_seed does). */
function seedWords(seed: number | bigint): [number, number] {
  let s: bigint;
  if (typeof seed === 'bigint') {
    s = seed;
  } else if (typeof seed === 'number' && Number.isSafeInteger(seed)) {
    s = BigInt(seed);
  } else {
    throw new Error(`Generator: seed must be a safe integer or a bigint, got ${String(seed)}`);
  }
  if (s < SEED_MIN || s > UINT64_MASK) {
    throw new Error(`Generator: seed must lie in [-2^63, 2^64), got ${s}`);
  }
  s &= UINT64_MASK;
  return [Number(s >> 32n), Number(s & 0xffffffffn)];
}

/** Checkpointable generator state: 64-bit key and 128-bit block counter, uint32 words, least significant first. */
export type GeneratorState = { key: [number, number]; counter: [number, number, number, number] };

function checkCount(method: string, name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`Generator.${method}: ${name} must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

function checkFinite(method: string, name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new Error(`Generator.${method}: ${name} must be a finite number, got ${String(x)}`);
  }
  return x;
}

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_POW_32;
}

/**
 * A seeded, splittable, counter-based pseudo-random generator (Philox4x32-10).
 *
 * ```ts
 * const g = new Generator(42);
 * const [initRng, dropoutRng] = g.split(2);
 * const w = initRng.normal(256 * 128, 0, 0.02);
 * ```
 */
export class Generator {
  private k0: number;
  private k1: number;
  private c0 = 0;
  private c1 = 0;
  private c2 = 0;
  private c3 = 0;
  /** Scratch block for word-at-a-time draws within one method call. */
  private readonly buf = new Uint32Array(4);
  private pos = 4;

  /**
   * Seed → 64-bit Philox key via splitmix64 (Steele, Lea & Flood 2014), so seeds 0, 1, 2, ...
   * give unrelated streams; the counter starts at 0. `seed` is a safe integer or a bigint in
   * [-2^63, 2^64); negative seeds wrap modulo 2^64.
   */
  constructor(seed: number | bigint = 0) {
    const [hi, lo] = seedWords(seed);
    [this.k0, this.k1] = splitmix64(hi, lo);
  }

  // ---- stream plumbing -------------------------------------------------------------------

  /** Philox block at the current counter into `out[at..at+3]`, then increment the 128-bit counter. */
  private block(out: Uint32Array, at: number): void {
    philoxBlock(this.c0, this.c1, this.c2, this.c3, this.k0, this.k1, out, at);
    this.c0 = (this.c0 + 1) >>> 0;
    if (this.c0 === 0) {
      this.c1 = (this.c1 + 1) >>> 0;
      if (this.c1 === 0) {
        this.c2 = (this.c2 + 1) >>> 0;
        if (this.c2 === 0) this.c3 = (this.c3 + 1) >>> 0;
      }
    }
  }

  /** Start a method call: discard words left over from the previous call's last block. */
  private begin(): void {
    this.pos = 4;
  }

  private nextWord(): number {
    if (this.pos === 4) {
      this.block(this.buf, 0);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }

  /** Uniform double in [0, 1) with 53 random bits from two words (genrand_res53 construction). */
  private nextDouble(): number {
    const a = this.nextWord() >>> 5;
    const b = this.nextWord() >>> 6;
    return (a * TWO_POW_26 + b) * TWO_POW_MINUS_53;
  }

  /** Unbiased integer in [0, range) for 1 <= range <= 2^32: modulo with rejection of the incomplete top bucket. */
  private nextBelow(range: number): number {
    const limit = TWO_POW_32 - (TWO_POW_32 % range);
    let w = this.nextWord();
    while (w >= limit) w = this.nextWord();
    return w % range;
  }

  private static withKey(k0: number, k1: number): Generator {
    const g = new Generator(0);
    g.k0 = k0;
    g.k1 = k1;
    return g;
  }

  // ---- splitting and state ---------------------------------------------------------------

  /**
   * Derive independent child generators (JAX-style key splitting): each child's 64-bit key is
   * two fresh Philox words from this generator's stream and its counter starts at 0. Advances
   * this generator (one block per two children), so it is deterministic and the parent's later
   * draws differ from the children's. `split()` returns the same child as `split(1)[0]`.
   */
  split(): Generator;
  split(n: number): Generator[];
  split(n?: number): Generator | Generator[] {
    const count = n === undefined ? 1 : checkCount('split', 'n', n);
    this.begin();
    const out: Generator[] = [];
    for (let i = 0; i < count; i++) {
      const k0 = this.nextWord();
      const k1 = this.nextWord();
      out.push(Generator.withKey(k0, k1));
    }
    return n === undefined ? out[0]! : out;
  }

  /** Snapshot of key and counter (plain JSON-serialisable numbers) for checkpoints. */
  state(): GeneratorState {
    return { key: [this.k0, this.k1], counter: [this.c0, this.c1, this.c2, this.c3] };
  }

  /** Rebuild a generator from {@link Generator.state}; it continues the original stream exactly. */
  static fromState(s: GeneratorState): Generator {
    const ok =
      s !== null && typeof s === 'object' &&
      Array.isArray(s.key) && s.key.length === 2 && s.key.every(isUint32) &&
      Array.isArray(s.counter) && s.counter.length === 4 && s.counter.every(isUint32);
    if (!ok) {
      throw new Error(
        `Generator.fromState: expected { key: 2 uint32 words, counter: 4 uint32 words }, got ${JSON.stringify(s)}`,
      );
    }
    const g = Generator.withKey(s.key[0], s.key[1]);
    [g.c0, g.c1, g.c2, g.c3] = s.counter;
    return g;
  }

  // ---- draws -----------------------------------------------------------------------------

  /** `n` raw uint32 words: consecutive Philox4x32-10 output blocks, 4 words per counter step. */
  nextUint32(n: number): Uint32Array {
    checkCount('nextUint32', 'n', n);
    this.begin();
    const out = new Uint32Array(n);
    const full = n - (n % 4);
    for (let i = 0; i < full; i += 4) this.block(out, i);
    for (let i = full; i < n; i++) out[i] = this.nextWord();
    return out;
  }

  /**
   * `n` uniform doubles in [low, high). Each uses 53 random bits from two words,
   * `((a >>> 5) * 2^26 + (b >>> 6)) / 2^53` (Matsumoto & Nishimura's genrand_res53, as in
   * NumPy/CPython), then `low + (high - low) * u`; the rare results that round up to `high`
   * are redrawn, so `high` is never returned. (Casting to float32 can still round up to 1.)
   */
  uniform(n: number, low = 0, high = 1): Float64Array {
    checkCount('uniform', 'n', n);
    checkFinite('uniform', 'low', low);
    checkFinite('uniform', 'high', high);
    const span = high - low;
    if (!(low < high) || !Number.isFinite(span)) {
      throw new Error(`Generator.uniform: need low < high with a finite high - low, got low=${low}, high=${high}`);
    }
    this.begin();
    const out = new Float64Array(n);
    if (low === 0 && high === 1) {
      for (let i = 0; i < n; i++) out[i] = this.nextDouble();
    } else {
      for (let i = 0; i < n; i++) {
        let x = low + span * this.nextDouble();
        while (x >= high) x = low + span * this.nextDouble();
        out[i] = x;
      }
    }
    return out;
  }

  /**
   * `n` normal deviates by the Box–Muller transform (Box & Muller 1958): with `u1` in (0, 1]
   * (computed as `1 - u`, so `log(0)` never happens) and `u2` in [0, 1), both 53-bit,
   * `r = sqrt(-2 ln u1)` gives the pair `r cos(2π u2)`, `r sin(2π u2)`; both are used.
   */
  normal(n: number, mean = 0, std = 1): Float64Array {
    checkCount('normal', 'n', n);
    checkFinite('normal', 'mean', mean);
    checkFinite('normal', 'std', std);
    if (std < 0) throw new Error(`Generator.normal: std must be non-negative, got ${std}`);
    this.begin();
    const out = new Float64Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = 1 - this.nextDouble();
      const u2 = this.nextDouble();
      const r = Math.sqrt(-2 * Math.log(u1));
      const t = TWO_PI * u2;
      out[i] = mean + std * (r * Math.cos(t));
      if (i + 1 < n) out[i + 1] = mean + std * (r * Math.sin(t));
    }
    return out;
  }

  /** `n` Bernoulli(p) draws as 0/1 bytes: 1 iff a 53-bit uniform in [0, 1) is `< p` (exact for p = 0 and p = 1). */
  bernoulli(n: number, p: number): Uint8Array {
    checkCount('bernoulli', 'n', n);
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`Generator.bernoulli: p must be a probability in [0, 1], got ${String(p)}`);
    }
    this.begin();
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextDouble() < p ? 1 : 0;
    return out;
  }

  /**
   * `n` integers uniform on [low, high) by rejection sampling: a word `w` is accepted when
   * `w < 2^32 - (2^32 mod range)` and mapped to `low + w mod range`, which is exactly unbiased
   * (the arc4random_uniform method). `low`, `high` are integers with
   * -2^31 <= low < high <= 2^31, so results fit in an Int32Array.
   */
  randint(n: number, low: number, high: number): Int32Array {
    checkCount('randint', 'n', n);
    if (!Number.isInteger(low) || !Number.isInteger(high) || !(low < high) || low < -2147483648 || high > 2147483648) {
      throw new Error(
        `Generator.randint: need integers -2^31 <= low < high <= 2^31, got low=${String(low)}, high=${String(high)}`,
      );
    }
    this.begin();
    const range = high - low;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = low + this.nextBelow(range);
    return out;
  }

  /**
   * A uniformly random permutation of 0..n-1 by the Fisher–Yates shuffle (Durstenfeld 1964,
   * Algorithm 235): for i = n-1..1 swap element i with a uniform j in [0, i] drawn with the
   * unbiased rejection sampler of {@link Generator.randint}.
   */
  permutation(n: number): Int32Array {
    checkCount('permutation', 'n', n);
    if (n > 2147483648) throw new Error(`Generator.permutation: n must be at most 2^31, got ${n}`);
    this.begin();
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextBelow(i + 1);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  /**
   * Categorical sampling by inverse CDF: `probs` is a row-major `rows × K` array of non-negative
   * (unnormalised) weights; for each row, `numSamples` indices are drawn by locating a 53-bit
   * uniform times the row total in the row's cumulative sums (binary search for the first
   * cumulative sum exceeding it, so zero-weight categories are never chosen). Returns a
   * row-major `rows × numSamples` Int32Array.
   */
  categorical(probs: ArrayLike<number>, rows: number, numSamples = 1): Int32Array {
    if (probs === null || typeof probs !== 'object' || typeof probs.length !== 'number') {
      throw new Error(`Generator.categorical: probs must be an array-like of numbers, got ${String(probs)}`);
    }
    checkCount('categorical', 'rows', rows);
    checkCount('categorical', 'numSamples', numSamples);
    const len = probs.length;
    if (rows === 0) {
      if (len !== 0) throw new Error(`Generator.categorical: rows is 0 but probs has ${len} entries`);
      return new Int32Array(0);
    }
    const K = len / rows;
    if (!Number.isInteger(K) || K < 1) {
      throw new Error(
        `Generator.categorical: probs length ${len} is not a positive multiple of rows=${rows} (K = ${K} categories is not a positive integer)`,
      );
    }
    // Validate everything before drawing, so a bad row leaves the stream untouched.
    const cdf = new Float64Array(rows * K);
    const lastPositive = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let total = 0;
      let last = -1;
      for (let k = 0; k < K; k++) {
        const w = probs[r * K + k]!;
        if (typeof w !== 'number' || !(w >= 0) || w === Infinity) {
          throw new Error(
            `Generator.categorical: weights must be finite and non-negative, got ${String(w)} at row ${r}, category ${k}`,
          );
        }
        total += w;
        cdf[r * K + k] = total;
        if (w > 0) last = k;
      }
      if (total === 0) throw new Error(`Generator.categorical: row ${r} has all-zero weights`);
      if (!Number.isFinite(total)) throw new Error(`Generator.categorical: row ${r} weights sum to ${total}`);
      lastPositive[r] = last;
    }
    const out = new Int32Array(rows * numSamples);
    this.begin();
    for (let r = 0; r < rows; r++) {
      const base = r * K;
      const total = cdf[base + K - 1]!;
      for (let s = 0; s < numSamples; s++) {
        const u = this.nextDouble() * total;
        // First k with cdf[k] > u (never a zero-weight k); u < total always, the guard is belt and braces.
        if (!(total > u)) {
          out[r * numSamples + s] = lastPositive[r]!;
          continue;
        }
        let lo = 0;
        let hi = K - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[base + mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        out[r * numSamples + s] = lo;
      }
    }
    return out;
  }
}
