/**
 * The diffusion framework against closed forms. Data x₀ ~ N(μ, σ_d²·I) have the ideal denoiser
 * D*(x; σ) = (σ_d²·x + σ²·μ)/(σ_d² + σ²) and the probability-flow ODE maps x(σ) − μ linearly:
 * x(σ') − μ = (x(σ) − μ)·√((σ_d² + σ'²)/(σ_d² + σ²)). Every sampler driving D* must recover the
 * data distribution; the deterministic ones must follow that map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, randn, Generator, full, type Tensor, memory, setBackend } from '../src/index.ts';
import { type Denoiser } from '../src/models/diffusion/denoiser.ts';
import * as S from '../src/models/diffusion/samplers.ts';
import { karrasSigmas, exponentialSigmas, vpSigmas, linearBetaSchedule, cosineBetaSchedule, ddpmSigmas } from '../src/models/diffusion/schedules.ts';
import { edm, vp, ve, flowMatching, precondition, type Parameterization } from '../src/models/diffusion/precond.ts';
import { posteriorCoefficients, gaussianKL, discretizedGaussianLogLikelihood, ddpmVlb, denoisingLoss } from '../src/models/diffusion/losses.ts';
import { odeLogLikelihood } from '../src/models/diffusion/likelihood.ts';
import { classifierFree } from '../src/models/diffusion/guidance.ts';

// several checks run in float64: on the reference backend (the only one that stores float64)
setBackend('cpu');

const MU = [1, -2];
const SD = 0.5;
const mu = tensor([MU]);

/** D*(x; σ) for N(μ, σ_d² I). */
const ideal: Denoiser = (x, sigma) => {
  const s2 = sigma.square().reshape([-1, 1]);
  return x.mul(SD * SD).add(s2.mul(mu)).div(s2.add(SD * SD));
};

function moments(x: Tensor): { mean: number[]; var: number[] } {
  return { mean: [...x.mean(0).dataSync()], var: [...x.var(0).dataSync()] };
}

function assertGaussian(x: Tensor, who: string, tolMean = 0.05, tolVarRel = 0.12): void {
  const m = moments(x);
  for (let d = 0; d < 2; d++) {
    assert.ok(Math.abs(m.mean[d]! - MU[d]!) < tolMean, `${who}: mean[${d}] = ${m.mean[d]} (want ${MU[d]})`);
    assert.ok(Math.abs(m.var[d]! / (SD * SD) - 1) < tolVarRel, `${who}: var[${d}] = ${m.var[d]} (want ${SD * SD})`);
  }
}

const N = 2000;
const SMAX = 80;
function start(seed: number, sigmaMax = SMAX): Tensor {
  return randn([N, 2], { rng: new Generator(seed) }).mul(sigmaMax);
}

/**
 * For Gaussian data every sampler is a linear recursion on y = x − μ (D − μ = c(σ)·y with
 * c = σ_d²/(σ_d² + σ²)); these give the exact factor each deterministic sampler applies.
 */
function discreteFactor(kind: 'euler' | 'heun' | 'dpmpp2m', g: readonly number[]): number {
  const c = (s: number) => (SD * SD) / (SD * SD + s * s);
  const a = (s: number) => s / (SD * SD + s * s); // dy/dσ = a(σ)·y
  let y = 1, prevCy = 0;
  for (let i = 0; i < g.length - 1; i++) {
    const s = g[i]!, sn = g[i + 1]!, h = sn - s;
    if (kind === 'euler') y *= 1 + h * a(s);
    else if (kind === 'heun') y *= sn === 0 ? 1 + h * a(s) : 1 + 0.5 * h * (a(s) + a(sn) * (1 + h * a(s)));
    else {
      const cy = c(s) * y;
      if (sn === 0) y = cy;
      else {
        const hl = Math.log(s / sn);
        let dEff = cy;
        if (i > 0) {
          const r = Math.log(g[i - 1]! / s) / hl;
          dEff = (1 + 1 / (2 * r)) * cy - (1 / (2 * r)) * prevCy;
        }
        y = (sn / s) * y - Math.expm1(-hl) * dEff;
      }
      prevCy = cy;
    }
  }
  return y;
}

test('deterministic samplers apply exactly their discrete map to Gaussian data', () => {
  const xT = start(1).index([0, 200]);
  for (const [kind, f, g] of [
    ['euler', S.euler, karrasSigmas(30, 0.002, SMAX)],
    ['heun', S.heun, karrasSigmas(18, 0.002, SMAX)],
    ['dpmpp2m', S.dpmpp2m, exponentialSigmas(15, 0.002, SMAX)],
  ] as const) {
    const k = discreteFactor(kind, g);
    const want = xT.sub(mu).mul(k).add(mu).dataSync(), got = f(ideal, xT, g).dataSync();
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4 * Math.max(1, Math.abs(want[i]!)), `${kind}: ${got[i]} vs ${want[i]}`);
  }
});

test('deterministic samplers converge to the exact probability-flow map at their order', () => {
  const xT = start(1);
  const exactK = SD / Math.sqrt(SD * SD + SMAX * SMAX);
  // the samplers apply one factor k to y = x − μ; its relative error against the ODE's
  const relErr = (out: Tensor) => {
    const k = out.sub(mu).div(xT.sub(mu)).mean().itemSync();
    return Math.abs(k - exactK) / exactK;
  };
  const cases: [string, () => Tensor, number][] = [
    ['euler, Karras 200', () => S.euler(ideal, xT, karrasSigmas(200, 0.002, SMAX)), 0.02],
    ['heun, Karras 100', () => S.heun(ideal, xT, karrasSigmas(100, 0.002, SMAX)), 3e-3],
    ['dpmpp2m, Karras 50', () => S.dpmpp2m(ideal, xT, karrasSigmas(50, 0.002, SMAX)), 0.01],
    ['ddim η=0, exponential 200', () => S.ddim(ideal, xT, exponentialSigmas(200, 0.002, SMAX)), 0.02],
    ['ode (Dormand–Prince)', () => S.odeAdaptive(ideal, xT, karrasSigmas(2, 0.002, SMAX), { rtol: 1e-6, atol: 1e-6 }), 2e-4],
  ];
  for (const [who, f, tol] of cases) {
    const out = f();
    const e = relErr(out);
    assert.ok(e < tol, `${who}: relative error of the map ${e} ≥ ${tol}`);
    assertGaussian(out, who);
  }
  // orders: halving the step divides Euler's error by ~2 and Heun's by ~4
  const err = (kind: 'euler' | 'heun', n: number) => Math.abs(discreteFactor(kind, karrasSigmas(n, 0.002, SMAX)) - exactK);
  const rE = err('euler', 100) / err('euler', 200), rH = err('heun', 100) / err('heun', 200);
  assert.ok(rE > 1.7 && rE < 2.3, `Euler error ratio ${rE}`);
  assert.ok(rH > 3.4 && rH < 4.6, `Heun error ratio ${rH}`);
});

test('stochastic samplers recover the data distribution', () => {
  const lin = linearBetaSchedule(1000);
  const cases: [string, (x: Tensor, rng: Generator) => Tensor, number][] = [
    ['eulerAncestral, 500 steps', (x, rng) => S.eulerAncestral(ideal, x, karrasSigmas(500, 0.002, SMAX), { rng }), SMAX],
    ['heun with churn (EDM settings)', (x, rng) => S.heun(ideal, x, karrasSigmas(40, 0.002, SMAX), { rng, sChurn: 40, sTmin: 0.05, sTmax: 50, sNoise: 1.003 }), SMAX],
    ['euler with churn, 400 steps', (x, rng) => S.euler(ideal, x, karrasSigmas(400, 0.002, SMAX), { rng, sChurn: 30 }), SMAX],
    ['ddpm ancestral, small variance, 1000 steps', (x, rng) => S.ddpm(ideal, x, ddpmSigmas(lin, 1000).sigmas, { rng }), lin.sigmas[999]!],
    ['ddpm ancestral, large variance, 1000 steps', (x, rng) => S.ddpm(ideal, x, ddpmSigmas(lin, 1000).sigmas, { rng, variance: 'large' }), lin.sigmas[999]!],
    ['ddim η=1, 500 steps', (x, rng) => S.ddim(ideal, x, karrasSigmas(500, 0.002, SMAX), { rng, eta: 1 }), SMAX],
    ['reverse SDE (VE), 500 steps', (x, rng) => S.reverseSde(ideal, x, exponentialSigmas(500, 0.002, SMAX), { rng, sde: 've' }), SMAX],
    ['reverse SDE (VP), 500 steps', (x, rng) => S.reverseSde(ideal, x, vpSigmas(500), { rng, sde: 'vp' }), vpSigmas(1)[0]!],
    ['predictor–corrector (VE), 200 steps', (x, rng) => S.predictorCorrector(ideal, x, exponentialSigmas(200, 0.002, SMAX), { rng, sde: 've', snr: 0.16 }), SMAX],
    ['annealed Langevin, 10 levels × 100', (x, rng) => S.annealedLangevin(ideal, x, exponentialSigmas(10, 0.01, 10), { rng, stepsPerSigma: 100, stepSize: 5e-5 }), 10],
  ];
  cases.forEach(([who, f, sMax], k) => {
    const rng = new Generator(100 + k);
    assertGaussian(f(start(10 + k, sMax), rng), who);
  });
});

test('known equivalences: DDIM η=0 is Euler; DDIM η=1 is DDPM ancestral and Euler ancestral', () => {
  const grid = ddpmSigmas(cosineBetaSchedule(1000), 25).sigmas;
  const xT = randn([64, 2], { rng: new Generator(5), dtype: 'float64' }).mul(grid[0]!);
  const muD = tensor([MU], { dtype: 'float64' });
  const ideal64: Denoiser = (x, sigma) => {
    const s2 = sigma.square().reshape([-1, 1]);
    return x.mul(SD * SD).add(s2.mul(muD)).div(s2.add(SD * SD));
  };
  const close = (a: Tensor, b: Tensor, who: string) => {
    const u = a.dataSync(), v = b.dataSync();
    let worst = 0;
    for (let i = 0; i < u.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!) / Math.max(1, Math.abs(v[i]!)));
    assert.ok(worst < 1e-5, `${who}: max relative difference ${worst}`);
  };
  close(S.ddim(ideal64, xT, grid, { eta: 0 }), S.euler(ideal64, xT, grid), 'DDIM(η=0) vs Euler');
  // the same noise at each step for all three
  const noises = Array.from({ length: grid.length }, (_, i) => randn([64, 2], { rng: new Generator(1000 + i), dtype: 'float64' }));
  const noise = (_: Tensor, i: number) => noises[i]!;
  const ddim1 = S.ddim(ideal64, xT, grid, { eta: 1, noise });
  close(ddim1, S.ddpm(ideal64, xT, grid, { variance: 'small', noise }), 'DDIM(η=1) vs DDPM ancestral');
  close(ddim1, S.eulerAncestral(ideal64, xT, grid, { eta: 1, noise }), 'DDIM(η=1) vs Euler ancestral');
});

test('DDPM posterior q(x_{t−1} | x_t, x₀): mean and variance equal Gaussian conditioning', () => {
  const sch = linearBetaSchedule(1000);
  for (const [t, tp] of [[10, 9], [500, 499], [999, 998], [700, 650]] as const) {
    const a = sch.alphasCumprod[t]!, ap = sch.alphasCumprod[tp]!;
    const pc = posteriorCoefficients(a, ap);
    // joint of (x_{t'}, x_t) given x₀: x_{t'} = √ᾱ' x₀ + √(1−ᾱ') ε₁, x_t = √α x_{t'} + √β ε₂
    const alpha = a / ap, beta = 1 - alpha;
    const v1 = 1 - ap, cov = Math.sqrt(alpha) * v1, vt = alpha * v1 + beta;
    const x0 = 0.7, xt = -1.3;
    const m1 = Math.sqrt(ap) * x0;
    const condMean = m1 + (cov / vt) * (xt - Math.sqrt(alpha) * m1);
    const condVar = v1 - (cov * cov) / vt;
    assert.ok(Math.abs(pc.coefX0 * x0 + pc.coefXt * xt - condMean) < 1e-12, `mean at t=${t}`);
    assert.ok(Math.abs(pc.variance - condVar) / condVar < 1e-10, `variance at t=${t}`);
  }
});

test('VLB terms: Gaussian KL against numerical integration; the discretised decoder is a distribution', () => {
  const kl = gaussianKL(tensor([0.3]), Math.log(0.5), tensor([-0.2]), Math.log(1.7)).itemSync();
  let num = 0;
  const p = (x: number, m: number, v: number) => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
  for (let x = -10; x < 10; x += 1e-3) num += p(x, 0.3, 0.5) * Math.log(p(x, 0.3, 0.5) / p(x, -0.2, 1.7)) * 1e-3;
  assert.ok(Math.abs(kl - num) < 1e-5, `KL ${kl} vs ${num}`);
  // 256 bins of [−1, 1]: the probabilities sum to 1
  const bins = tensor(Array.from({ length: 256 }, (_, i) => (2 * i) / 255 - 1), { dtype: 'float64' });
  for (const [m, s] of [[0.1, 0.05], [-0.9, 0.3], [0.99, 0.01]]) {
    const lp = discretizedGaussianLogLikelihood(bins, full([256], m!, { dtype: 'float64' }), full([256], Math.log(s!), { dtype: 'float64' }));
    const total = lp.exp().sum().itemSync();
    assert.ok(Math.abs(total - 1) < 1e-6, `bins sum to ${total} for mean ${m}, std ${s}`);
  }
});

test('DDPM VLB: the ideal denoiser beats a wrong one; the prior term is the closed-form KL', () => {
  const sch = linearBetaSchedule(100, 1e-3, 0.2);
  const x0 = randn([16, 2], { rng: new Generator(3) }).mul(SD).add(mu).clamp(-1, 1);
  const good = ddpmVlb(ideal, sch, x0, new Generator(4));
  const bad = ddpmVlb((x, s) => ideal(x, s).mul(0.8), sch, x0, new Generator(4));
  const g = good.bpd.mean().itemSync(), b = bad.bpd.mean().itemSync();
  assert.ok(Number.isFinite(g) && g < b, `ideal ${g} bits/dim vs wrong ${b}`);
  assert.deepEqual(good.terms.shape, [100, 16]);
  const aT = sch.alphasCumprod[99]!;
  const x = x0.index(0).dataSync();
  const kl = [0, 1].reduce((s, d) => s + 0.5 * (-1 - Math.log(1 - aT) + (1 - aT) + aT * x[d]! ** 2), 0);
  assert.ok(Math.abs(good.prior.index(0).itemSync() - kl) < 1e-5);
});

test('the probability-flow ODE likelihood matches the analytic density', () => {
  const sMin = 1e-2, sMax = 50;
  const x = randn([32, 2], { rng: new Generator(8), dtype: 'float64' }).mul(SD).add(tensor([MU], { dtype: 'float64' }));
  const muD = tensor([MU], { dtype: 'float64' });
  const idealD: Denoiser = (xx, sigma) => {
    const s2 = sigma.square().reshape([-1, 1]);
    return xx.mul(SD * SD).add(s2.mul(muD)).div(s2.add(SD * SD));
  };
  const logN = (xx: Tensor, v: number) => xx.sub(muD).square().sum(1).mul(-0.5 / v).sub(Math.log(2 * Math.PI * v));
  const prior = (xx: Tensor) => logN(xx, SD * SD + sMax * sMax);
  const r = odeLogLikelihood(idealD, x, { sigmaMin: sMin, sigmaMax: sMax, prior, rtol: 1e-7, atol: 1e-7 });
  const want = logN(x, SD * SD + sMin * sMin).dataSync(), got = r.logLik.dataSync();
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-4, `example ${i}: ${got[i]} vs ${want[i]}`);
  // Hutchinson's estimator is unbiased: its mean over examples is close
  const h = odeLogLikelihood(idealD, x, { sigmaMin: sMin, sigmaMax: sMax, prior, divergence: 'rademacher', rng: new Generator(9) });
  const diff = Math.abs(h.logLik.mean().itemSync() - r.logLik.mean().itemSync());
  assert.ok(diff < 0.1, `Hutchinson mean differs by ${diff} nats`);
});

test('preconditionings: λ(σ)·‖D − x₀‖² is each objective in its own terms', () => {
  const rng = new Generator(11);
  const x0 = randn([6, 3], { rng }), eps = randn([6, 3], { rng }), F = randn([6, 3], { rng });
  const targets: [Parameterization, (s: Tensor, sv: Tensor) => Tensor][] = [
    [vp({ schedule: linearBetaSchedule(), prediction: 'eps' }), () => eps],
    [vp({ schedule: linearBetaSchedule(), prediction: 'x0' }), () => x0],
    // v = α_t·ε − σ_t·x₀ with α_t = √ᾱ = 1/√(1 + σ²), σ_t = σ·α_t (Salimans & Ho 2022)
    [vp({ schedule: cosineBetaSchedule(), prediction: 'v' }), (_, sv) => eps.sub(x0.mul(sv)).mul(sv.square().add(1).rsqrt())],
    [flowMatching(), () => eps.sub(x0)],
    [ve(), () => eps.neg()], // F = σ·∇log p target: (x₀ − x)/σ = −ε
  ];
  for (const [p, target] of targets) {
    const sigma = p.sampleSigma(6, rng);
    const sv = sigma.reshape([6, 1]);
    const x = x0.add(eps.mul(sv));
    const D = precondition(p, () => F)(x, sigma);
    const lhs = D.sub(x0).square().sum(1).mul(p.weight(sigma)).dataSync();
    const rhs = F.sub(target(sigma, sv)).square().sum(1).dataSync();
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(lhs[i]! - rhs[i]!) <= 1e-4 * Math.max(1, rhs[i]!), `${p.name}: ${lhs[i]} vs ${rhs[i]}`);
  }
  // EDM: c_skip·x + c_out·F_target = x₀ with F_target = (x₀ − c_skip x)/c_out, and c_in normalises the input variance
  const p = edm({ sigmaData: 0.5 });
  const s = tensor([0.01, 0.5, 5, 80]).reshape([4, 1]);
  const inVar = s.square().add(0.25).mul(p.cIn(s).square()).dataSync();
  for (const v of inVar) assert.ok(Math.abs(v - 1) < 1e-5);
});

test('the denoising loss is lower for the ideal denoiser; classifier-free guidance at scale 1 is the conditional model', () => {
  const x0 = randn([256, 2], { rng: new Generator(12) }).mul(SD).add(mu);
  const p = edm({ sigmaData: SD });
  const lGood = denoisingLoss(ideal, p, x0, new Generator(13)).itemSync();
  const lBad = denoisingLoss((x, s) => ideal(x, s).add(0.3), p, x0, new Generator(13)).itemSync();
  assert.ok(lGood < lBad, `${lGood} vs ${lBad}`);
  const byClass: Denoiser = (x, s, c) => ideal(x, s).add(c!.classes!.float().reshape([-1, 1]));
  const xs = randn([4, 2], { rng: new Generator(14) });
  const cond = { classes: tensor([0, 1, 2, 3], { dtype: 'int32' }) };
  const sig = full([4], 1);
  assert.deepEqual([...classifierFree(byClass, 1)(xs, sig, cond).dataSync()], [...byClass(xs, sig, cond).dataSync()]);
  // scale s: u + s(c − u) with the null class −1 adding −1
  const g = classifierFree(byClass, 3)(xs, sig, cond).dataSync(), c = byClass(xs, sig, cond).dataSync();
  for (let i = 0; i < 8; i++) {
    const k = Math.floor(i / 2);
    assert.ok(Math.abs(g[i]! - (c[i]! - k + 3 * (k + 1) - 1)) < 1e-5);
  }
});

test('samplers free their intermediates', () => {
  const x = randn([50, 2], { rng: new Generator(3) });
  const before = memory().buffers;
  const out = S.dpmpp2m(ideal, x, karrasSigmas(10, 0.002, SMAX));
  const out2 = S.heun(ideal, x, karrasSigmas(10, 0.002, SMAX), { rng: new Generator(1), sChurn: 5 });
  out.dispose();
  out2.dispose();
  assert.equal(memory().buffers, before);
});
