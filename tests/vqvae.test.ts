// VQ-VAE pieces (src/models/vae/vqvae.ts): nearest-code assignment against brute force, the
// straight-through and codebook/commitment gradients in closed form, the EMA codebook update
// with Laplace smoothing step by step, dead-code restarts, perplexity, the EMA quantiser finding
// cluster centres, and the VQ-VAE / VQ-VAE-2 shapes and gradient paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, setBackend, tensor, randn, noGrad, scope } from '../src/index.ts';
import { VectorQuantizer, VQVAE, VQVAE2, statsOf } from '../src/models/vae/vqvae.ts';

setBackend('cpu');
const dtype = 'float64' as const;

function bruteNearest(z: Float64Array | Float32Array, e: Float64Array | Float32Array, M: number, K: number, D: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    let best = 0, bestD = Infinity;
    for (let k = 0; k < K; k++) {
      let d = 0;
      for (let j = 0; j < D; j++) d += (z[m * D + j]! - e[k * D + j]!) ** 2;
      if (d < bestD) [best, bestD] = [k, d];
    }
    out.push(best);
  }
  return out;
}

test('quantiser: nearest codes match brute force; straight-through, codebook and commitment gradients in closed form', () => {
  const K = 5, D = 3, N = 2, H = 2, W = 3, M = N * H * W;
  const vq = new VectorQuantizer({ numEmbeddings: K, embeddingDim: D, beta: 0.25, rng: new Generator(1), dtype });
  noGrad(() => vq.embedding.assign(randn([K, D], { rng: new Generator(2), dtype })));
  vq.eval(); // no usage bookkeeping here
  const z = randn([N, D, H, W], { rng: new Generator(3), dtype }).requiresGrad_();
  const out = vq.forward(z);
  const zRows = z.permute(0, 2, 3, 1).reshape(M, D).dataSync() as Float64Array;
  const e = vq.embedding.dataSync() as Float64Array;
  const want = bruteNearest(zRows, e, M, K, D);
  assert.deepEqual(Array.from(out.indices.reshape(-1).dataSync()), want);
  // forward value of z_q is the chosen code
  const zq = out.zq.permute(0, 2, 3, 1).reshape(M, D).dataSync();
  for (let m = 0; m < M; m++) for (let j = 0; j < D; j++) assert.ok(Math.abs(zq[m * D + j]! - e[want[m]! * D + j]!) < 1e-12);
  // loss: ‖sg[z] − e‖²/(MD) + β‖z − sg[e]‖²/(MD)
  let sq = 0;
  for (let m = 0; m < M; m++) for (let j = 0; j < D; j++) sq += (zRows[m * D + j]! - e[want[m]! * D + j]!) ** 2;
  assert.ok(Math.abs(out.loss.itemSync() - 1.25 * sq / (M * D)) < 1e-12);
  // gradients of Σ w ⊙ z_q + loss: z gets w (straight through) + 2β(z − e)/(MD); e gets 2(e − z)/(MD) per assignment
  const w = randn([N, D, H, W], { rng: new Generator(4), dtype });
  out.zq.mul(w).sum().add(out.loss).backward();
  const gz = z.grad!.permute(0, 2, 3, 1).reshape(M, D).dataSync();
  const wr = w.permute(0, 2, 3, 1).reshape(M, D).dataSync();
  const ge = vq.embedding.grad!.dataSync();
  const geWant = new Float64Array(K * D);
  for (let m = 0; m < M; m++) {
    for (let j = 0; j < D; j++) {
      const diff = zRows[m * D + j]! - e[want[m]! * D + j]!;
      assert.ok(Math.abs(gz[m * D + j]! - (wr[m * D + j]! + (2 * 0.25 * diff) / (M * D))) < 1e-12);
      geWant[want[m]! * D + j]! -= (2 * diff) / (M * D);
    }
  }
  for (let i = 0; i < K * D; i++) assert.ok(Math.abs(ge[i]! - geWant[i]!) < 1e-12, `codebook grad ${i}: ${ge[i]} vs ${geWant[i]}`);
});

test('EMA codebook: N, m and e follow the update of Appendix A.1 with Laplace smoothing', () => {
  const K = 4, D = 2, gamma = 0.9, eps = 1e-5;
  const vq = new VectorQuantizer({ numEmbeddings: K, embeddingDim: D, ema: true, decay: gamma, epsilon: eps, rng: new Generator(5), dtype });
  const e0 = [[-1, -1], [1, 1], [-1, 1], [5, 5]];
  noGrad(() => {
    vq.embedding.assign(tensor(e0, { dtype }));
    vq.embedSum.assign(tensor(e0, { dtype }));
  });
  assert.equal(vq.embedding.requiresGrad, false, 'an EMA codebook is not trained by gradients');
  const pts = [[-0.8, -1.1], [-1.2, -0.9], [0.9, 1.3], [-0.7, 1.2], [1.1, 0.8], [1.0, 1.0]];
  const z = tensor(pts, { dtype }).reshape(6, D, 1, 1);
  const out = vq.forward(z);
  assert.deepEqual(Array.from(out.indices.reshape(-1).dataSync()), [0, 0, 1, 2, 1, 1]);
  const n = [2, 3, 1, 0];
  const sums = [[-2, -2], [3, 3.1], [-0.7, 1.2], [0, 0]];
  const N = n.map((c) => (1 - gamma) * c);
  const total = N.reduce((a, b) => a + b, 0);
  const cs = Array.from(vq.clusterSize.dataSync());
  N.forEach((v, k) => assert.ok(Math.abs(cs[k]! - v) < 1e-12));
  const E = vq.embedding.dataSync();
  for (let k = 0; k < K; k++) {
    const smoothed = ((N[k]! + eps) / (total + K * eps)) * total;
    for (let j = 0; j < D; j++) {
      const m = gamma * e0[k]![j]! + (1 - gamma) * sums[k]![j]!;
      assert.ok(Math.abs(E[k * D + j]! - m / smoothed) < 1e-9, `e[${k}][${j}] ${E[k * D + j]} vs ${m / smoothed}`);
    }
  }
  // the returned loss is the commitment term only
  assert.ok(out.loss.itemSync() > 0);
  assert.equal(out.loss.requiresGrad, false);
});

test('perplexity: uniform use of m codes gives m; one code gives 1', () => {
  assert.ok(Math.abs(statsOf([5, 5, 5, 5, 0, 0], 20).perplexity - 4) < 1e-12);
  assert.deepEqual(statsOf([0, 9, 0], 9), { perplexity: 1, used: 1 });
});

/** Four Gaussian blobs at (±2, ±2) as [N, 2, 1, 1] encoder outputs. */
function blobs(rng: Generator, n: number) {
  const c = [[2, 2], [-2, 2], [2, -2], [-2, -2]];
  const lab = rng.randint(n, 0, 4);
  const noise = rng.normal(2 * n);
  return tensor(Float64Array.from({ length: 2 * n }, (_, i) => c[lab[i >> 1]!]![i & 1]! + 0.1 * noise[i]!), { shape: [n, 2, 1, 1], dtype });
}

test('dead-code restarts re-initialise unused codes at encoder outputs; EMA + restarts find the four centres', () => {
  for (const restart of [0, 0.5]) {
    const vq = new VectorQuantizer({ numEmbeddings: 4, embeddingDim: 2, ema: true, decay: 0.9, restartThreshold: restart, rng: new Generator(6), dtype });
    // three codes at blobs, the fourth far away: plain nearest-code assignment never uses it
    noGrad(() => {
      vq.embedding.assign(tensor([[2, 2], [-2, 2], [2, -2], [50, 50]], { dtype }));
      vq.embedSum.assign(vq.embedding.mul(1));
    });
    const rng = new Generator(7);
    let last = { perplexity: 0, used: 0 };
    for (let s = 0; s < 60; s++) scope(() => { const o = vq.forward(blobs(rng, 64), rng); last = { perplexity: o.perplexity, used: o.used }; });
    const E = vq.embedding.dataSync();
    const found = [[2, 2], [-2, 2], [2, -2], [-2, -2]].filter(([a, b]) => [0, 1, 2, 3].some((k) => Math.hypot(E[2 * k]! - a!, E[2 * k + 1]! - b!) < 0.1));
    if (restart > 0) {
      assert.ok(vq.restarts > 0, 'some codes were restarted');
      assert.equal(found.length, 4, `with restarts every centre has a code: ${Array.from(E).map((v) => v.toFixed(2)).join(' ')}`);
      assert.ok(last.perplexity > 3.5 && last.used === 4, `perplexity ${last.perplexity}, used ${last.used}`);
    } else {
      assert.ok(found.length < 4 && last.used === 3 && vq.restarts === 0, `without restarts: ${found.length} centres found, ${last.used} codes used`);
    }
  }
});

test('VQ-VAE: 28×28 → 7×7 codes, decode(codes) is the reconstruction, gradients reach the encoder', () => {
  const m = new VQVAE({ inChannels: 1, hidden: 8, resBlocks: 1, quantizer: { numEmbeddings: 16, embeddingDim: 4 }, rng: new Generator(8), dtype });
  const x = randn([2, 1, 28, 28], { rng: new Generator(9), dtype }).tanh();
  const out = m.forward(x);
  assert.deepEqual(out.recon.shape, [2, 1, 28, 28]);
  assert.deepEqual(out.indices[0]!.shape, [2, 7, 7]);
  out.loss.backward();
  const g = m.encoder.at(0).parameters()[0]!.grad!;
  assert.ok(g.abs().sum().itemSync() > 0, 'straight-through gradient reaches the first encoder layer');
  m.eval();
  noGrad(() => {
    const codes = m.encode(x);
    assert.deepEqual(Array.from(codes.dataSync()), Array.from(out.indices[0]!.dataSync()));
    const r = m.decode(codes).dataSync(), r0 = m.forward(x).recon.dataSync();
    for (let i = 0; i < r.length; i++) assert.ok(Math.abs(r[i]! - r0[i]!) < 1e-12);
  });
});

test('VQ-VAE-2: top codes 7×7, bottom 14×14; both levels and both encoders get gradients', () => {
  const m = new VQVAE2({ inChannels: 1, hidden: 8, resBlocks: 1, quantizer: { numEmbeddings: 8, embeddingDim: 4 }, rng: new Generator(10), dtype });
  const x = randn([2, 1, 28, 28], { rng: new Generator(11), dtype }).tanh();
  const out = m.forward(x);
  assert.deepEqual(out.indices.map((t) => t.shape), [[2, 7, 7], [2, 14, 14]]);
  assert.deepEqual(out.recon.shape, [2, 1, 28, 28]);
  out.loss.backward();
  for (const p of [m.encBottom.at(0).parameters()[0]!, m.encTop.at(0).parameters()[0]!, m.quantTop.embedding, m.quantBottom.embedding, m.decTop.at(0).parameters()[0]!]) {
    assert.ok(p.grad && p.grad.abs().sum().itemSync() > 0);
  }
  m.eval();
  const r = noGrad(() => m.decode(out.indices[0]!, out.indices[1]!).dataSync());
  const r0 = out.recon.dataSync();
  for (let i = 0; i < r.length; i++) assert.ok(Math.abs(r[i]! - r0[i]!) < 1e-12);
});
