/**
 * The flow families in the model registry: `nice`, `realnvp`, `glow`, `maf` (MAF or IAF) and `cnf`.
 * Every one has the registry's verbs (src/models/registry.ts):
 *   loss           points: mean NLL in nats; images: mean bits/dim of uniformly dequantised pixels
 *   sample         points as they are; images mapped back to [−1, 1]
 *   logLikelihood  points: exact log p(x) in nats (bound: false); images: the dequantisation bound
 *                  log p(x̃) − D·log 256 in nats on the pixels (bound: true; see dequantize.ts)
 */
import { type Tensor, type Generator, noGrad } from '../../core/index.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions } from '../registry.ts';
import { registerFamily } from '../registry.ts';
import type { OdeSolverSpec } from './bijector.ts';
import type { Flow } from './flow.ts';
import { toLevels, uniformDequantize, bitsPerDim, discreteLogLikelihood } from './dequantize.ts';
import {
  type NiceConfig, type RealNVPConfig, type GlowConfig, type MafConfig, type CnfConfig,
  buildNice, buildRealNVP, buildGlow, buildMaf, buildCnf,
} from './architectures.ts';

export type FlowModel<C> = Model<C> & { readonly net: Flow };

interface FlowFamilySpec<C> {
  name: string;
  description: string;
  defaults(data: DataSpec): C;
  build(config: C, data: DataSpec, rng: Generator): Flow;
  /** ODE solver of the training loss (continuous flows). */
  trainOde?(config: C): OdeSolverSpec;
  /** ODE solver of likelihoods and samples. */
  evalOde?(config: C, opts?: SampleOptions): OdeSolverSpec;
  samplers?: readonly string[];
}

const dims = (data: DataSpec) => data.shape.reduce((a, b) => a * b, 1);

function flowOf<C>(model: Model<C>): Flow {
  return (model as FlowModel<C>).net;
}

function makeFamily<C>(spec: FlowFamilySpec<C>): Family<C> {
  return {
    name: spec.name,
    description: spec.description,
    samplers: spec.samplers ?? ['inverse'],
    defaults: spec.defaults,
    create(config: C, data: DataSpec, rng: Generator): FlowModel<C> {
      return { family: spec.name, config, data, net: spec.build(config, data, rng) };
    },
    loss(model: Model<C>, batch: Batch, rng: Generator): Tensor {
      const flow = flowOf(model);
      const ode = spec.trainOde?.(model.config);
      if (model.data.kind === 'images') {
        const x = uniformDequantize(toLevels(batch.x), rng);
        return bitsPerDim(flow.logProb(x, null, { rng, ode }), dims(model.data)).mean();
      }
      return flow.logProb(batch.x, null, { rng, ode }).mean().neg();
    },
    sample(model: Model<C>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
      const samplers = spec.samplers ?? ['inverse'];
      if (opts.sampler && !samplers.includes(opts.sampler)) throw new Error(`${spec.name}: unknown sampler '${opts.sampler}' (${samplers.join(', ')})`);
      const flow = flowOf(model);
      const ode = spec.evalOde?.(model.config, opts);
      return noGrad(() => {
        const x = flow.sample(n, rng, { temperature: opts.temperature, ode });
        return model.data.kind === 'images' ? x.clamp(0, 1).mul(2).sub(1) : x;
      });
    },
    logLikelihood(model: Model<C>, batch: Batch, rng: Generator): { logLik: Tensor; bound: boolean } {
      const flow = flowOf(model);
      const ode = spec.evalOde?.(model.config);
      return noGrad(() => {
        if (model.data.kind === 'images') {
          const x = uniformDequantize(toLevels(batch.x), rng);
          return { logLik: discreteLogLikelihood(flow.logProb(x, null, { rng, ode }), dims(model.data)), bound: true };
        }
        return { logLik: flow.logProb(batch.x, null, { rng, ode }), bound: false };
      });
    },
  };
}

const isImage = (d: DataSpec) => d.kind === 'images';

/** NICE (Dinh, Krueger & Bengio 2014): additive couplings and a diagonal scaling. */
export const nice: Family<NiceConfig> = makeFamily<NiceConfig>({
  name: 'nice',
  description: 'NICE: additive coupling layers and a diagonal scaling (Dinh et al. 2014)',
  defaults: (d) => (isImage(d)
    ? { couplings: 4, hidden: [1000, 1000, 1000, 1000, 1000], activation: 'relu', logitAlpha: 1e-6 }
    : { couplings: 8, hidden: [64, 64], activation: 'relu', logitAlpha: 1e-6 }),
  build: (c, d, rng) => buildNice(c, d.shape, { rng }),
});

/** RealNVP (Dinh, Sohl-Dickstein & Bengio 2017): affine couplings, masks, multi-scale. */
export const realnvp: Family<RealNVPConfig> = makeFamily<RealNVPConfig>({
  name: 'realnvp',
  description: 'RealNVP: affine couplings with checkerboard/channel masks, squeeze and multi-scale factoring-out (Dinh et al. 2017)',
  defaults: (d) => ({
    couplings: 8, hidden: [64, 64], scale: 'tanh', batchNorm: false,
    scales: isImage(d) ? 2 : 1, hiddenChannels: 64, blocks: 1, logitAlpha: 0.05,
  }),
  build: (c, d, rng) => buildRealNVP(c, d.shape, { rng }),
});

/** Glow (Kingma & Dhariwal 2018): actnorm, invertible 1×1 convolutions, affine couplings, split priors. */
export const glow: Family<GlowConfig> = makeFamily<GlowConfig>({
  name: 'glow',
  description: 'Glow: actnorm, invertible 1×1 convolution (LU) and affine coupling steps, multi-scale with split priors (Kingma & Dhariwal 2018)',
  defaults: () => ({
    steps: 8, hidden: [64, 64], lu: true, scale: 'sigmoid',
    levels: 2, hiddenChannels: 64, splitPriors: true,
  }),
  build: (c, d, rng) => buildGlow(c, d.shape, { rng }),
});

/** MAF (Papamakarios et al. 2017) or IAF (Kingma et al. 2016) on MADE. */
export const maf: Family<MafConfig> = makeFamily<MafConfig>({
  name: 'maf',
  description: 'MAF / IAF: masked autoregressive flows on MADE (Papamakarios et al. 2017; Kingma et al. 2016)',
  defaults: (d) => ({
    layers: 5, hidden: isImage(d) ? [1024] : [64, 64], kind: 'maf', orderings: 'reverse', batchNorm: false,
    activation: 'relu', logitAlpha: 1e-6,
  }),
  build: (c, d, rng) => buildMaf(c, d.shape, { rng }),
});

/** A continuous normalizing flow (FFJORD, Grathwohl et al. 2019). */
export const cnf: Family<CnfConfig> = makeFamily<CnfConfig>({
  name: 'cnf',
  description: 'Continuous normalizing flow: ODE flow with the instantaneous change of variables, exact or Hutchinson trace (FFJORD, Grathwohl et al. 2019)',
  samplers: ['dopri5', 'rk4'],
  defaults: () => ({
    hidden: [64, 64, 64], activation: 'tanh', T: 1, trace: 'exact',
    trainSolver: { method: 'rk4', steps: 8 },
    evalSolver: { method: 'dopri5', rtol: 1e-5, atol: 1e-5 },
  }),
  build: (c, d, rng) => buildCnf(c, d.shape, { rng }),
  trainOde: (c) => c.trainSolver,
  evalOde: (c, opts) => {
    if (opts?.sampler === 'rk4') return { method: 'rk4', steps: opts.steps ?? c.trainSolver.steps ?? 8 };
    if (opts?.sampler && opts.sampler !== 'dopri5') throw new Error(`cnf: unknown sampler '${opts.sampler}' (dopri5, rk4)`);
    return c.evalSolver;
  },
});

/** Every flow family by name: what the CLI and the trainer import. */
export const flowFamilies = { nice, realnvp, glow, maf, cnf } as const;

/** Put every flow family into the model registry (explicit; importing this module registers nothing). */
export function registerFlows(): void {
  for (const f of Object.values(flowFamilies)) registerFamily(f as Family<unknown>);
}
