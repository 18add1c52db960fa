// VAE, β-VAE and IWAE (src/models/vae/vae.ts) against closed forms: the Gaussian KL against Monte
// Carlo, IWAE(k = 1) = ELBO on the same draws, the bound tightening with k, IWAE(k large) → log p(x)
// on a linear-Gaussian model whose marginal is known, reparameterised gradients against finite
// differences, capacity annealing, chunked evaluation; plus the autoencoders and latent tools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, setBackend, tensor, randn, noGrad, linalg, scope, optim } from '../src/index.ts';
import { VAE, gaussianKL, diagGaussianLogProb, standardNormalLogProb, betaVaeLoss, capacityAt } from '../src/models/vae/vae.ts';
import { lerp, slerp, interpolate } from '../src/models/vae/latent.ts';
import { Autoencoder, sparsityPenalty, corrupt } from '../src/models/vae/ae.ts';
import { families, type DataSpec } from '../src/models/index.ts';

setBackend('cpu');
const dtype = 'float64' as const;
const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, a) => s + a, 0) / v.length;

test('Gaussian KL: closed form equals the Monte Carlo average of log q(z) − log p(z)', () => {
  const rng = new Generator(1);
  const mu = tensor([[0.5, -1.2, 0.1]], { dtype });
  const logVar = tensor([[-0.7, 0.4, -2]], { dtype });
  const kl = gaussianKL(mu, logVar).itemSync();
  // by hand: −½ Σ (1 + logVar − μ² − e^{logVar})
  const byHand = -0.5 * [[0.5, -0.7], [-1.2, 0.4], [0.1, -2]].reduce((s, [m, lv]) => s + 1 + lv! - m! * m! - Math.exp(lv!), 0);
  assert.ok(Math.abs(kl - byHand) < 1e-12);
  const n = 200000;
  const z = mu.add(logVar.mul(0.5).exp().mul(randn([n, 3], { rng, dtype })));
  const d = diagGaussianLogProb(z, mu, logVar).sub(standardNormalLogProb(z)).dataSync();
  const m = mean(d);
  const se = Math.sqrt(mean(Array.from(d, (v) => (v - m) ** 2)) / n);
  assert.ok(Math.abs(m - kl) < 4 * se, `MC ${m} ± ${se} vs closed form ${kl}`);
});

function smallVae(seed: number, likelihood: 'bernoulli' | 'gaussian' | 'logistic' = 'bernoulli'): VAE {
  return new VAE({ dataDim: 6, latentDim: 2, hidden: [8], activation: 'tanh', likelihood, rng: new Generator(seed), dtype });
}
const binaryData = (rng: Generator, n: number, d = 6) => tensor(rng.bernoulli(n * d, 0.4), { shape: [n, d], dtype });

test('IWAE with k = 1 equals the ELBO on the same draws; L_k rises with k on a fixed model', () => {
  const vae = smallVae(2);
  const x = binaryData(new Generator(3), 16);
  noGrad(() => {
    const e = vae.elbo(x, new Generator(9), { kl: 'sample' }).elbo.dataSync();
    const i1 = vae.iwae(x, 1, new Generator(9)).dataSync();
    for (let j = 0; j < 16; j++) assert.ok(Math.abs(e[j]! - i1[j]!) < 1e-12, `row ${j}: ELBO ${e[j]} vs IWAE_1 ${i1[j]}`);
    // in expectation L_1 ≤ L_5 ≤ L_50: average over rows and 40 repeats
    const rng = new Generator(4);
    const avg = (k: number) => mean(Array.from({ length: 40 }, () => mean(vae.iwae(x, k, rng).dataSync())));
    const [l1, l5, l50] = [avg(1), avg(5), avg(50)];
    const analytic = mean(vae.elbo(x, rng).elbo.dataSync());
    assert.ok(l1 < l5 - 0.02 && l5 < l50 - 0.02, `L_1 ${l1}, L_5 ${l5}, L_50 ${l50}`);
    assert.ok(Math.abs(analytic - l1) < 0.1, `analytic-KL ELBO ${analytic} vs L_1 ${l1}`);
  });
});

test('linear-Gaussian model: IWAE(k = 5000) → log p(x) (closed form), above the ELBO', () => {
  // p(z) = N(0, I₂), p(x|z) = N(Wz + b, σ²I₄): log p(x) = log N(x; b, WWᵀ + σ²I)
  const logSigma = Math.log(0.5);
  const vae = new VAE({ dataDim: 4, latentDim: 2, hidden: [], activation: 'tanh', likelihood: 'gaussian', gaussianLogScale: logSigma, rng: new Generator(5), dtype });
  const dec = vae.decoder.at(0).parameters();
  const W = dec[0]!, b = dec[1]!; // [4, 2], [4]
  const s2 = Math.exp(2 * logSigma);
  // encoder := exact posterior mean, diagonal of the posterior covariance inflated ×1.5 (a mean-field q)
  noGrad(() => {
    const lam = tensor([[1, 0], [0, 1]], { dtype }).add(W.mT.matmul(W).div(s2));
    const cov = linalg.inv(lam);
    const A = cov.matmul(W.mT).div(s2); // [2, 4]
    const c = A.matmul(b.reshape(4, 1)).reshape(2).neg();
    const cv = cov.dataSync();
    const enc = vae.encoder.at(0).parameters();
    enc[0]!.assign(tensor([...A.dataSync(), ...new Array(8).fill(0)], { shape: [4, 4], dtype }));
    enc[1]!.assign(tensor([...c.dataSync(), Math.log(1.5 * cv[0]!), Math.log(1.5 * cv[3]!)], { dtype }));
  });
  const x = randn([8, 4], { rng: new Generator(6), dtype }).mul(1.5);
  noGrad(() => {
    const sigma = W.matmul(W.mT).add(tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], { dtype }).mul(s2));
    const r = x.sub(b);
    const quad = r.mul(linalg.solve(sigma, r.mT).mT).sum(-1);
    const logPx = quad.add(linalg.slogdet(sigma).logAbsDet).add(4 * Math.log(2 * Math.PI)).mul(-0.5).dataSync();
    const iw = vae.iwae(x, 5000, new Generator(7), { chunk: 1000 }).dataSync();
    const el = vae.elbo(x, new Generator(7), { samples: 2000 }).elbo.dataSync(); // averaged: one draw is noisy
    for (let j = 0; j < 8; j++) {
      // the ELBO gap is 0.2–0.36 nats; IWAE_5000's Monte Carlo error ~0.01
      assert.ok(Math.abs(iw[j]! - logPx[j]!) < 0.03, `row ${j}: IWAE_5000 ${iw[j]} vs log p(x) ${logPx[j]}`);
      assert.ok(el[j]! < logPx[j]! - 0.15, `row ${j}: ELBO ${el[j]} should sit below log p(x) ${logPx[j]}`);
    }
    const bias = mean(Array.from(iw, (v, j) => v - logPx[j]!));
    assert.ok(Math.abs(bias) < 0.01, `mean IWAE_5000 − log p(x) = ${bias}`);
  });
});

test('chunked IWAE evaluation equals the unchunked bound on the same draws', () => {
  const vae = smallVae(8);
  const x = binaryData(new Generator(10), 5);
  const whole = noGrad(() => vae.iwae(x, 64, new Generator(11)).dataSync());
  const chunked = vae.iwae(x, 64, new Generator(11), { chunk: 16 }).dataSync();
  // the generator's stream is the same whether drawn at once or in pieces, so the bounds agree
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(whole[j]! - chunked[j]!) < 1e-9, `${whole[j]} vs ${chunked[j]}`);
});

test('reparameterised ELBO and IWAE gradients match finite differences', () => {
  for (const likelihood of ['bernoulli', 'gaussian', 'logistic'] as const) {
    const vae = smallVae(12, likelihood);
    const x = likelihood === 'bernoulli' ? binaryData(new Generator(13), 4) : tensor(new Generator(13).randint(24, 0, 256), { shape: [4, 6], dtype }).mul(2 / 255).sub(1);
    const objective = (k: number) => (k === 1 ? vae.elbo(x, new Generator(14)).elbo : vae.iwae(x, k, new Generator(14))).sum();
    for (const k of [1, 5]) {
      vae.zeroGrad();
      objective(k).backward();
      for (const p of [vae.encoder.at(0).parameters()[0]!, vae.decoder.at(-1).parameters()[1]!]) {
        const g = p.grad!.dataSync();
        const vals = Float64Array.from(p.dataSync());
        for (const i of [0, 3, 5]) {
          const at = (d: number) => {
            const v = vals.slice();
            v[i]! += d;
            noGrad(() => p.assign(tensor(v, { shape: p.shape, dtype })));
            return noGrad(() => objective(k).itemSync());
          };
          const fd = (at(1e-6) - at(-1e-6)) / 2e-6;
          noGrad(() => p.assign(tensor(vals, { shape: p.shape, dtype })));
          assert.ok(Math.abs(fd - g[i]!) < 1e-5 * (1 + Math.abs(fd)), `${likelihood} k=${k} grad[${i}] ${g[i]} vs FD ${fd}`);
        }
      }
    }
  }
});

test('β-VAE and capacity annealing: the loss is −recon + β·KL, or −recon + γ|KL − C| with C linear', () => {
  const c = { max: 25, steps: 1000, gamma: 100 };
  assert.equal(capacityAt(c, 0), 0);
  assert.equal(capacityAt(c, 500), 12.5);
  assert.equal(capacityAt(c, 5000), 25);
  const terms = { recon: tensor([-50, -60]), kl: tensor([10, 30]), elbo: tensor([-60, -90]) };
  assert.deepEqual(Array.from(betaVaeLoss(terms).dataSync()), [60, 90]);
  assert.deepEqual(Array.from(betaVaeLoss(terms, { beta: 4 }).dataSync()), [90, 180]);
  // step 500: C = 12.5 → 100·|10 − 12.5| + 50 = 300 and 100·|30 − 12.5| + 60 = 1810
  assert.deepEqual(Array.from(betaVaeLoss(terms, { capacity: c, step: 500 }).dataSync()), [300, 1810]);
});

test('latent tools: lerp and slerp end at the codes; slerp keeps the norm of equal-norm codes; decoded interpolation', () => {
  const z0 = tensor([[3, 0, 0]], { dtype }), z1 = tensor([[0, 3, 0]], { dtype });
  const l = lerp(z0, z1, 5).dataSync(), s = slerp(z0, z1, 5);
  assert.deepEqual(Array.from(l.slice(0, 3)), [3, 0, 0]);
  assert.deepEqual(Array.from(l.slice(12, 15)), [0, 3, 0]);
  const norms = s.square().sum(-1).sqrt().dataSync();
  for (const n of norms) assert.ok(Math.abs(n - 3) < 1e-9, `slerp norm ${n}`);
  const mid = s.dataSync().slice(6, 9);
  assert.ok(Math.abs(mid[0]! - 3 / Math.SQRT2) < 1e-9 && Math.abs(mid[1]! - 3 / Math.SQRT2) < 1e-9);
  const vae = smallVae(15);
  const codec = { encode: (x: Tensor) => vae.encode(x).mean, decode: (z: Tensor) => vae.decodeMean(z) };
  const x = binaryData(new Generator(16), 2);
  const frames = scope(() => interpolate(codec, x.slice(0, 0, 1), x.slice(0, 1, 2), { steps: 6, method: 'slerp' }));
  assert.deepEqual(frames.shape, [6, 6]);
  const ends = noGrad(() => codec.decode(codec.encode(x)).dataSync());
  const fr = frames.dataSync();
  for (let j = 0; j < 6; j++) {
    assert.ok(Math.abs(fr[j]! - ends[j]!) < 1e-9 && Math.abs(fr[30 + j]! - ends[6 + j]!) < 1e-9);
  }
  assert.throws(() => interpolate(codec, x, x, { steps: 1 }), /steps must be an integer ≥ 2/);
});

test('autoencoders: sparsity penalty in closed form, masking / Gaussian corruption, a linear AE recovers a 2-D subspace', () => {
  const code = tensor([[0.1, 0.5], [0.3, 0.1]], { dtype }); // ρ̂ = [0.2, 0.3]
  const rho = 0.05;
  const kl = (r: number, h: number) => r * Math.log(r / h) + (1 - r) * Math.log((1 - r) / (1 - h));
  assert.ok(Math.abs(sparsityPenalty(code, rho).itemSync() - (kl(rho, 0.2) + kl(rho, 0.3))) < 1e-12);
  const x = tensor(new Float64Array(20000).fill(0.5), { shape: [100, 200], dtype });
  const masked = corrupt(x, { kind: 'masking', p: 0.3 }, new Generator(20)).dataSync();
  const frac = Array.from(masked).filter((v) => v === -1).length / masked.length;
  assert.ok(Math.abs(frac - 0.3) < 0.015, `masked fraction ${frac}`);
  const noisy = corrupt(x, { kind: 'gaussian', std: 0.2 }, new Generator(21)).sub(0.5).dataSync();
  const sd = Math.sqrt(mean(Array.from(noisy, (v) => v * v)));
  assert.ok(Math.abs(sd - 0.2) < 0.005, `noise std ${sd}`);
  assert.throws(() => new Autoencoder({ dataDim: 4, latentDim: 2, hidden: [], activation: 'tanh', loss: 'mse', sparsity: { rho: 1.5, weight: 1 }, rng: new Generator(0) }), /sparsity.rho must be in \(0, 1\)/);
  // data on a 2-D subspace of R⁵: a linear AE with a 2-d code reconstructs it (denoising on, small noise)
  const rng = new Generator(22);
  const basis = randn([2, 5], { rng, dtype });
  const data = randn([256, 2], { rng, dtype }).matmul(basis).mul(0.5);
  const auto = new Autoencoder({ dataDim: 5, latentDim: 2, hidden: [], activation: 'tanh', loss: 'mse', corruption: { kind: 'gaussian', std: 0.01 }, rng: new Generator(23), dtype });
  const opt = new optim.Adam(auto.parameters(), { lr: 0.02 });
  const before = noGrad(() => auto.loss(data, rng).recon.mean().itemSync());
  for (let s = 0; s < 300; s++) scope(() => { opt.zeroGrad(); auto.loss(data, rng).loss.backward(); opt.step(); });
  auto.eval();
  const after = noGrad(() => auto.forward(data).sub(data).square().sum(-1).mean().itemSync());
  const energy = noGrad(() => data.square().sum(-1).mean().itemSync());
  assert.ok(after < 0.01 * energy, `reconstruction error ${after} (before ${before}, data energy ${energy})`);
});

test('registry families ae, vae, vqvae: loss, backward, samples in range, the VAE bound; a small VAE learns', () => {
  const data: DataSpec = { kind: 'images', shape: [1, 8, 8] };
  const rng = new Generator(30);
  const x = tensor(rng.uniform(4 * 64), { shape: [4, 1, 8, 8], dtype: 'float32' }).mul(2).sub(1);
  setBackend('cpu');
  for (const name of ['ae', 'vae', 'vqvae'] as const) {
    const fam = families[name]!;
    const base = fam.defaults(data) as Record<string, unknown>;
    const config = name === 'vqvae' ? { ...base, hidden: 8, embeddingDim: 4, numEmbeddings: 8, prior: { hidden: 8, layers: 1 } } : { ...base, hidden: [16], latentDim: 3 };
    const model = fam.create(config, data, new Generator(31));
    const loss = scope(() => {
      const l = fam.loss(model, { x }, new Generator(32));
      l.backward();
      return l.itemSync();
    });
    assert.ok(Number.isFinite(loss), `${name} loss ${loss}`);
    assert.ok(model.net.parameters().some((p) => p.grad && p.grad.abs().sum().itemSync() > 0), `${name}: gradients reach the parameters`);
    const s = fam.sample(model, 3, new Generator(33));
    assert.deepEqual(s.shape, [3, 1, 8, 8]);
    assert.ok(Array.from(s.dataSync()).every((v) => v >= -1 && v <= 1), `${name}: samples in [−1, 1]`);
    assert.throws(() => fam.sample(model, 1, new Generator(0), { sampler: 'nope' }), /unknown sampler 'nope'/);
  }
  // logLikelihood: ELBO (evalK 1) ≤ IWAE_200 on average, both bounds, one per example
  const fam = families.vae!;
  const cfg = { ...fam.defaults(data), hidden: [16], latentDim: 3, binarized: true };
  const m = fam.create(cfg, data, new Generator(34));
  const xb = x.gt(0).cast('float32').mul(2).sub(1);
  const e = fam.logLikelihood!(m, { x: xb }, new Generator(35));
  const iw = fam.logLikelihood!(fam.create({ ...cfg, evalK: 200, evalChunk: 50 }, data, new Generator(34)), { x: xb }, new Generator(35));
  assert.ok(e.bound && iw.bound);
  assert.deepEqual(e.logLik.shape, [4]);
  // the one-draw ELBO is noisy: average it over 200 copies of the batch
  const elboAvg = mean(fam.logLikelihood!(m, { x: xb.expand([200, 4, 1, 8, 8]).reshape(800, 1, 8, 8) }, new Generator(39)).logLik.dataSync());
  assert.ok(mean(iw.logLik.dataSync()) > elboAvg, `IWAE_200 ${mean(iw.logLik.dataSync())} above the ELBO ${elboAvg}`);
  assert.throws(() => fam.create({ ...cfg, objective: 'wake-sleep' }, data, new Generator(0)), /objective must be 'elbo' or 'iwae'/);
  // learning: 6-d binary data from two prototypes; 300 Adam steps of the IWAE (k = 5) objective
  const protos = [[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]];
  const pts: DataSpec = { kind: 'points', shape: [6] };
  const lm = fam.create({ ...fam.defaults(pts), likelihood: 'bernoulli', binarized: true, objective: 'iwae', k: 5, hidden: [16], latentDim: 2 }, pts, new Generator(36));
  const drng = new Generator(37);
  const batchOf = () => tensor(Array.from({ length: 64 }, () => protos[drng.randint(1, 0, 2)[0]!]!.map((v) => 2 * v - 1)));
  const evalX = batchOf();
  const bound = () => noGrad(() => mean(fam.logLikelihood!(lm, { x: evalX }, new Generator(38)).logLik.dataSync()));
  const b0 = bound();
  const opt = new optim.Adam(lm.net.parameters(), { lr: 0.01 });
  for (let s = 0; s < 300; s++) scope(() => { opt.zeroGrad(); fam.loss(lm, { x: batchOf() }, drng).backward(); opt.step(); });
  const b1 = bound();
  // the data have entropy log 2 ≈ 0.69 nats: the bound climbs from ~−4.3 to above −2.5 (−2.05 seen)
  assert.ok(b0 < -3 && b1 > -2.5, `ELBO ${b0} → ${b1}`);
});
