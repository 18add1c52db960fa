import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, philox4x32_10, type GeneratorState } from '../src/core/random.ts';

// ---- helpers ---------------------------------------------------------------------------

const hex = (a: ArrayLike<number>): string[] => Array.from(a, (x) => x.toString(16).padStart(8, '0'));

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

function variance(x: ArrayLike<number>): number {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i]! - m) ** 2;
  return s / (x.length - 1);
}

/** Pearson chi-square statistic of observed counts against expected counts. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < observed.length; i++) c += (observed[i]! - expected[i]!) ** 2 / expected[i]!;
  return c;
}

/** Kolmogorov–Smirnov statistic sup |F_n - F| of a sample against a continuous CDF. */
function ksStatistic(sample: Float64Array, cdf: (x: number) => number): number {
  const s = Float64Array.from(sample).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(s[i]!);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, far below the KS tolerance). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

const KS_CRIT_1PCT = 1.63; // asymptotic 1% critical value of sqrt(n) * D
// Upper 0.1% points of the chi-square distribution.
const CHI2_999 = { 3: 16.266, 9: 27.877, 23: 49.728 } as const;

// ---- Philox known-answer tests ---------------------------------------------------------

test('philox4x32_10 matches Random123 kat_vectors', () => {
  // Random123 kat_vectors lines: philox4x32 10 <ctr x4> <key x2> <expected x4>
  const kats: [number[], number[], string[]][] = [
    [[0, 0, 0, 0], [0, 0], ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
    ],
  ];
  for (const [ctr, key, expected] of kats) {
    assert.deepEqual(hex(philox4x32_10(ctr, key)), expected);
    // The same block through the Generator: fromState at that counter/key yields it as the first 4 words.
    const g = Generator.fromState({ key: key as [number, number], counter: ctr as [number, number, number, number] });
    assert.deepEqual(hex(g.nextUint32(4)), expected);
  }
});

test('seed is hashed with splitmix64 into the 64-bit key', () => {
  // Reference splitmix64 in BigInt: first output for state `seed`.
  const M = (1n << 64n) - 1n;
  const ref = (seed: bigint): [number, number] => {
    let z = (seed + 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    z ^= z >> 31n;
    return [Number(z & 0xffffffffn), Number(z >> 32n)];
  };
  // Published first output of splitmix64 seeded with 0.
  assert.deepEqual(hex(new Generator(0).state().key), ['7b1dcdaf', 'e220a839']);
  for (const s of [0n, 1n, 2n, 42n, 123456789n, 0xdeadbeefcafebaben, (1n << 64n) - 1n, 1n << 63n]) {
    assert.deepEqual(new Generator(s).state().key, ref(s), `seed ${s}`);
  }
  assert.deepEqual(new Generator(0).state().counter, [0, 0, 0, 0]);
  assert.deepEqual(new Generator(7n).state(), new Generator(7).state());
  assert.deepEqual(new Generator(-1).state(), new Generator((1n << 64n) - 1n).state()); // negative seeds wrap mod 2^64
  assert.deepEqual(new Generator().state(), new Generator(0).state());
});

test('stream layout: consecutive Philox blocks, leftover words of a call discarded, 128-bit carry', () => {
  const g = new Generator(42);
  const key = g.state().key;
  const words = g.nextUint32(8);
  assert.deepEqual(Array.from(words.subarray(0, 4)), Array.from(philox4x32_10([0, 0, 0, 0], key)));
  assert.deepEqual(Array.from(words.subarray(4, 8)), Array.from(philox4x32_10([1, 0, 0, 0], key)));
  g.nextUint32(3); // uses block 2; its 4th word is discarded
  assert.deepEqual(g.state().counter, [3, 0, 0, 0]);
  assert.deepEqual(Array.from(g.nextUint32(1)), [philox4x32_10([3, 0, 0, 0], key)[0]]);

  const h = Generator.fromState({ key, counter: [0xffffffff, 0xffffffff, 0xffffffff, 0] });
  const w = h.nextUint32(8);
  assert.deepEqual(Array.from(w.subarray(4)), Array.from(philox4x32_10([0, 0, 0, 1], key)));
  assert.deepEqual(h.state().counter, [1, 0, 0, 1]);
});

test('stream is pinned: seed 42 gives these exact values (changing them breaks reproducibility)', () => {
  const g = new Generator(42);
  assert.deepEqual(Array.from(g.nextUint32(8)), [
    2715264132, 1124512371, 835027021, 2325617541, 919889242, 472143888, 1067019643, 504439542,
  ]);
  assert.deepEqual(Array.from(g.uniform(3)), [0.7645360325908703, 0.12057611674543689, 0.8070775940991133]);
  // normal depends on Math.log/cos/sin, whose last ulp is engine-defined: compare to 1e-14.
  const z = g.normal(3);
  const expected = [-0.2617739726494631, 0.04807969878011302, -0.09518703694231848];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(z[i]! - expected[i]!) < 1e-14, `normal[${i}] = ${z[i]}`);
});

// ---- determinism, state and splitting --------------------------------------------------

function drawAll(g: Generator): number[] {
  return [
    ...g.nextUint32(5),
    ...g.uniform(7, -1, 2),
    ...g.normal(5, 1, 3),
    ...g.bernoulli(9, 0.4),
    ...g.randint(11, -5, 1000003),
    ...g.permutation(13),
    ...g.categorical([1, 0, 2, 3, 3, 0], 2, 5),
  ];
}

test('same seed gives the same sequences; different seeds give unrelated streams', () => {
  assert.deepEqual(drawAll(new Generator(123)), drawAll(new Generator(123)));
  assert.notDeepEqual(drawAll(new Generator(123)), drawAll(new Generator(124)));

  const n = 20000;
  const streams = [0, 1, 2].map((s) => new Generator(s).nextUint32(n));
  const uniforms = [0, 1, 2].map((s) => new Generator(s).uniform(n));
  for (let a = 0; a < 3; a++) {
    for (let b = a + 1; b < 3; b++) {
      let same = 0;
      for (let i = 0; i < n; i++) if (streams[a]![i] === streams[b]![i]) same++;
      assert.equal(same, 0, `seeds ${a} and ${b} share words`);
      // Correlation of uniforms from seeds a and b: SE = 1/sqrt(n).
      const x = uniforms[a]!;
      const y = uniforms[b]!;
      let sxy = 0;
      for (let i = 0; i < n; i++) sxy += (x[i]! - 0.5) * (y[i]! - 0.5);
      const corr = sxy / n / (1 / 12);
      assert.ok(Math.abs(corr) < 5 / Math.sqrt(n), `corr(seed ${a}, seed ${b}) = ${corr}`);
    }
  }
});

test('fromState(state()) resumes exactly, including through JSON', () => {
  const g = new Generator(99);
  drawAll(g);
  const snap: GeneratorState = JSON.parse(JSON.stringify(g.state()));
  const s2 = g.state();
  s2.key[0] = 0; // the returned snapshot is a copy
  s2.counter[0] = 12345;
  const resumed = Generator.fromState(snap);
  assert.deepEqual(resumed.state(), g.state());
  assert.deepEqual(drawAll(resumed), drawAll(g));
  assert.deepEqual(resumed.state(), g.state());
});

test('split: deterministic, advances the parent, children differ from parent and each other', () => {
  const a = new Generator(5);
  const b = new Generator(5);
  const before = a.state();
  const ca = a.split();
  const cb = b.split();
  assert.notDeepEqual(a.state(), before, 'parent advanced');
  assert.deepEqual(ca.state(), cb.state());
  assert.deepEqual(drawAll(ca), drawAll(cb));
  assert.deepEqual(drawAll(a), drawAll(b)); // parents still in lockstep

  // split() is split(1)[0].
  assert.deepEqual(new Generator(5).split().state(), new Generator(5).split(1)[0]!.state());

  const p = new Generator(8);
  const kids = p.split(4);
  assert.equal(kids.length, 4);
  assert.equal(new Generator(8).split(0).length, 0);
  const streams = [p, ...kids, kids[0]!.split()].map((g) => Array.from(g.nextUint32(64)).join(','));
  assert.equal(new Set(streams).size, streams.length, 'parent, children and grandchild streams all differ');
  // Repeat splits give new children.
  const q = new Generator(8);
  const first = q.split();
  const second = q.split();
  assert.notDeepEqual(first.state().key, second.state().key);
  // Same seed → same children.
  const kids2 = new Generator(8).split(4);
  assert.deepEqual(kids2.map((g) => g.state()), new Generator(8).split(4).map((g) => g.state()));
});

// ---- statistics (fixed seeds, so these are deterministic; tolerances are 5 standard errors) --

const N = 200_000;

test('uniform: range, mean, variance and KS against U(0,1)', () => {
  const u = new Generator(2024).uniform(N);
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of u) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  assert.ok(lo >= 0 && hi < 1, `range [${lo}, ${hi}]`);
  const m = mean(u);
  const v = variance(u);
  assert.ok(Math.abs(m - 0.5) < 5 * Math.sqrt(1 / 12 / N), `mean ${m}`);
  assert.ok(Math.abs(v - 1 / 12) < 5 * Math.sqrt(1 / 180 / N), `variance ${v}`); // Var((U-1/2)^2) = 1/180
  const d = ksStatistic(u, (x) => Math.min(1, Math.max(0, x)));
  assert.ok(d < KS_CRIT_1PCT / Math.sqrt(N), `KS D = ${d}`);

  const w = new Generator(7).uniform(N, -2, 3);
  assert.ok(w.every((x) => x >= -2 && x < 3));
  assert.ok(Math.abs(mean(w) - 0.5) < 5 * 5 * Math.sqrt(1 / 12 / N), `mean ${mean(w)}`);

  // A one-ulp interval: half of low + span*u would round to high; high must never be returned.
  const tiny = new Generator(1).uniform(10_000, 1, 1 + 2 ** -52);
  assert.ok(tiny.every((x) => x === 1));
});

test('normal: mean, variance, KS against N(0,1), pair independence, affine parameters', () => {
  const z = new Generator(31337).normal(N);
  assert.ok(z.every(Number.isFinite));
  const m = mean(z);
  const v = variance(z);
  assert.ok(Math.abs(m) < 5 / Math.sqrt(N), `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 5 * Math.sqrt(2 / N), `variance ${v}`);
  const d = ksStatistic(z, normalCdf);
  assert.ok(d < KS_CRIT_1PCT / Math.sqrt(N), `KS D = ${d} vs ${KS_CRIT_1PCT / Math.sqrt(N)}`);
  // Both Box–Muller outputs are used: the two members of a pair must be uncorrelated.
  let sxy = 0;
  for (let i = 0; i < N; i += 2) sxy += z[i]! * z[i + 1]!;
  const corr = sxy / (N / 2);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(N / 2), `pair correlation ${corr}`);

  const y = new Generator(5).normal(N + 1, 3, 2); // odd length
  assert.equal(y.length, N + 1);
  assert.ok(Math.abs(mean(y) - 3) < 5 * 2 / Math.sqrt(N), `mean ${mean(y)}`);
  assert.ok(Math.abs(Math.sqrt(variance(y)) - 2) < 5 * 2 * Math.sqrt(1 / (2 * N)), `std ${Math.sqrt(variance(y))}`);
  assert.ok(new Generator(5).normal(10, 4, 0).every((x) => x === 4));
});

test('bernoulli: rate ≈ p, exact at p = 0 and p = 1', () => {
  for (const p of [0.3, 0.9, 0.001]) {
    const b = new Generator(11).bernoulli(N, p);
    assert.ok(b.every((x) => x === 0 || x === 1));
    const rate = mean(b);
    assert.ok(Math.abs(rate - p) < 5 * Math.sqrt((p * (1 - p)) / N), `p=${p}: rate ${rate}`);
  }
  assert.ok(new Generator(1).bernoulli(1000, 0).every((x) => x === 0));
  assert.ok(new Generator(1).bernoulli(1000, 1).every((x) => x === 1));
});

test('randint: uniform over [low, high) (chi-square), unbiased for ranges not dividing 2^32', () => {
  const r = new Generator(77).randint(N, -3, 7);
  const counts = new Array<number>(10).fill(0);
  for (const x of r) {
    assert.ok(Number.isInteger(x) && x >= -3 && x < 7, `out of range: ${x}`);
    counts[x + 3]!++;
  }
  const chi2 = chiSquare(counts, new Array<number>(10).fill(N / 10));
  assert.ok(chi2 < CHI2_999[9], `chi-square ${chi2} (df 9, 0.1% critical ${CHI2_999[9]})`);

  // range = 3·2^30: plain `w % range` would put half the mass below 2^30 (2^32 mod range = 2^30);
  // rejection sampling gives exactly 1/3.
  const big = new Generator(78).randint(N, -(2 ** 31), 2 ** 30);
  let below = 0;
  for (const x of big) {
    assert.ok(x >= -(2 ** 31) && x < 2 ** 30);
    if (x < -(2 ** 30)) below++;
  }
  const frac = below / N;
  assert.ok(Math.abs(frac - 1 / 3) < 5 * Math.sqrt(2 / 9 / N), `fraction in first third ${frac}`);

  // Full int32 range and single-value range.
  const full = new Generator(79).randint(N, -(2 ** 31), 2 ** 31);
  const neg = mean(Array.from(full, (x) => (x < 0 ? 1 : 0)));
  assert.ok(Math.abs(neg - 0.5) < 5 * Math.sqrt(0.25 / N), `negative fraction ${neg}`);
  assert.ok(new Generator(1).randint(100, 5, 6).every((x) => x === 5));
});

test('permutation: is a permutation; position of element 0 and all 24 orders of 4 are uniform', () => {
  const p = new Generator(3).permutation(1000);
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.equal(new Generator(3).permutation(0).length, 0);
  assert.deepEqual(Array.from(new Generator(3).permutation(1)), [0]);

  const g = new Generator(4);
  const trials = 20_000;
  const pos = new Array<number>(10).fill(0);
  for (let t = 0; t < trials; t++) pos[g.permutation(10).indexOf(0)]!++;
  const chi2 = chiSquare(pos, new Array<number>(10).fill(trials / 10));
  assert.ok(chi2 < CHI2_999[9], `position of 0: chi-square ${chi2} (df 9, 0.1% critical ${CHI2_999[9]})`);

  // Full distribution over the 24 orders of 4 elements (catches e.g. the naive swap-with-any-j shuffle).
  const orders = new Map<string, number>();
  const t4 = 48_000;
  for (let t = 0; t < t4; t++) {
    const k = g.permutation(4).join('');
    orders.set(k, (orders.get(k) ?? 0) + 1);
  }
  assert.equal(orders.size, 24);
  const chi2b = chiSquare([...orders.values()], new Array<number>(24).fill(t4 / 24));
  assert.ok(chi2b < CHI2_999[23], `orders of 4: chi-square ${chi2b} (df 23, 0.1% critical ${CHI2_999[23]})`);
});

test('categorical: rows × numSamples shape, frequencies ≈ normalised weights, zero weights never drawn', () => {
  const S = 100_000;
  const probs = new Float32Array([1, 2, 3, 4, 0, 5, 0, 5]); // 2 rows × K=4, unnormalised
  const out = new Generator(9).categorical(probs, 2, S);
  assert.equal(out.length, 2 * S);
  const rowsP = [
    [0.1, 0.2, 0.3, 0.4],
    [0, 0.5, 0, 0.5],
  ];
  for (let r = 0; r < 2; r++) {
    const counts = [0, 0, 0, 0];
    for (let s = 0; s < S; s++) counts[out[r * S + s]!]!++;
    for (let k = 0; k < 4; k++) {
      const p = rowsP[r]![k]!;
      const f = counts[k]! / S;
      if (p === 0) assert.equal(counts[k], 0, `row ${r}: zero-weight category ${k} drawn`);
      else assert.ok(Math.abs(f - p) < 5 * Math.sqrt((p * (1 - p)) / S), `row ${r} cat ${k}: ${f} vs ${p}`);
    }
    if (r === 0) {
      const chi2 = chiSquare(counts, rowsP[0]!.map((p) => p * S));
      assert.ok(chi2 < CHI2_999[3], `row 0 chi-square ${chi2} (df 3, 0.1% critical ${CHI2_999[3]})`);
    }
  }
  assert.deepEqual(Array.from(new Generator(1).categorical([0, 0, 7], 1, 5)), [2, 2, 2, 2, 2]);
  assert.deepEqual(Array.from(new Generator(1).categorical([2, 3], 2)), [0, 0]); // K = 1, default numSamples = 1
  assert.equal(new Generator(1).categorical([], 0, 3).length, 0);
});

// ---- argument validation ---------------------------------------------------------------

test('bad arguments throw errors naming the method and the value', () => {
  const g = new Generator(0);
  const cases: [() => unknown, RegExp][] = [
    [() => new Generator(1.5), /Generator: seed .* 1\.5/],
    [() => new Generator(NaN), /Generator: seed .* NaN/],
    [() => new Generator(2 ** 53), /Generator: seed .* 9007199254740992/],
    [() => new Generator(1n << 64n), /Generator: seed .* 18446744073709551616/],
    [() => g.nextUint32(-1), /Generator\.nextUint32: n .* -1/],
    [() => g.uniform(1.5), /Generator\.uniform: n .* 1\.5/],
    [() => g.uniform(3, 1, 1), /Generator\.uniform: .*low=1, high=1/],
    [() => g.uniform(3, 0, NaN), /Generator\.uniform: high .* NaN/],
    [() => g.uniform(3, -Number.MAX_VALUE, Number.MAX_VALUE), /Generator\.uniform: .*finite high - low/],
    [() => g.normal(NaN), /Generator\.normal: n .* NaN/],
    [() => g.normal(3, 0, -1), /Generator\.normal: std .* -1/],
    [() => g.bernoulli(3, NaN), /Generator\.bernoulli: p .* NaN/],
    [() => g.bernoulli(3, 1.5), /Generator\.bernoulli: p .* 1\.5/],
    [() => g.bernoulli(-2, 0.5), /Generator\.bernoulli: n .* -2/],
    [() => g.randint(3, 5, 5), /Generator\.randint: .*low=5, high=5/],
    [() => g.randint(3, 0.5, 4), /Generator\.randint: .*low=0\.5/],
    [() => g.randint(3, 0, 2 ** 31 + 1), /Generator\.randint: .*high=2147483649/],
    [() => g.randint(Infinity, 0, 2), /Generator\.randint: n .* Infinity/],
    [() => g.permutation(-3), /Generator\.permutation: n .* -3/],
    [() => g.split(2.5), /Generator\.split: n .* 2\.5/],
    [() => g.categorical([1, -1, 2], 1), /Generator\.categorical: .*non-negative.* -1 at row 0, category 1/],
    [() => g.categorical([1, 2, 0, 0], 2), /Generator\.categorical: row 1 has all-zero weights/],
    [() => g.categorical([1, 2, 3], 2), /Generator\.categorical: probs length 3 .*rows=2.*K = 1\.5/],
    [() => g.categorical([1, NaN], 1), /Generator\.categorical: .* NaN at row 0, category 1/],
    [() => g.categorical([1, Infinity], 1), /Generator\.categorical: .* Infinity at row 0, category 1/],
    [() => g.categorical([1, 2], 1, -1), /Generator\.categorical: numSamples .* -1/],
    [() => g.categorical([1, 2], 1.5), /Generator\.categorical: rows .* 1\.5/],
    [() => Generator.fromState({ key: [1, 2], counter: [0, 0, 0] } as unknown as GeneratorState), /Generator\.fromState/],
    [() => Generator.fromState({ key: [-1, 2], counter: [0, 0, 0, 0] }), /Generator\.fromState/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, re);
  // Failed calls leave the stream where it was.
  assert.deepEqual(g.state(), new Generator(0).state());
});
