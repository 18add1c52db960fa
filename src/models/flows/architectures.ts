/**
 * The flow architectures of the papers, built from a typed config (saved as config.json beside the
 * weights): NICE, RealNVP, Glow, MAF/IAF and a continuous flow, for points [D] and images [C, H, W].
 * Image flows see dequantised data in [0, 1) (dequantize.ts) and start with the papers' input map:
 * the logit transform (NICE, RealNVP, MAF) or x − ½ (Glow).
 */
import type { Generator } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { type Bijector, Chain, type OdeSolverSpec } from './bijector.ts';
import { StandardNormal } from './distributions.ts';
import { Flow } from './flow.ts';
import { MLP, ConvNet, type Activation } from './nets.ts';
import { AdditiveCoupling, AffineCoupling, Scaling, alternatingMask, checkerboardMask, channelMask, halfMask, type ScaleKind } from './coupling.ts';
import { BatchNormFlow } from './norms.ts';
import { glowStep } from './glow.ts';
import { MaskedAffineAutoregressive, InverseAutoregressive } from './autoregressive.ts';
import { CNF, OdeNet } from './cnf.ts';
import { Logit, FixedAffine, Reshape, Squeeze } from './elementwise.ts';
import { MultiScale, SplitPrior } from './multiscale.ts';

type FloatDType = 'float32' | 'float64';
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface NiceConfig {
  /** Additive coupling layers, alternating which half of the features is updated (NICE: 4). */
  couplings: number;
  /** Hidden sizes of each coupling's MLP (NICE on MNIST: 5 × 1000). */
  hidden: number[];
  activation: Activation;
  /** α of the logit transform of images (unused for points). */
  logitAlpha: number;
}

export interface RealNVPConfig {
  /** Points: affine coupling layers, alternating halves. */
  couplings: number;
  /** Points: hidden sizes of each coupling's MLP. */
  hidden: number[];
  /** How raw outputs become log-scales (coupling.ts ScaleKind; RealNVP: 'tanh'). */
  scale: ScaleKind;
  /** Points: batch normalisation after every coupling but the last (RealNVP Sec. 3.7). */
  batchNorm: boolean;
  /** Images: number of scales (each but the last: 3 checkerboard couplings, squeeze, 3 channel couplings, factor out half; the last: 4 checkerboard couplings). */
  scales: number;
  /** Images: hidden channels of the coupling networks. */
  hiddenChannels: number;
  /** Images: residual blocks in each coupling network (RealNVP: 8 on CIFAR-10). */
  blocks: number;
  /** Images: α of the logit transform (RealNVP: 0.05). */
  logitAlpha: number;
}

export interface GlowConfig {
  /** Steps of flow K per level (Glow: 32); for points, the number of steps. */
  steps: number;
  /** Points: hidden sizes of each coupling's MLP. */
  hidden: number[];
  /** LU-decomposed 1×1 convolutions (Glow Sec. 3.2) instead of plain ones. */
  lu: boolean;
  /** Coupling scale: 'sigmoid' is Glow's. */
  scale: ScaleKind;
  /** Images: levels L (Glow: 3 on CIFAR-10); each starts with a squeeze, all but the last end with a split. */
  levels: number;
  /** Images: hidden channels of NN() (Glow: 512). */
  hiddenChannels: number;
  /** Images: learned split priors (Glow) instead of standard normal factored-out variables (RealNVP). */
  splitPriors: boolean;
}

export interface MafConfig {
  /** Autoregressive layers (MAF 5 in Papamakarios et al.'s tables). */
  layers: number;
  /** Hidden sizes of each MADE. */
  hidden: number[];
  /** 'maf' (fast density) or 'iaf' (fast sampling, D passes for density). */
  kind: 'maf' | 'iaf';
  /** Variable order of successive layers: alternately natural and reversed, or random per layer. */
  orderings: 'reverse' | 'random';
  /** Batch normalisation between layers (MAF Sec. 3.4). */
  batchNorm: boolean;
  activation: 'relu' | 'tanh';
  /** Images: α of the logit transform (MAF: 10⁻⁶). */
  logitAlpha: number;
}

export interface CnfConfig {
  /** Hidden sizes of the dynamics network (FFJORD's toy models: 64-64-64). */
  hidden: number[];
  activation: 'tanh' | 'softplus';
  /** Integration time T. */
  T: number;
  /** Divergence: exact (D Jacobian-vector products) or FFJORD's Hutchinson estimator. */
  trace: 'exact' | 'hutchinson';
  /** Solver of the training loss (must be differentiable: 'rk4'). */
  trainSolver: OdeSolverSpec;
  /** Solver for log-likelihoods and samples. */
  evalSolver: OdeSolverSpec;
}

interface BuildOptions {
  rng: Generator;
  dtype?: FloatDType;
}

/** The image prefix (input map + flatten) and the vector shape a vector flow then sees. */
function imagePrefix(shape: readonly number[], logitAlpha: number): Bijector[] {
  return [new Logit(logitAlpha), new Reshape(shape, [size(shape)])];
}

function vectorDims(shape: readonly number[]): number {
  return shape.length === 1 ? shape[0]! : size(shape);
}

export function buildNice(cfg: NiceConfig, shape: readonly number[], o: BuildOptions): Flow {
  const D = vectorDims(shape);
  const layers: Bijector[] = shape.length === 1 ? [] : imagePrefix(shape, cfg.logitAlpha);
  for (let i = 0; i < cfg.couplings; i++) {
    layers.push(new AdditiveCoupling(alternatingMask(D, (i % 2) as 0 | 1, o.dtype), new MLP(D, cfg.hidden, D, { rng: o.rng, dtype: o.dtype, activation: cfg.activation })));
  }
  layers.push(new Scaling([D], { dtype: o.dtype }));
  return new Flow(new StandardNormal([D], { dtype: o.dtype }), layers);
}

export function buildRealNVP(cfg: RealNVPConfig, shape: readonly number[], o: BuildOptions): Flow {
  if (shape.length === 3) {
    return new Flow(new StandardNormal([size(shape)], { dtype: o.dtype }), [new Logit(cfg.logitAlpha), realnvpMultiScale(cfg, shape, o)]);
  }
  const D = vectorDims(shape);
  const layers: Bijector[] = [];
  for (let i = 0; i < cfg.couplings; i++) {
    layers.push(new AffineCoupling(halfMask(D, (i % 2) as 0 | 1, o.dtype), new MLP(D, cfg.hidden, 2 * D, { rng: o.rng, dtype: o.dtype }), { scale: cfg.scale, dtype: o.dtype }));
    if (cfg.batchNorm && i < cfg.couplings - 1) layers.push(new BatchNormFlow(D, { dtype: o.dtype }));
  }
  return new Flow(new StandardNormal([D], { dtype: o.dtype }), layers);
}

/** RealNVP's multi-scale architecture (Dinh et al. 2017, Sec. 3.6 and 4.1). */
export function realnvpMultiScale(cfg: RealNVPConfig, shape: readonly number[], o: BuildOptions): MultiScale {
  let [C, H, W] = shape as [number, number, number];
  if (H % 2 ** (cfg.scales - 1) || W % 2 ** (cfg.scales - 1)) throw new Error(`RealNVP: ${cfg.scales} scales need H and W divisible by ${2 ** (cfg.scales - 1)}, got ${shapeStr(shape)}`);
  const net = (c: number) => new ConvNet(c, 2 * c, { hidden: cfg.hiddenChannels, blocks: cfg.blocks, rng: o.rng, dtype: o.dtype });
  const levels: Chain[] = [];
  for (let s = 0; s < cfg.scales; s++) {
    const last = s === cfg.scales - 1;
    const layers: Bijector[] = [];
    for (let i = 0; i < (last ? 4 : 3); i++) {
      layers.push(new AffineCoupling(checkerboardMask(H, W, (i % 2) as 0 | 1, o.dtype), net(C), { scale: cfg.scale, channels: C, dtype: o.dtype }));
    }
    if (!last) {
      layers.push(new Squeeze());
      [C, H, W] = [4 * C, H / 2, W / 2];
      for (let i = 0; i < 3; i++) layers.push(new AffineCoupling(channelMask(C, (i % 2) as 0 | 1, o.dtype), net(C), { scale: cfg.scale, dtype: o.dtype }));
      C = Math.floor(C / 2);
    }
    levels.push(new Chain(layers));
  }
  return new MultiScale(shape, levels);
}

export function buildGlow(cfg: GlowConfig, shape: readonly number[], o: BuildOptions): Flow {
  if (shape.length === 3) {
    return new Flow(new StandardNormal([size(shape)], { dtype: o.dtype }), [new FixedAffine(1, -0.5), glowMultiScale(cfg, shape, o)]);
  }
  const D = vectorDims(shape);
  const layers: Bijector[] = [];
  for (let i = 0; i < cfg.steps; i++) {
    layers.push(glowStep(D, new MLP(D, cfg.hidden, 2 * D, { rng: o.rng, dtype: o.dtype }), { rng: o.rng, dtype: o.dtype, lu: cfg.lu, scale: cfg.scale, image: false }));
  }
  return new Flow(new StandardNormal([D], { dtype: o.dtype }), layers);
}

/** Glow's multi-scale architecture (Kingma & Dhariwal 2018, Fig. 2b): L levels of squeeze → K steps → split. */
export function glowMultiScale(cfg: GlowConfig, shape: readonly number[], o: BuildOptions): MultiScale {
  let [C, H, W] = shape as [number, number, number];
  if (H % 2 ** cfg.levels || W % 2 ** cfg.levels) throw new Error(`Glow: ${cfg.levels} levels need H and W divisible by ${2 ** cfg.levels}, got ${shapeStr(shape)}`);
  const levels: Chain[] = [];
  const priors: SplitPrior[] = [];
  for (let l = 0; l < cfg.levels; l++) {
    [C, H, W] = [4 * C, H / 2, W / 2];
    const layers: Bijector[] = [new Squeeze()];
    for (let k = 0; k < cfg.steps; k++) {
      const net = new ConvNet(C, 2 * C, { hidden: cfg.hiddenChannels, rng: o.rng, dtype: o.dtype });
      layers.push(glowStep(C, net, { rng: o.rng, dtype: o.dtype, lu: cfg.lu, scale: cfg.scale, image: true }));
    }
    levels.push(new Chain(layers));
    if (l < cfg.levels - 1) {
      const kept = Math.floor(C / 2);
      if (cfg.splitPriors) priors.push(new SplitPrior(kept, C - kept, { rng: o.rng, dtype: o.dtype }));
      C = kept;
    }
  }
  return new MultiScale(shape, levels, { priors });
}

export function buildMaf(cfg: MafConfig, shape: readonly number[], o: BuildOptions): Flow {
  const D = vectorDims(shape);
  const layers: Bijector[] = shape.length === 1 ? [] : imagePrefix(shape, cfg.logitAlpha);
  const Layer = cfg.kind === 'iaf' ? InverseAutoregressive : MaskedAffineAutoregressive;
  for (let i = 0; i < cfg.layers; i++) {
    const ordering = cfg.orderings === 'random' ? 'random' : i % 2 ? 'reverse' : 'natural';
    layers.push(new Layer(D, { hidden: cfg.hidden, ordering, activation: cfg.activation, rng: o.rng, dtype: o.dtype }));
    if (cfg.batchNorm && i < cfg.layers - 1) layers.push(new BatchNormFlow(D, { dtype: o.dtype }));
  }
  return new Flow(new StandardNormal([D], { dtype: o.dtype }), layers);
}

export function buildCnf(cfg: CnfConfig, shape: readonly number[], o: BuildOptions): Flow {
  if (shape.length !== 1) throw new Error(`CNF: only points [D] are supported (got ${shapeStr(shape)}); FFJORD's multi-scale image CNFs are not implemented`);
  const D = shape[0]!;
  const net = new OdeNet(D, { hidden: cfg.hidden, activation: cfg.activation, rng: o.rng, dtype: o.dtype });
  return new Flow(new StandardNormal([D], { dtype: o.dtype }), [new CNF(net, { T: cfg.T, trace: cfg.trace, solver: cfg.evalSolver })]);
}
