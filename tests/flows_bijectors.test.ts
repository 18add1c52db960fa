// The one property test every bijector goes through (DESIGN.md, "Flows"): on small float64 inputs
// on the reference cpu backend,
//   inverse(forward(x)) = x                         (≤ 1e-5; ~1e-12 for all but the CNF's RK4)
//   forward's logDet   = log|det ∂y/∂x|             (Jacobian built row by row with vjp)
//   inverse's logDet   = log|det ∂x/∂y|             (likewise, at y = forward(x))
// for conditional bijectors too (with a fixed context). Parameters are perturbed away from their
// identity initialisation first, so that no layer passes by being the identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, setBackend, tensor, randn, rand, noGrad, vjp, linalg } from '../src/index.ts';
import type { Module } from '../src/nn/module.ts';
import {
  type Bijector, Chain, Inverse, MLP, ConvNet, AdditiveCoupling, AffineCoupling, Scaling, halfMask, alternatingMask,
  checkerboardMask, channelMask, ActNorm, BatchNormFlow, InvertibleConv1x1, glowStep, Permutation, Logit, Sigmoid,
  FixedAffine, Squeeze, Reshape, SplitPrior, MaskedAffineAutoregressive, InverseAutoregressive, CNF, OdeNet,
  realnvpMultiScale, glowMultiScale, type RealNVPConfig, type GlowConfig,
} from '../src/models/flows/index.ts';

setBackend('cpu');
const dtype = 'float64' as const;

interface Case {
  name: string;
  make(rng: Generator): Bijector;
  /** Input shape including the batch dimension. */
  shape: number[];
  /** Inputs other than N(0, 1) (the logit needs (0, 1)). */
  input?(rng: Generator, shape: number[]): Tensor;
  ctx?(rng: Generator): Tensor;
  /** Run before the checks (ActNorm's data-dependent initialisation, eval mode, …). */
  prepare?(b: Bijector, x: Tensor, rng: Generator): void;
  /** Tolerance on the round trip (default 1e-7). */
  roundTrip?: number;
  /** Tolerance on the log-dets (default 1e-8). */
  logDetTol?: number;
}

/** Move every parameter away from its (often identity) initialisation. */
function perturb(m: Module, rng: Generator, scale = 0.3): void {
  noGrad(() => {
    for (const p of m.parameters()) p.assign(p.add(randn(p.shape, { rng, dtype: p.dtype }).mul(scale)));
  });
}

/**
 * log|det ∂f/∂x| per example, from the Jacobian built by autograd: the batch is repeated D times
 * (copy j of example n is row n·D + j) and one vjp with seed e_j on copy j gives every row
 * ∂y_j/∂x at once — the same as D separate vjps, since the bijectors treat examples independently.
 */
function autogradLogDet(f: (x: Tensor, ctx: Tensor | null) => Tensor, x: Tensor, ctx: Tensor | null): Float64Array {
  const N = x.shape[0]!, D = x.size / N;
  const repeat = (t: Tensor) => t.reshape([N, 1, -1]).expand([N, D, t.size / N]).reshape([N * D, ...t.shape.slice(1)]);
  const ctxRep = ctx ? repeat(ctx) : null;
  const [y, pull] = vjp((v) => f(v, ctxRep), repeat(x));
  assert.equal(y.size / (N * D), D, 'a bijector keeps the number of dimensions');
  const seed = new Float64Array(N * D * D);
  for (let n = 0; n < N; n++) for (let j = 0; j < D; j++) seed[(n * D + j) * D + j] = 1;
  const J = pull(tensor(seed, { shape: y.shape, dtype: y.dtype })).reshape([N, D, D]);
  return Float64Array.from(linalg.logAbsDet(J).dataSync());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const o = (rng: Generator) => ({ rng, dtype });
const mlp = (rng: Generator, i: number, h: number[], out: number, ctx = 0) => new MLP(i, h, out, { ...o(rng), zeroLast: false, activation: 'tanh', contextFeatures: ctx });
const conv = (rng: Generator, c: number, out: number, ctx = 0) => new ConvNet(c, out, { hidden: 4, blocks: 1, contextChannels: ctx, ...o(rng) });
const unit = (rng: Generator, shape: number[]) => rand(shape, { rng, dtype, low: 0.02, high: 0.98 });
const evalMode = (b: Bijector) => void b.eval();
const initActNorm = (b: Bijector, x: Tensor) => {
  b.forward(x.mul(1.7).add(0.4)); // data-dependent init on a batch with another mean and scale
  b.eval();
};
const tinyRealNVP: RealNVPConfig = { couplings: 0, hidden: [], scale: 'tanh', batchNorm: false, scales: 2, hiddenChannels: 4, blocks: 0, logitAlpha: 0.05 };
const tinyGlow: GlowConfig = { steps: 1, hidden: [], lu: true, scale: 'sigmoid', levels: 2, hiddenChannels: 4, splitPriors: true };

const cases: Case[] = [
  // NICE
  { name: 'AdditiveCoupling (vector)', shape: [3, 4], make: (r) => new AdditiveCoupling(alternatingMask(4, 0, dtype), mlp(r, 4, [8], 4)) },
  { name: 'AdditiveCoupling (checkerboard image)', shape: [2, 1, 4, 4], make: (r) => new AdditiveCoupling(checkerboardMask(4, 4, 1, dtype), conv(r, 1, 1)) },
  { name: 'AdditiveCoupling (conditional)', shape: [3, 4], ctx: (r) => randn([3, 2], { rng: r, dtype }), make: (r) => new AdditiveCoupling(halfMask(4, 1, dtype), mlp(r, 4, [8], 4, 2)) },
  { name: 'Scaling', shape: [3, 4], make: () => new Scaling([4], { dtype }) },
  // RealNVP
  ...(['tanh', 'sigmoid', 'exp'] as const).map((scale): Case => ({
    name: `AffineCoupling (${scale}, vector)`, shape: [3, 4], make: (r) => new AffineCoupling(halfMask(4, 0, dtype), mlp(r, 4, [8], 8), { scale, dtype }),
  })),
  { name: 'AffineCoupling (conditional)', shape: [3, 4], ctx: (r) => randn([3, 3], { rng: r, dtype }), make: (r) => new AffineCoupling(halfMask(4, 1, dtype), mlp(r, 4, [8], 8, 3), { dtype }) },
  { name: 'AffineCoupling (checkerboard image)', shape: [2, 2, 4, 4], make: (r) => new AffineCoupling(checkerboardMask(4, 4, 0, dtype), conv(r, 2, 4), { channels: 2, dtype }) },
  { name: 'AffineCoupling (channel mask, conditional image)', shape: [2, 4, 2, 2], ctx: (r) => randn([2, 3], { rng: r, dtype }), make: (r) => new AffineCoupling(channelMask(4, 1, dtype), conv(r, 4, 8, 3), { scale: 'sigmoid', dtype }) },
  { name: 'BatchNormFlow (eval, vector)', shape: [3, 4], make: () => new BatchNormFlow(4, { dtype }), prepare: (b, x) => { b.forward(x.mul(2).add(1)); b.forward(x.sub(0.5)); evalMode(b); } },
  { name: 'BatchNormFlow (eval, image)', shape: [2, 2, 3, 3], make: () => new BatchNormFlow(2, { dtype }), prepare: (b, x) => { b.forward(x.mul(3)); evalMode(b); } },
  { name: 'Squeeze', shape: [2, 2, 4, 4], make: () => new Squeeze() },
  { name: 'Logit', shape: [3, 5], input: unit, make: () => new Logit(0.05) },
  { name: 'Sigmoid', shape: [3, 5], make: () => new Sigmoid() },
  { name: 'FixedAffine', shape: [3, 5], make: () => new FixedAffine(-2.5, 0.5) },
  { name: 'Reshape', shape: [2, 2, 2, 2], make: () => new Reshape([2, 2, 2], [8]) },
  { name: 'Permutation (random)', shape: [3, 5], make: (r) => Permutation.random(5, r) },
  { name: 'Permutation (reverse, image channels)', shape: [2, 3, 2, 2], make: () => Permutation.reverse(3) },
  // Glow
  { name: 'ActNorm (vector, data-dependent init)', shape: [4, 3], make: () => new ActNorm(3, { dtype }), prepare: initActNorm },
  { name: 'ActNorm (image)', shape: [2, 2, 3, 3], make: () => new ActNorm(2, { dtype }), prepare: initActNorm },
  { name: 'InvertibleConv1x1 (plain, vector)', shape: [3, 4], make: (r) => new InvertibleConv1x1(4, { rng: r, dtype }) },
  { name: 'InvertibleConv1x1 (LU, vector)', shape: [3, 4], make: (r) => new InvertibleConv1x1(4, { rng: r, dtype, lu: true }) },
  { name: 'InvertibleConv1x1 (plain, image)', shape: [2, 3, 2, 2], make: (r) => new InvertibleConv1x1(3, { rng: r, dtype }) },
  { name: 'InvertibleConv1x1 (LU, image)', shape: [2, 4, 2, 2], make: (r) => new InvertibleConv1x1(4, { rng: r, dtype, lu: true }) },
  { name: 'Glow step (vector)', shape: [3, 4], make: (r) => glowStep(4, mlp(r, 4, [8], 8), { ...o(r), lu: true, image: false }), prepare: initActNorm },
  { name: 'Glow step (image)', shape: [2, 4, 2, 2], make: (r) => glowStep(4, conv(r, 4, 8), { ...o(r), image: true }), prepare: initActNorm },
  { name: 'SplitPrior (conditional on the kept half)', shape: [2, 2, 2, 2], ctx: (r) => randn([2, 2, 2, 2], { rng: r, dtype }), make: (r) => new SplitPrior(2, 2, o(r)) },
  { name: 'MultiScale (RealNVP, 2 scales)', shape: [2, 1, 4, 4], make: (r) => realnvpMultiScale(tinyRealNVP, [1, 4, 4], o(r)) },
  { name: 'MultiScale (Glow, 2 levels, split priors)', shape: [2, 1, 4, 4], make: (r) => glowMultiScale(tinyGlow, [1, 4, 4], o(r)), prepare: initActNorm },
  // MAF / IAF
  { name: 'MAF layer (natural order)', shape: [3, 4], make: (r) => new MaskedAffineAutoregressive(4, { hidden: [8, 8], activation: 'tanh', ...o(r) }) },
  { name: 'MAF layer (random order, random degrees)', shape: [3, 4], make: (r) => new MaskedAffineAutoregressive(4, { hidden: [8], ordering: 'random', hiddenDegrees: 'random', ...o(r) }) },
  { name: 'MAF layer (conditional)', shape: [3, 4], ctx: (r) => randn([3, 2], { rng: r, dtype }), make: (r) => new MaskedAffineAutoregressive(4, { hidden: [8], contextFeatures: 2, activation: 'tanh', ...o(r) }) },
  { name: 'IAF layer', shape: [3, 4], make: (r) => new InverseAutoregressive(4, { hidden: [8, 8], ordering: 'reverse', activation: 'tanh', ...o(r) }) },
  { name: 'IAF layer (conditional)', shape: [3, 4], ctx: (r) => randn([3, 2], { rng: r, dtype }), make: (r) => new InverseAutoregressive(4, { hidden: [8], contextFeatures: 2, ...o(r) }) },
  // Compositions
  { name: 'Inverse(AffineCoupling)', shape: [3, 4], make: (r) => new Inverse(new AffineCoupling(halfMask(4, 0, dtype), mlp(r, 4, [8], 8), { dtype })) },
  { name: 'Chain (logit → coupling → permutation → scaling)', shape: [3, 4], input: unit, make: (r) => new Chain([new Logit(0.01), new AffineCoupling(alternatingMask(4, 1, dtype), mlp(r, 4, [6], 8), { dtype }), Permutation.random(4, r), new Scaling([4], { dtype })]) },
  // Continuous flow: RK4 is differentiable, so its Jacobian comes from autograd as for every other bijector;
  // its inverse is the ODE integrated backwards, exact up to the solver's error.
  { name: 'CNF (exact trace, RK4)', shape: [3, 2], roundTrip: 1e-5, logDetTol: 1e-6, make: (r) => new CNF(new OdeNet(2, { hidden: [8, 8], ...o(r) }), { solver: { method: 'rk4', steps: 20 } }) },
  { name: 'CNF (conditional, softplus)', shape: [3, 2], roundTrip: 1e-5, logDetTol: 1e-6, ctx: (r) => randn([3, 2], { rng: r, dtype }), make: (r) => new CNF(new OdeNet(2, { hidden: [8], activation: 'softplus', contextFeatures: 2, ...o(r) }), { T: 0.7, solver: { method: 'rk4', steps: 20 } }) },
];

for (const [k, c] of cases.entries()) {
  test(`bijector property: ${c.name}`, () => {
    const rng = new Generator(100 + k);
    const b = c.make(rng);
    perturb(b, rng);
    const x = c.input ? c.input(rng, c.shape) : randn(c.shape, { rng, dtype });
    const ctx = c.ctx?.(rng) ?? null;
    c.prepare?.(b, x, rng);

    const fwd = b.forward(x, ctx);
    assert.equal(fwd.logDet.ndim, 1);
    assert.equal(fwd.logDet.shape[0], c.shape[0]);
    const inv = b.inverse(fwd.y, ctx);
    const rt = maxAbsDiff(inv.x.dataSync(), x.dataSync());
    assert.ok(rt <= (c.roundTrip ?? 1e-7), `round trip error ${rt}`);

    const tol = c.logDetTol ?? 1e-8;
    const fwdAuto = autogradLogDet((v, cv) => b.forward(v, cv).y, x, ctx);
    const dFwd = maxAbsDiff(fwd.logDet.dataSync(), fwdAuto);
    assert.ok(dFwd <= tol, `forward logDet ${Array.from(fwd.logDet.dataSync())} vs autograd ${Array.from(fwdAuto)}`);
    const invAuto = autogradLogDet((v, cv) => b.inverse(v, cv).x, fwd.y.detach(), ctx);
    const dInv = maxAbsDiff(inv.logDet.dataSync(), invAuto);
    assert.ok(dInv <= tol, `inverse logDet ${Array.from(inv.logDet.dataSync())} vs autograd ${Array.from(invAuto)}`);
    // and the two directions agree with each other
    assert.ok(maxAbsDiff(inv.logDet.dataSync(), fwd.logDet.neg().dataSync()) <= tol);
    // a bijector that is not volume-preserving must show it (guards against all-zero log-dets)
    if (!/Additive|Squeeze|Reshape|Permutation/.test(c.name)) assert.ok(Math.max(...Array.from(fwdAuto, Math.abs)) > 1e-3, `log-det ${Array.from(fwdAuto)} is trivially 0`);
  });
}
