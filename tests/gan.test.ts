// GANs (src/models/gan, src/nn/layers/spectral_norm.ts, the trainer's phases): the f-divergence
// table against closed forms (f* as a numeric supremum, f*(f'(u)) = u f'(u) − f(u)), the variational
// lower bound of two Gaussians below the true divergence and tightening as a critic trains, the
// WGAN-GP penalty and its double backward against finite differences, spectral normalisation to
// σ = 1 (Linear, Conv2d, ConvTranspose2d), the objectives' closed forms, and adversarial training
// through the shared Trainer with exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, randn, noGrad, nn, optim, io, linspace, memory } from '../src/index.ts';
import { onCpu } from './gradcheck.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { ring } from '../src/data/toy2d.ts';
import { F_DIVERGENCES, fDivergence, variationalBound, discriminatorLoss, generatorLoss, gradientPenalty, ganFamily, ganDefaults, type GanConfig } from '../src/models/gan/index.ts';
import type { Model } from '../src/models/registry.ts';
import { Trainer, type TrainerSnapshot } from '../src/train/trainer.ts';
import { resolveTrainOptions } from '../src/train/config.ts';

const vals = (t: Tensor) => [...t.dataSync()];


// ---------------------------------------------------------------------------------------------
// the f-divergence table

const U = [0.2, 0.5, 1, 2, 5];

test('f-divergences: f*(t) = sup_u ut − f(u) (grid maximum) and f*(f\'(u)) = u f\'(u) − f(u); f(1) = 0', () => {
  // u grid: log-spaced over [1e-4, 1e4]
  const grid = Array.from({ length: 200001 }, (_, i) => 10 ** (-4 + (8 * i) / 200000));
  for (const div of Object.values(F_DIVERGENCES)) {
    // f(1) = 0, except the 'gan' row, whose f(1) = −log 4 (D_GAN = 2·JS − log 4, Nowozin et al. Table 1)
    assert.ok(Math.abs(div.f(1) - (div.name === 'gan' ? -Math.log(4) : 0)) < 1e-12, `${div.name}: f(1) = ${div.f(1)}`);
    const ts = U.map((u) => div.fPrime(u));
    const conj = onCpu(() => vals(div.conjugate(tensor(ts, { dtype: 'float64' }))));
    U.forEach((u, i) => {
      const t = ts[i]!;
      const legendre = u * t - div.f(u);
      let sup = -Infinity;
      for (const w of grid) sup = Math.max(sup, w * t - div.f(w));
      assert.ok(Math.abs(conj[i]! - legendre) < 1e-9 * Math.max(1, Math.abs(legendre)), `${div.name}: f*(f'(${u})) = ${conj[i]}, u f'(u) − f(u) = ${legendre}`);
      assert.ok(Math.abs(conj[i]! - sup) < 1e-4 * Math.max(1, Math.abs(sup)), `${div.name}: f*(${t}) = ${conj[i]}, grid sup = ${sup}`);
    });
  }
});

test('f-divergences: g_f maps ℝ into dom f*, and the fused f*(g_f(v)) equals the composition', () => {
  onCpu(() => {
    const vv = linspace(-6, 6, 49, { dtype: 'float64' });
    for (const div of Object.values(F_DIVERGENCES)) {
      const t = vals(div.activation(vv));
      const [lo, hi] = div.domain;
      for (const x of t) assert.ok(x >= lo && x <= hi && Number.isFinite(x), `${div.name}: g_f gives ${x} outside [${lo}, ${hi}]`);
      const a = vals(div.conjugate(div.activation(vv))), b = vals(div.conjugateOfActivation(vv));
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < 1e-9 * Math.max(1, Math.abs(x)), `${div.name}: f*(g_f(v)) ${x} vs fused ${b[i]}`));
    }
  });
  assert.throws(() => fDivergence('hellinger'), /unknown f-divergence 'hellinger' \(expected one of: kl, reverse-kl/);
});

/** D_f(P‖Q) = ∫ q f(p/q) and the bound ∫ p g_f(V) − ∫ q f*(g_f(V)) by quadrature on [−12, 13]. */
const XS = Array.from({ length: 5001 }, (_, i) => -12 + (25 * i) / 5000);
const DX = 25 / 5000;
const normalPdf = (x: number, m: number) => Math.exp(-0.5 * (x - m) ** 2) / Math.sqrt(2 * Math.PI);
function trueDivergence(name: string): number {
  const div = fDivergence(name);
  let s = 0;
  for (const x of XS) {
    const p = normalPdf(x, 0), q = normalPdf(x, 1);
    if (q > 1e-300) s += q * div.f(p / q) * DX;
  }
  return s;
}
function quadratureBound(name: string, critic: nn.Sequential): number {
  const div = fDivergence(name);
  return noGrad(() => {
    const x = tensor(XS, { shape: [XS.length, 1] });
    const v = critic.forward(x).squeeze(1);
    const gp = vals(div.activation(v)), fq = vals(div.conjugateOfActivation(v));
    let s = 0;
    XS.forEach((xi, i) => { s += (normalPdf(xi, 0) * gp[i]! - normalPdf(xi, 1) * fq[i]!) * DX; });
    return s;
  });
}

test('variational bound E_P[T] − E_Q[f*(T)] of P = N(0,1), Q = N(1,1): below the true D_f, tightening as a critic trains', () => {
  const rows: string[] = [];
  for (const name of ['kl', 'reverse-kl', 'jensen-shannon', 'pearson', 'squared-hellinger', 'total-variation'] as const) {
    const rng = new Generator(7);
    const critic = new nn.Sequential(new nn.Linear(1, 16, { rng }), new nn.Tanh(), new nn.Linear(16, 16, { rng }), new nn.Tanh(), new nn.Linear(16, 1, { rng }));
    const opt = new optim.Adam(critic.parameters(), { lr: 0.01 });
    const truth = trueDivergence(name);
    const before = quadratureBound(name, critic);
    for (let step = 0; step < 250; step++) {
      opt.zeroGrad();
      const xp = randn([256, 1], { rng }), xq = randn([256, 1], { rng }).add(1);
      const loss = variationalBound(fDivergence(name), critic.forward(xp).squeeze(1), critic.forward(xq).squeeze(1)).neg();
      loss.backward();
      opt.step();
    }
    const after = quadratureBound(name, critic);
    rows.push(`${name}: true ${truth.toFixed(4)}, bound ${before.toFixed(4)} → ${after.toFixed(4)}`);
    assert.ok(before <= truth + 1e-6 && after <= truth + 1e-6, `${name}: bound above the divergence: ${rows.at(-1)}`);
    assert.ok(after > before, `${name}: the bound did not tighten: ${rows.at(-1)}`);
    assert.ok(after > 0.85 * truth, `${name}: the bound is loose after training: ${rows.at(-1)}`);
  }
  console.log(rows.join('\n'));
});

test('closed forms: KL(N(0,1)‖N(1,1)) = ½ and χ² = e − 1 by the same quadrature', () => {
  assert.ok(Math.abs(trueDivergence('kl') - 0.5) < 1e-6);
  assert.ok(Math.abs(trueDivergence('pearson') - (Math.E - 1)) < 1e-6);
  assert.ok(Math.abs(trueDivergence('reverse-kl') - 0.5) < 1e-6);
});

// ---------------------------------------------------------------------------------------------
// objectives

test('GAN objectives match their formulas on given critic outputs', () => {
  const r = tensor([0.5, -1, 2]), f = tensor([-0.3, 1.2, 0]);
  const R = vals(r), Fk = vals(f);
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const sp = (x: number) => Math.log1p(Math.exp(x));
  const close = (a: Tensor, b: number, what: string) => assert.ok(Math.abs(a.itemSync() - b) < 1e-5, `${what}: ${a.itemSync()} vs ${b}`);
  close(discriminatorLoss('ns', r, f), mean(R.map((x) => sp(-x))) + mean(Fk.map(sp)), 'D ns = BCE');
  close(generatorLoss('ns', f), mean(Fk.map((x) => sp(-x))), 'G ns = −log σ(v)');
  close(generatorLoss('minimax', f), mean(Fk.map((x) => Math.log(1 - 1 / (1 + Math.exp(-x))))), 'G minimax = log(1 − σ(v))');
  close(discriminatorLoss('wgan', r, f), mean(Fk) - mean(R), 'D wgan');
  close(discriminatorLoss('hinge', r, f), mean(R.map((x) => Math.max(0, 1 - x))) + mean(Fk.map((x) => Math.max(0, 1 + x))), 'D hinge');
  close(discriminatorLoss('lsgan', r, f), 0.5 * mean(R.map((x) => (x - 1) ** 2)) + 0.5 * mean(Fk.map((x) => x * x)), 'D lsgan');
  close(generatorLoss('lsgan', f), 0.5 * mean(Fk.map((x) => (x - 1) ** 2)), 'G lsgan');
  // the f-GAN with the 'gan' row of Table 2 is the minimax GAN up to the constant log 4 (Nowozin et al. §2.4)
  close(discriminatorLoss('f-gan', r, f, fDivergence('gan')), mean(R.map((x) => sp(-x))) + mean(Fk.map(sp)), "f-GAN 'gan' row = BCE");
  // and the Jensen–Shannon row is the non-saturating GAN up to constants: −2 log 2 for D, −log 2 for G
  close(discriminatorLoss('f-gan', r, f, fDivergence('jensen-shannon')), mean(R.map((x) => sp(-x))) + mean(Fk.map(sp)) - 2 * Math.log(2), 'f-GAN JS = BCE − log 4');
  close(generatorLoss('f-gan', f, fDivergence('jensen-shannon')), mean(Fk.map((x) => sp(-x))) - Math.log(2), 'f-GAN JS G = NS − log 2');
  assert.throws(() => discriminatorLoss('f-gan', r, f), /needs a divergence/);
});

test('WGAN-GP penalty and its gradient in the critic weights (double backward) match finite differences', () => {
  onCpu(() => {
    const rng = new Generator(11);
    const net = new nn.Sequential(new nn.Linear(3, 8, { rng, dtype: 'float64' }), new nn.Tanh(), new nn.Linear(8, 1, { rng, dtype: 'float64' }));
    const critic = (x: Tensor) => net.forward(x).squeeze(1);
    const real = randn([4, 3], { rng, dtype: 'float64' }), fake = randn([4, 3], { rng, dtype: 'float64' });
    const eps = tensor([0.1, 0.5, 0.9, 0.3], { dtype: 'float64' });
    const penalty = () => gradientPenalty(critic, real, fake, { eps, weight: 10 });

    // the penalty from a finite-difference gradient of D at x̂
    const xh = noGrad(() => real.mul(eps.reshape([4, 1])).add(fake.mul(eps.neg().add(1).reshape([4, 1]))));
    const X = vals(xh), h = 1e-6;
    const D = (a: number[]) => noGrad(() => vals(critic(tensor(a, { shape: [4, 3], dtype: 'float64' }))));
    let fdPenalty = 0;
    for (let i = 0; i < 4; i++) {
      let n2 = 0;
      for (let j = 0; j < 3; j++) {
        const up = [...X], dn = [...X];
        up[i * 3 + j]! += h;
        dn[i * 3 + j]! -= h;
        n2 += ((D(up)[i]! - D(dn)[i]!) / (2 * h)) ** 2;
      }
      fdPenalty += (10 * (Math.sqrt(n2) - 1) ** 2) / 4;
    }
    const p = penalty();
    assert.ok(Math.abs(p.itemSync() - fdPenalty) < 1e-7 * Math.max(1, fdPenalty), `penalty ${p.itemSync()} vs finite differences ${fdPenalty}`);

    // d penalty / d weight through the gradient (createGraph), against differences of the penalty
    p.backward();
    const w = (net.at(0) as nn.Linear).weight;
    const g = vals(w.grad!);
    for (const k of [0, 5, 13, 22]) {
      const orig = vals(w);
      const at = (d: number) => {
        const a = [...orig];
        a[k]! += d;
        noGrad(() => w.assign(tensor(a, { shape: w.shape, dtype: 'float64' })));
        const v = noGrad(() => penalty().itemSync());
        noGrad(() => w.assign(tensor(orig, { shape: w.shape, dtype: 'float64' })));
        return v;
      };
      const fd = (at(1e-6) - at(-1e-6)) / 2e-6;
      assert.ok(Math.abs(g[k]! - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `∂penalty/∂w[${k}]: autograd ${g[k]} vs finite differences ${fd}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// spectral normalisation

/** Largest singular value of a rows×cols matrix: power iteration on WᵀW to convergence (float64). */
function sigmaMax(w: ArrayLike<number>, rows: number, cols: number): number {
  let v = Array.from({ length: cols }, (_, i) => 1 + 0.1 * i), s = 0;
  for (let it = 0; it < 5000; it++) {
    const u = Array.from({ length: rows }, (_, r) => v.reduce((a, vj, j) => a + w[r * cols + j]! * vj, 0));
    const z = Array.from({ length: cols }, (_, j) => u.reduce((a, ur, r) => a + w[r * cols + j]! * ur, 0));
    const n = Math.hypot(...z);
    v = z.map((x) => x / n);
    s = Math.sqrt(n);
  }
  return s;
}

test('spectral norm: after power iterations the normalised weight has largest singular value 1 (Linear, Conv2d, ConvTranspose2d)', () => {
  const rng = new Generator(3);
  const cases: [string, nn.SpectralNorm, Tensor][] = [
    ['Linear', new nn.SpectralNorm(new nn.Linear(6, 4, { rng }), { rng }), randn([2, 6], { rng })],
    ['Conv2d', new nn.SpectralNorm(new nn.Conv2d(3, 5, 3, { rng, padding: 1 }), { rng }), randn([2, 3, 6, 6], { rng })],
    ['ConvTranspose2d', new nn.SpectralNorm(new nn.ConvTranspose2d(4, 3, 4, { rng, stride: 2, padding: 1 }), { rng, dim: 1 }), randn([2, 4, 5, 5], { rng })],
  ];
  for (const [name, sn, x] of cases) {
    const W0 = nn.weightMatrix(sn.weight_orig, sn.dim);
    const [rows, cols] = W0.shape as [number, number];
    const exact = sigmaMax(W0.dataSync(), rows, cols);
    assert.ok(Math.abs(exact - 1) > 0.1, `${name}: the raw weight already has σ ≈ 1 (${exact}); the test would have no teeth`);
    sn.train();
    for (let i = 0; i < 60; i++) noGrad(() => sn.forward(x));
    const Wsn = nn.weightMatrix(noGrad(() => sn.normalizedWeight()), sn.dim);
    const s = sigmaMax(Wsn.dataSync(), rows, cols);
    assert.ok(Math.abs(s - 1) < 2e-3, `${name}: σ(W/σ̂) = ${s}`);
    // the wrapped forward equals the layer with W/σ̂; in evaluation ũ stays as it is
    sn.eval();
    const u0 = vals(sn.weight_u);
    noGrad(() => sn.forward(x));
    assert.deepEqual(vals(sn.weight_u), u0, `${name}: ũ changed in evaluation mode`);
    assert.deepEqual(Object.keys(sn.stateDict()), ['weight_orig', 'bias', 'weight_u', 'weight_v'], name);
  }
});

test('spectral norm: the gradient reaches weight_orig and matches the layer applied to W/σ̂ (ũ, ṽ held fixed)', () => {
  const rng = new Generator(4);
  const lin = new nn.Linear(5, 3, { rng });
  const sn = new nn.SpectralNorm(lin, { rng });
  sn.eval();
  const x = randn([4, 5], { rng });
  const y = sn.forward(x);
  y.square().sum().backward();
  const g = vals(sn.weight_orig.grad!);
  // the same through the functional form
  const w2 = sn.weight_orig.detach();
  w2.requiresGrad = true;
  const W = w2.div(sn.weight_u.unsqueeze(0).matmul(w2).matmul(sn.weight_v.unsqueeze(1)).reshape([]));
  nn.functional.linear(x, W, lin.bias!.detach()).square().sum().backward();
  vals(w2.grad!).forEach((a, i) => assert.ok(Math.abs(a - g[i]!) < 1e-5, `grad[${i}] ${g[i]} vs ${a}`));
  assert.equal(lin.weight, sn.weight_orig, 'the layer keeps its own weight between calls');
});

// ---------------------------------------------------------------------------------------------
// the family and the trainer's phases

const POINTS = { kind: 'points' as const, shape: [2] };

function ganSetup(config: Partial<GanConfig>, steps = 20) {
  const o = resolveTrainOptions({ steps, batchSize: 32, lr: 1e-3, warmupSteps: 0, schedule: 'constant', logEvery: 5, ema: 0.9, gradClip: 0 });
  const [initRng, dataRng, noiseRng] = new Generator(o.seed).split(3);
  const model = ganFamily.create({ ...ganDefaults(POINTS, config.loss ?? 'ns'), hidden: [32, 32], ...config }, POINTS, initRng!) as Model;
  const pts = ring(512, new Generator(9));
  const loader = new DataLoader(new ArrayDataset({ x: { data: pts, itemShape: [2], dtype: 'float32' } }), { batchSize: o.batchSize, shuffle: true, rng: dataRng!, dropLast: true });
  return { family: ganFamily, model, loader, options: o, rng: noiseRng! };
}

async function roundTrip(s: TrainerSnapshot): Promise<TrainerSnapshot> {
  const back = async (sd: Record<string, Tensor>) => io.stateDictFromBytes(await io.stateDictToBytes(sd));
  return { step: s.step, model: await back(s.model), ema: s.ema ? await back(s.ema) : null, optimizer: { state: await back(s.optimizer.state), hyper: JSON.parse(JSON.stringify(s.optimizer.hyper)) }, state: JSON.parse(JSON.stringify(s.state)) };
}
const weights = (m: Model) => Object.values(m.net.stateDict()).flatMap((t) => vals(t));

test('a WGAN-GP trains 20 steps through the Trainer with phases (n_critic 3, TTUR, betas per phase); resume is exact', async () => {
  const cfg: Partial<GanConfig> = { loss: 'wgan-gp', nCritic: 3, lrD: 4e-4, lrG: 1e-4, betas: [0, 0.9], spectralNorm: true };
  const a = ganSetup(cfg);
  const logs: Record<string, number>[] = [];
  const straight = new Trainer({ ...a, onLog: (r) => { if (r.phases) logs.push(r.phases); } });
  await straight.run();
  // per-phase optimizer settings and update counts: D stepped n_critic times per step
  const sd = straight.optimizer.stateDict();
  assert.equal(sd.hyper.groups.length, 2);
  assert.deepEqual(sd.hyper.groups.map((g) => [g.lr, ...(g.betas as number[])]), [[4e-4, 0, 0.9], [1e-4, 0, 0.9]]);
  const steps = sd.hyper.steps;
  const dCount = sd.hyper.groups[0]!.params.length;
  assert.equal(steps[String(sd.hyper.groups[0]!.params[0])], 60);
  assert.equal(steps[String(sd.hyper.groups[1]!.params[0])], 20);
  assert.ok(dCount > 0 && logs.length === 4 && logs.every((l) => Number.isFinite(l.discriminator) && Number.isFinite(l.generator)), JSON.stringify(logs));

  const b = setupAndStop(cfg, 8);
  const snap = await b;
  const c = ganSetup(cfg);
  const second = new Trainer(c);
  second.restore(snap);
  await second.run();
  assert.deepEqual(weights(c.model), weights(a.model));
  const ema = (t: Trainer) => [...t.ema!.shadow.values()].flatMap((x) => vals(x));
  assert.deepEqual(ema(second), ema(straight));
});

async function setupAndStop(cfg: Partial<GanConfig>, at: number): Promise<TrainerSnapshot> {
  const b = ganSetup(cfg);
  let saved: TrainerSnapshot | null = null;
  const first = new Trainer({ ...b, stopAt: at, saveCheckpoint: async (s) => { saved = await roundTrip(s); } });
  const r = await first.run();
  assert.equal(r.status, 'paused');
  return saved!;
}

test('phases update only their own players; WGAN clipping keeps the critic in [−c, c]', async () => {
  const s = ganSetup({ loss: 'wgan', clip: 0.02, nCritic: 2 }, 3);
  const net = s.model.net as unknown as { generator: nn.Module; discriminator: nn.Module };
  const g0 = net.generator.parameters().flatMap((p) => vals(p));
  const fam = { ...ganFamily, phases: (m: Model) => ganFamily.phases!(m as never).filter((p) => p.name === 'discriminator') };
  await new Trainer({ ...s, family: fam }).run();
  assert.deepEqual(net.generator.parameters().flatMap((p) => vals(p)), g0, 'a discriminator-only run moved the generator');
  for (const p of net.discriminator.parameters()) for (const v of vals(p)) assert.ok(Math.abs(v) <= 0.02 + 1e-7, `critic weight ${v} outside the clip`);
});

test('DCGAN on 28×28: conditional, self-modulated G, spectral-norm D — shapes, a finite adversarial step, and config errors name the field', () => {
  const spec = { kind: 'images' as const, shape: [1, 28, 28], numClasses: 10 };
  const rng = new Generator(1);
  const cfg = { ...ganDefaults(spec, 'hinge'), ngf: 8, ndf: 8, zDim: 16, conditional: true, selfModulation: true, spectralNorm: true };
  const model = ganFamily.create(cfg, spec, rng);
  const x = randn([4, 1, 28, 28], { rng }).tanh(), y = tensor([0, 3, 7, 9], { dtype: 'int32' });
  const dl = ganFamily.phases!(model)[0]!.loss(model, { x, y }, rng);
  const gl = ganFamily.loss(model, { x, y }, rng);
  assert.ok(Number.isFinite(dl.itemSync()) && Number.isFinite(gl.itemSync()));
  const s = ganFamily.sample(model, 3, rng, { classes: tensor([1, 2, 3], { dtype: 'int32' }) });
  assert.deepEqual(s.shape, [3, 1, 28, 28]);
  for (const v of vals(s)) assert.ok(v >= -1 && v <= 1);
  const keys = Object.keys(model.net.stateDict());
  assert.ok(keys.includes('discriminator.conv1.weight_orig') && keys.includes('discriminator.conv1.weight_u') && keys.includes('generator.norm0.gamma.weight') && keys.includes('discriminator.embed.weight'), keys.join(', '));
  assert.throws(() => ganFamily.create({ ...cfg, loss: 'wasserstein' as never }, spec, rng), /'loss' must be one of ns, minimax/);
  assert.throws(() => ganFamily.create({ ...cfg, loss: 'f-gan', divergence: 'js' as never }, spec, rng), /'divergence' must be one of/);
  assert.throws(() => ganFamily.create({ ...ganDefaults(spec, 'wgan-gp'), dNorm: 'batch' }, spec, rng), /'dNorm'/);
  assert.throws(() => ganFamily.create({ ...cfg, conditional: true }, { kind: 'images', shape: [1, 28, 28] }, rng), /'conditional'/);
});

test('adversarial training steps (gradient penalty, spectral norm) leave no buffers behind', async () => {
  const s = ganSetup({ loss: 'wgan-gp', nCritic: 2, spectralNorm: true }, 2);
  const trainer = new Trainer(s);
  await trainer.run(); // optimizer and EMA state exist from here on
  const live = memory().buffers;
  (trainer.options as { steps: number }).steps = 6;
  await trainer.run();
  assert.equal(memory().buffers, live);
});

test("the registry holds 'gan' and 'ebm'", async () => {
  const { families, familyByName } = await import('../src/models/index.ts');
  const { ebmFamily } = await import('../src/models/ebm/index.ts');
  assert.equal(families.gan, ganFamily);
  assert.equal(familyByName('ebm'), ebmFamily);
  assert.deepEqual(ganFamily.samplers, ['generator']);
  assert.deepEqual(ebmFamily.samplers, ['ula', 'mala']);
});
