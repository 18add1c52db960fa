/**
 * The `ebm` family: an energy-based model p_θ(x) ∝ exp(−E_θ(x)) trained by contrastive divergence
 * with persistent short-run Langevin chains and a replay buffer (Du & Mordatch 2019, "Implicit
 * Generation and Generalization in Energy-Based Models", Algorithm 1):
 *
 *   x⁻₀ ← a buffer entry with probability 95%, uniform noise otherwise (§3.1, replay buffer)
 *   x⁻ₖ ← x⁻ₖ₋₁ − (λ/2)∇ₓE_θ(x⁻ₖ₋₁) + ω,  ω ~ N(0, σ²I),  k = 1…K        (Eq. 2)
 *   L(θ) = E[E_θ(x⁺)] − E[E_θ(stop_grad(x⁻_K))] + α·E[E_θ(x⁺)² + E_θ(x⁻_K)²]   (§3.3, α = 1)
 *   the buffer keeps x⁻_K.
 *
 * The Langevin step with a separate step λ and noise σ is ULA (src/mcmc) on the tempered density
 * exp(−E/T) with ε = σ²/2 and T = σ²/λ; with σ² = λ (the default for points) it is the
 * proper Langevin chain of p_θ. Sampling continues replay-buffer chains with ULA or MALA.
 * The energy network is an MLP on the flattened input (SiLU; optional spectral norm).
 * The replay buffer is a persistent buffer of the net (`replay_buffer`), so checkpoints resume exactly.
 */
import { type Tensor, type Generator, noGrad, rand, tensor } from '../../core/index.ts';
import { Module, buffer } from '../../nn/module.ts';
import { Linear, ModuleList, SpectralNorm, type WeightedLayer } from '../../nn/layers/index.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions } from '../registry.ts';
import { ula, mala } from '../../mcmc/index.ts';

export interface EbmConfig {
  /** Hidden widths of the energy MLP. */
  hidden: number[];
  /** Spectral normalisation of every layer (Du & Mordatch use it for stability). */
  spectralNorm: boolean;
  /** Replay buffer size (Du & Mordatch: 10000). */
  bufferSize: number;
  /** Share of chains restarted from uniform noise each step (0.05: the paper's 95% / 5%). */
  reinitFreq: number;
  /** Langevin steps per training step (K). */
  langevinSteps: number;
  /** λ: gradient step on the energy. */
  langevinStep: number;
  /** σ: std of the Langevin noise (σ² = λ samples p_θ itself). */
  langevinNoise: number;
  /** α: weight of the energy-magnitude regulariser. */
  alpha: number;
  /** Uniform noise range [low, high] of fresh chains (images: [−1, 1]). */
  initRange: [number, number];
  /** Langevin steps of `sample` (fresh chains from noise). */
  sampleSteps: number;
}

export function ebmDefaults(data: DataSpec): EbmConfig {
  const images = data.kind === 'images';
  return {
    hidden: images ? [512, 512] : [128, 128],
    spectralNorm: false,
    bufferSize: 10000,
    reinitFreq: 0.05,
    langevinSteps: images ? 60 : 20,
    langevinStep: images ? 10 : 0.02,
    langevinNoise: images ? 0.005 : Math.sqrt(0.02),
    alpha: images ? 1 : 0.1,
    initRange: images ? [-1, 1] : [-5, 5],
    sampleSteps: images ? 200 : 500,
  };
}

/** E_θ: an MLP from the flattened input to one energy per example, and the replay buffer. */
export class EnergyNet extends Module {
  readonly layers: ModuleList<WeightedLayer>;
  readonly replay_buffer: Tensor;
  readonly itemShape: readonly number[];

  constructor(itemShape: readonly number[], config: EbmConfig, rng: Generator) {
    super();
    const d = itemShape.reduce((a, b) => a * b, 1);
    const widths = [d, ...config.hidden, 1];
    this.layers = new ModuleList(widths.slice(1).map((w, i) => {
      const l = new Linear(widths[i]!, w, { rng });
      return config.spectralNorm ? new SpectralNorm(l, { rng }) as unknown as WeightedLayer : l;
    }));
    const [lo, hi] = config.initRange;
    this.replay_buffer = buffer(rand([config.bufferSize, ...itemShape], { rng, low: lo, high: hi }));
    this.itemShape = [...itemShape];
  }

  /** Energies [N] of x [N, ...]. */
  forward(x: Tensor): Tensor {
    let h = x.reshape([x.shape[0]!, -1]);
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      h = this.layers[i]!.forward(h);
      if (i < n - 1) h = h.silu();
    }
    return h.squeeze(1);
  }
}

export type EbmModel = Model<EbmConfig> & { readonly net: EnergyNet };
const netOf = (m: Model<EbmConfig>) => (m as EbmModel).net;

function check(c: EbmConfig): void {
  const bad = (field: string, expected: string, got: unknown) => new Error(`ebm config: '${field}' must be ${expected}, got ${JSON.stringify(got)}`);
  for (const f of ['bufferSize', 'sampleSteps'] as const) if (!Number.isInteger(c[f]) || c[f] < 1) throw bad(f, 'a positive integer', c[f]);
  if (!Number.isInteger(c.langevinSteps) || c.langevinSteps < 0) throw bad('langevinSteps', 'a non-negative integer', c.langevinSteps);
  if (!(c.reinitFreq >= 0 && c.reinitFreq <= 1)) throw bad('reinitFreq', 'in [0, 1]', c.reinitFreq);
  for (const f of ['langevinStep', 'langevinNoise'] as const) if (!(c[f] > 0)) throw bad(f, 'a positive number', c[f]);
  if (!(c.alpha >= 0)) throw bad('alpha', 'a non-negative number', c.alpha);
  if (!Array.isArray(c.initRange) || !(c.initRange[0] < c.initRange[1])) throw bad('initRange', '[low, high] with low < high', c.initRange);
}

/** The Langevin kernel of the config as ULA/MALA options on log p = −E/T: ε = σ²/2, 1/T = λ/σ². */
function kernel(model: Model<EbmConfig>): { logProb: (x: Tensor) => Tensor; stepSize: number; clamp?: readonly [number, number] } {
  const c = model.config, net = netOf(model);
  const invT = c.langevinStep / (c.langevinNoise * c.langevinNoise);
  return {
    logProb: (x) => net.forward(x).mul(-invT),
    stepSize: (c.langevinNoise * c.langevinNoise) / 2,
    ...(model.data.kind === 'images' ? { clamp: [-1, 1] as const } : {}),
  };
}

/**
 * Starting points of n chains: each a random buffer entry, or (with probability reinitFreq)
 * fresh uniform noise. Returns the states, the buffer indices they came from and which are fresh.
 */
export function replayStart(model: Model<EbmConfig>, n: number, rng: Generator): { x: Tensor; index: Int32Array; fresh: Uint8Array } {
  const c = model.config, net = netOf(model);
  const index = rng.randint(n, 0, c.bufferSize);
  const fresh = rng.bernoulli(n, c.reinitFreq);
  const [lo, hi] = c.initRange;
  const noise = rand([n, ...net.itemShape], { rng, low: lo, high: hi });
  const x = noGrad(() => {
    const fromBuf = net.replay_buffer.indexSelect(0, tensor(index, { dtype: 'int32' }));
    const mask = tensor(fresh, { dtype: 'int32' }).bool().reshape([n, ...net.itemShape.map(() => 1)]);
    return noise.mul(mask.float()).add(fromBuf.mul(mask.logicalNot().float()));
  });
  return { x, index, fresh };
}

/** Write chain states back into the replay buffer at `index`. */
function storeInBuffer(net: EnergyNet, x: Tensor, index: Int32Array): void {
  const d = net.itemShape.reduce((a, b) => a * b, 1);
  const buf = Float32Array.from(net.replay_buffer.dataSync());
  const v = x.dataSync();
  for (let i = 0; i < index.length; i++) buf.set(v.subarray(i * d, (i + 1) * d), index[i]! * d);
  noGrad(() => net.replay_buffer.assign(tensor(buf, { shape: net.replay_buffer.shape })));
}

/** Contrastive-divergence loss of Du & Mordatch (2019), with the replay buffer updated in place. */
export function ebmLoss(model: Model<EbmConfig>, batch: Batch, rng: Generator): Tensor {
  const c = model.config, net = netOf(model), n = batch.x.shape[0]!;
  const start = replayStart(model, n, rng);
  const k = kernel(model);
  const neg = ula(k.logProb, start.x, { stepSize: k.stepSize, steps: c.langevinSteps, rng, ...(k.clamp ? { clamp: k.clamp } : {}) }).samples;
  storeInBuffer(net, neg, start.index);
  const ePos = net.forward(batch.x), eNeg = net.forward(neg.detach());
  const cd = ePos.mean().sub(eNeg.mean());
  return c.alpha > 0 ? cd.add(ePos.square().mean().add(eNeg.square().mean()).mul(c.alpha)) : cd;
}

export const ebmFamily: Family<EbmConfig> = {
  name: 'ebm',
  description: 'Energy-based model: contrastive divergence with persistent Langevin chains and a replay buffer (Du & Mordatch 2019); ULA / MALA sampling',
  samplers: ['ula', 'mala'],
  defaults: ebmDefaults,
  create(config: EbmConfig, data: DataSpec, rng: Generator): EbmModel {
    const c = { ...ebmDefaults(data), ...config };
    check(c);
    return { family: 'ebm', config: c, data, net: new EnergyNet(data.shape, c, rng) };
  },
  loss: ebmLoss,
  /**
   * Persistent chains: n random replay-buffer entries (Du & Mordatch §3.1 sample from the buffer)
   * continued for `opts.steps` (default `sampleSteps`) ULA or MALA steps on p_θ's tempered density.
   */
  sample(model: Model<EbmConfig>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
    const sampler = opts.sampler ?? 'ula';
    if (sampler !== 'ula' && sampler !== 'mala') throw new Error(`ebm: unknown sampler '${sampler}' (ula, mala)`);
    const c = model.config, k = kernel(model);
    const index = tensor(rng.randint(n, 0, c.bufferSize), { dtype: 'int32' });
    const x0 = noGrad(() => netOf(model).replay_buffer.indexSelect(0, index));
    const steps = opts.steps ?? c.sampleSteps;
    const run = sampler === 'ula' ? ula : mala;
    const { samples } = run(k.logProb, x0, {
      stepSize: k.stepSize, steps, rng, ...(k.clamp && sampler === 'ula' ? { clamp: k.clamp } : {}),
      ...(opts.onStep ? { onStep: opts.onStep } : {}),
    });
    return samples;
  },
};
