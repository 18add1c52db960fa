// Langevin MCMC (src/mcmc) on densities with known moments: ULA's O(ε) bias on a Gaussian against
// its closed form, MALA's exactness on a Gaussian and on a 2-D mixture, and MALA's acceptance rate
// (→ 1 as ε → 0, decreasing in ε, ≈ 0.574 at the optimal d^(−1/3) scaling of Roberts & Rosenthal 1998).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, randn, stack, memory } from '../src/index.ts';
import { ula, mala } from '../src/mcmc/index.ts';

function moments(x: Tensor): { mean: number[]; cov: number[][] } {
  const [n, d] = x.shape as [number, number];
  const a = x.dataSync();
  const mean = Array.from({ length: d }, (_, j) => { let s = 0; for (let i = 0; i < n; i++) s += a[i * d + j]!; return s / n; });
  const cov = mean.map((mj, j) => mean.map((mk, k) => { let s = 0; for (let i = 0; i < n; i++) s += (a[i * d + j]! - mj) * (a[i * d + k]! - mk); return s / (n - 1); }));
  return { mean, cov };
}

/** log N(x; mu, diag(s²)) up to a constant, per row of x [N, 2]. */
const gaussian = (mu: number[], s: number[]) => (x: Tensor) => x.sub(tensor(mu)).div(tensor(s)).square().sum(1).mul(-0.5);

test('ULA on a 2-D Gaussian: stationary variance σ²/(1 − ε/(2σ²)) (its O(ε) bias), mean μ', () => {
  const rng = new Generator(1);
  const mu = [1, -2], s = [1, 0.5], eps = 0.1;
  const { samples } = ula(gaussian(mu, s), randn([4000, 2], { rng }), { stepSize: eps, steps: 150, rng });
  const m = moments(samples);
  for (let j = 0; j < 2; j++) {
    const v = s[j]! ** 2, theory = v / (1 - eps / (2 * v));
    assert.ok(Math.abs(m.mean[j]! - mu[j]!) < 0.05 * s[j]! * 1.5, `mean ${j}: ${m.mean[j]} vs ${mu[j]}`);
    assert.ok(Math.abs(m.cov[j]![j]! / theory - 1) < 0.07, `var ${j}: ${m.cov[j]![j]} vs ULA theory ${theory} (exact ${v})`);
  }
  // the bias is visible in the narrow coordinate: ε/(2σ²) = 0.2 → variance 25% above σ²
  assert.ok(m.cov[1]![1]! > 0.25 * 1.15, `ULA variance ${m.cov[1]![1]} shows its bias over 0.25`);
});

test('MALA on the same Gaussian removes the bias: variance σ², mean μ', () => {
  const rng = new Generator(2);
  const mu = [1, -2], s = [1, 0.5];
  const { samples, acceptanceRate } = mala(gaussian(mu, s), randn([4000, 2], { rng }), { stepSize: 0.1, steps: 150, rng });
  const m = moments(samples);
  for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(m.mean[j]! - mu[j]!) < 0.06 * s[j]!, `mean ${j}: ${m.mean[j]} vs ${mu[j]}`);
    assert.ok(Math.abs(m.cov[j]![j]! / s[j]! ** 2 - 1) < 0.07, `var ${j}: ${m.cov[j]![j]} vs ${s[j]! ** 2}`);
  }
  assert.ok(acceptanceRate > 0.5 && acceptanceRate < 1, `acceptance ${acceptanceRate}`);
});

test('MALA on a 2-D Gaussian mixture reaches its mean and covariance (closed form)', () => {
  const rng = new Generator(3);
  // ½ N((−1, 0), 0.7² I) + ½ N((1, 1), 0.7² I)
  const c = [[-1, 0], [1, 1]], s = 0.7;
  const centres = tensor(c);
  const logProb = (x: Tensor) => {
    const d2 = stack([0, 1].map((k) => x.sub(centres.index(k)).square().sum(1)), 1); // [N, 2]
    return d2.mul(-0.5 / (s * s)).logsumexp(1);
  };
  const { samples } = mala(logProb, randn([4000, 2], { rng }).mul(2), { stepSize: 0.15, steps: 250, rng });
  const m = moments(samples);
  const mean = [0, 0.5];
  // Cov = s² I + ¼ (μ₁ − μ₂)(μ₁ − μ₂)ᵀ, μ₁ − μ₂ = (−2, −1)
  const cov = [[s * s + 1, 0.5], [0.5, s * s + 0.25]];
  for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(m.mean[j]! - mean[j]!) < 0.06, `mean ${j}: ${m.mean[j]} vs ${mean[j]}`);
    for (let k = 0; k < 2; k++) assert.ok(Math.abs(m.cov[j]![k]! - cov[j]![k]!) < 0.08, `cov ${j}${k}: ${m.cov[j]![k]} vs ${cov[j]![k]}`);
  }
});

test('MALA acceptance: → 1 as ε → 0, falls as ε grows, ≈ 0.574 at 2ε = 1.65²·d^(−1/3) on a 50-D Gaussian', () => {
  const d = 50, n = 400;
  const logProb = (x: Tensor) => x.square().sum(1).mul(-0.5);
  const rates: number[] = [];
  const steps = [1e-4, 0.01, 0.1, 0.5, 1.5];
  for (const eps of steps) {
    const rng = new Generator(4);
    rates.push(mala(logProb, randn([n, d], { rng }), { stepSize: eps, steps: 20, rng }).acceptanceRate);
  }
  assert.ok(rates[0]! > 0.995, `ε = 1e-4: acceptance ${rates[0]}`);
  for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! < rates[i - 1]!, `acceptance not decreasing: ${rates.join(', ')}`);
  assert.ok(rates[rates.length - 1]! < 0.2, `ε = 1.5: acceptance ${rates[rates.length - 1]}`);
  const rng = new Generator(5);
  const h = 1.65 ** 2 * d ** (-1 / 3);
  const opt = mala(logProb, randn([n, d], { rng }), { stepSize: h / 2, steps: 40, rng }).acceptanceRate;
  assert.ok(Math.abs(opt - 0.574) < 0.06, `optimal scaling: acceptance ${opt}, theory 0.574`);
});

test('ULA and MALA reject bad options and a log density of the wrong shape', () => {
  const rng = new Generator(0);
  const x = randn([3, 2], { rng });
  assert.throws(() => ula((y) => y.sum(1), x, { stepSize: 0, steps: 1, rng }), /stepSize/);
  assert.throws(() => mala((y) => y.sum(1), x, { stepSize: 0.1, steps: 1.5, rng }), /steps/);
  assert.throws(() => ula((y) => y.sum(), x, { stepSize: 0.1, steps: 1, rng }), /one log density per sample/);
});

test('ULA and MALA runs leave only their samples alive', () => {
  const rng = new Generator(6);
  const x0 = randn([50, 3], { rng });
  const logProb = (x: Tensor) => x.square().sum(1).mul(-0.5);
  const live = memory().buffers;
  for (const run of [ula, mala]) {
    const { samples } = run(logProb, x0, { stepSize: 0.1, steps: 10, rng });
    assert.equal(memory().buffers, live + 1);
    samples.dispose();
    assert.equal(memory().buffers, live);
  }
});
