/**
 * Parity with k-diffusion (Crowson, github.com/crowsonkb/k-diffusion): with the same denoiser, σ grid
 * and noise, genlab's Euler, Euler ancestral, Heun (with and without churn) and DPM-Solver++(2M)
 * give k-diffusion's samples, and genlab's Karras and exponential grids are k-diffusion's.
 *
 * The fixture (scripts/fixtures/make_kdiffusion_fixtures.py, k-diffusion run with PyTorch 1.13 in
 * float64) drives each sampler with the ideal denoiser of a two-component Gaussian mixture, which
 * both sides compute with the same closed form, and records every normal draw k-diffusion made
 * with the index of the step that made it; genlab replays them through `opts.noise(like, i)`.
 *
 * Noise-draw schedules differ in one place: k-diffusion's sample_euler / sample_heun call
 * randn_like at every step, even where γ = 0 (σ outside [sTmin, sTmax], or sChurn = 0) and the draw
 * is thrown away; genlab draws churn noise only where γ > 0. Replaying by step index aligns them;
 * the test checks that genlab asks exactly for the steps where k-diffusion's draw was used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tensor, scope, type Tensor, type DType } from '../src/index.ts';
import { getBackendByName } from '../src/core/backend.ts';
import { type Denoiser } from '../src/models/diffusion/denoiser.ts';
import * as S from '../src/models/diffusion/samplers.ts';
import { karrasSigmas, exponentialSigmas } from '../src/models/diffusion/schedules.ts';

interface Mixture { pi: [number, number]; sd: [number, number]; mu: [number[], number[]]; shape: number[] }
interface Grid { kind: 'karras' | 'exponential'; n: number; sigmaMin: number; sigmaMax: number; rho?: number; float64: number[]; float32: number[] }
type SamplerName = 'euler' | 'heun' | 'eulerAncestral' | 'dpmpp2m';
interface Options { sChurn?: number; sTmin?: number; sTmax?: number; sNoise?: number; eta?: number }
interface Case {
  name: string;
  sampler: SamplerName;
  grid: number;
  mixture: string;
  options: Options;
  shape: number[];
  x0: number[];
  noise: { step: number; data: number[] }[];
  nfe: number;
  out: number[];
}
interface Fixture { commit: string; torch: string; mixtures: Record<string, Mixture>; grids: Grid[]; cases: Case[] }

const FX = JSON.parse(readFileSync(new URL('./fixtures/kdiffusion.json', import.meta.url), 'utf8')) as Fixture;
const backend = getBackendByName('cpu');

/**
 * Tolerances on max|genlab − k-diffusion| / max|k-diffusion|. The issue asks for 1e-5; in float64
 * the two differ only by rounding (about 1e-15), so the test holds them to 1e-12. In float32 genlab runs against
 * the float64 reference, from x₀ of scale σ_max = 80.
 */
const TOL = { float64: 1e-12, float32: 2e-5 } as const;

/**
 * The ideal denoiser E[x₀ | x] for x₀ ~ Σ_k π_k N(μ_k, s_k² I) (per example, over all features):
 * w₁ = sigmoid(l₁ − l₂) with l_k = log π_k − (d/2)·log(s_k² + σ²) − ‖x − μ_k‖²/(2(s_k² + σ²)),
 * D = Σ_k w_k·(s_k²·x + σ²·μ_k)/(s_k² + σ²).
 */
function mixtureDenoiser(mix: Mixture, dtype: DType): { denoise: Denoiser; calls: () => number } {
  const mus = mix.mu.map((m) => tensor(m, { dtype, backend }));
  let calls = 0;
  const denoise: Denoiser = (x, sigma) => {
    calls++;
    const n = x.shape[0]!;
    const xf = x.reshape([n, -1]);
    const d = xf.shape[1]!;
    const s2 = sigma.reshape([n, 1]).square();
    const logits: Tensor[] = [], means: Tensor[] = [];
    for (let k = 0; k < 2; k++) {
      const sk2 = mix.sd[k]! ** 2;
      const v = s2.add(sk2);
      logits.push(v.log().mul(-0.5 * d).add(Math.log(mix.pi[k]!)).sub(xf.sub(mus[k]!).square().sum(1, true).div(v.mul(2))));
      means.push(xf.mul(sk2).add(s2.mul(mus[k]!)).div(v));
    }
    const w1 = logits[0]!.sub(logits[1]!).sigmoid();
    return w1.mul(means[0]!).add(w1.rsub(1).mul(means[1]!)).reshape(x.shape);
  };
  return { denoise, calls: () => calls };
}

/** genlab's σ grid for a fixture grid's parameters. */
function genlabGrid(g: Grid): number[] {
  return g.kind === 'karras' ? karrasSigmas(g.n, g.sigmaMin, g.sigmaMax, g.rho) : exponentialSigmas(g.n, g.sigmaMin, g.sigmaMax);
}

/** The steps at which k-diffusion's churn draw is used: γ = min(sChurn/n, √2 − 1) > 0 for sTmin ≤ σ_i ≤ sTmax. */
function churnSteps(sigmas: readonly number[], o: Options): number[] {
  const n = sigmas.length - 1, { sChurn = 0, sTmin = 0, sTmax = Infinity } = o;
  const gamma = (s: number) => (s >= sTmin && s <= sTmax ? Math.min(sChurn / n, Math.SQRT2 - 1) : 0);
  return sigmas.slice(0, -1).flatMap((s, i) => (gamma(s) > 0 ? [i] : []));
}

/** Run one case in genlab; returns the sample, the steps whose noise genlab asked for, and the NFE. */
function runCase(c: Case, sigmas: readonly number[], dtype: DType): { out: Float64Array; requested: number[]; nfe: number } {
  const { denoise, calls } = mixtureDenoiser(FX.mixtures[c.mixture]!, dtype);
  const byStep = new Map(c.noise.map((z) => [z.step, z.data]));
  const requested: number[] = [];
  const noise = (like: Tensor, i: number): Tensor => {
    requested.push(i);
    const z = byStep.get(i);
    assert.ok(z, `${c.name}: genlab asked for noise at step ${i}, where k-diffusion drew none`);
    return tensor(z, { dtype: like.dtype, backend, shape: like.shape });
  };
  const out = scope(() => {
    const x0 = tensor(c.x0, { dtype, backend, shape: c.shape });
    const opts = { ...c.options, noise };
    const y = c.sampler === 'euler' ? S.euler(denoise, x0, sigmas, opts)
      : c.sampler === 'heun' ? S.heun(denoise, x0, sigmas, opts)
        : c.sampler === 'eulerAncestral' ? S.eulerAncestral(denoise, x0, sigmas, opts)
          : S.dpmpp2m(denoise, x0, sigmas, opts);
    assert.deepEqual(y.shape, c.shape, `${c.name}: output shape`);
    return Float64Array.from(y.dataSync());
  });
  return { out, requested, nfe: calls() };
}

function relErr(a: ArrayLike<number>, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

test('k-diffusion parity: σ grids (get_sigmas_karras, get_sigmas_exponential)', () => {
  assert.ok(FX.grids.some((g) => g.kind === 'karras') && FX.grids.some((g) => g.kind === 'exponential'));
  for (const g of FX.grids) {
    const ours = genlabGrid(g);
    const who = `${g.kind} n=${g.n} σ ∈ [${g.sigmaMin}, ${g.sigmaMax}]${g.rho ? ` ρ=${g.rho}` : ''}`;
    assert.equal(ours.length, g.n + 1, who);
    assert.equal(ours[g.n], 0, `${who}: ends in 0`);
    for (let i = 0; i < g.n; i++) {
      // against k-diffusion in float64, and as it builds them by default (float32 linspace)
      assert.ok(Math.abs(ours[i]! / g.float64[i]! - 1) < 1e-12, `${who}: σ[${i}] = ${ours[i]} vs ${g.float64[i]} (float64)`);
      assert.ok(Math.abs(ours[i]! / g.float32[i]! - 1) < 2e-6, `${who}: σ[${i}] = ${ours[i]} vs ${g.float32[i]} (float32)`);
    }
  }
});

for (const dtype of ['float64', 'float32'] as const) {
  test(`k-diffusion parity: samplers in ${dtype} (cpu), same denoiser, σ grid and noise`, () => {
    const worst: Record<string, number> = {};
    for (const c of FX.cases) {
      const sigmas = FX.grids[c.grid]!.float64;
      const r = runCase(c, sigmas, dtype);
      const err = relErr(r.out, c.out);
      worst[c.sampler] = Math.max(worst[c.sampler] ?? 0, err);
      assert.ok(err < TOL[dtype], `${c.name} (${dtype}): max|genlab − k-diffusion|/max|x| = ${err.toExponential(2)} ≥ ${TOL[dtype]}`);
      assert.equal(r.nfe, c.nfe, `${c.name}: NFE ${r.nfe} vs k-diffusion's ${c.nfe}`);
      // genlab draws exactly where k-diffusion's draw is used (k-diffusion also draws, unused, where γ = 0)
      const kSteps = c.noise.map((z) => z.step);
      const expected = c.sampler === 'eulerAncestral' ? kSteps : c.sampler === 'dpmpp2m' ? [] : churnSteps(sigmas, c.options).filter((i) => kSteps.includes(i));
      assert.deepEqual(r.requested, expected, `${c.name}: steps at which genlab drew noise`);
      if ((c.sampler === 'euler' || c.sampler === 'heun') && c.options.sChurn) {
        assert.ok(expected.length > 0 && expected.length < sigmas.length - 1, `${c.name}: churn is active at some steps but not all`);
      }
    }
    assert.deepEqual(Object.keys(worst).sort(), ['dpmpp2m', 'euler', 'eulerAncestral', 'heun']);
  });
}

test('k-diffusion parity: samplers on genlab\'s own σ grids (float64)', () => {
  for (const c of FX.cases) {
    const r = runCase(c, genlabGrid(FX.grids[c.grid]!), 'float64');
    const err = relErr(r.out, c.out);
    assert.ok(err < TOL.float64, `${c.name} on genlab's grid: ${err.toExponential(2)}`);
  }
});
