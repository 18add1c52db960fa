/**
 * The `gan` family in the model registry: one family whose config picks the objective
 * (losses.ts: 'ns' | 'minimax' | 'wgan' | 'wgan-gp' | 'hinge' | 'lsgan' | 'f-gan' with a
 * divergence from divergences.ts) and the architecture (nets.ts: 'mlp' for points, 'dcgan' for
 * images). Training is adversarial, through the registry's optional `phases`: the trainer updates
 * the discriminator `nCritic` times, then the generator once, each with its own learning rate
 * (TTUR, Heusel et al. 2017) and Adam betas; the run's EMA of the weights gives the averaged
 * generator (Yazıcı et al. 2019) used for sampling. `loss` alone reports the generator's loss.
 *
 * Paper settings (`ganDefaults(data, loss)`): DCGAN — Adam lr 2e-4, β = (0.5, 0.999), n_critic 1;
 * WGAN — RMSprop-like small lr 5e-5, clip c = 0.01, n_critic 5 (here Adam with β₁ = 0);
 * WGAN-GP — lr 1e-4, β = (0, 0.9), n_critic 5, λ = 10, no BatchNorm in the critic.
 */
import { type Tensor, type Generator, noGrad, randn, randint } from '../../core/index.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions, TrainingPhase } from '../registry.ts';
import { type DivergenceName, F_DIVERGENCES, fDivergence } from './divergences.ts';
import { type GanLossName, GAN_LOSSES, discriminatorLoss, generatorLoss, gradientPenalty, clipWeights } from './losses.ts';
import { GanNet, MlpGenerator, MlpDiscriminator, DcganGenerator, DcganDiscriminator, type DiscriminatorNorm } from './nets.ts';

export interface GanConfig {
  /** 'mlp' (points) or 'dcgan' (images). */
  arch: 'mlp' | 'dcgan';
  /** The adversarial objective. */
  loss: GanLossName;
  /** For loss 'f-gan': the f-divergence (Table 2 of Nowozin et al. 2016). */
  divergence: DivergenceName;
  /** Latent dimension; z ~ N(0, I). */
  zDim: number;
  /** mlp: hidden widths of G and D. */
  hidden: number[];
  /** mlp: BatchNorm after G's hidden layers. */
  batchNorm: boolean;
  /** dcgan: base channel counts of G and D. */
  ngf: number;
  ndf: number;
  /** dcgan: normalisation in D ('batch' as DCGAN; 'layer' or 'none' for WGAN-GP, whose penalty is per example). */
  dNorm: DiscriminatorNorm;
  /** Spectral normalisation of every layer of D (Miyato et al. 2018). */
  spectralNorm: boolean;
  /** Self-modulated BatchNorm in G (Chen et al. 2019). */
  selfModulation: boolean;
  /** Condition G and D on the class label (needs labelled data). */
  conditional: boolean;
  /** Discriminator updates per generator update. */
  nCritic: number;
  /** Learning rates of G and D (two time-scale update rule when they differ). */
  lrG: number;
  lrD: number;
  /** Adam betas of both players. */
  betas: [number, number];
  /** WGAN-GP: weight λ of the gradient penalty. */
  gpWeight: number;
  /** WGAN: clip D's weights to [−c, c] after each update. */
  clip: number;
}

/** The paper settings for an objective (see the module comment). */
export function ganDefaults(data: DataSpec, loss: GanLossName = 'ns', divergence: DivergenceName = 'jensen-shannon'): GanConfig {
  const images = data.kind === 'images';
  const wgan = loss === 'wgan' || loss === 'wgan-gp';
  return {
    arch: images ? 'dcgan' : 'mlp',
    loss,
    divergence,
    zDim: images ? 64 : 2,
    hidden: [128, 128, 128],
    batchNorm: false,
    ngf: 32,
    ndf: 32,
    dNorm: loss === 'wgan-gp' ? 'layer' : wgan ? 'none' : 'batch',
    spectralNorm: false,
    selfModulation: false,
    conditional: false,
    nCritic: wgan ? 5 : 1,
    lrG: loss === 'wgan' ? 5e-5 : wgan ? 1e-4 : 2e-4,
    lrD: loss === 'wgan' ? 5e-5 : wgan ? 1e-4 : 2e-4,
    betas: loss === 'wgan-gp' ? [0, 0.9] : loss === 'wgan' ? [0, 0.999] : [0.5, 0.999],
    gpWeight: 10,
    clip: 0.01,
  };
}

function check(c: GanConfig, data: DataSpec): void {
  const bad = (field: string, expected: string, got: unknown) => new Error(`gan config: '${field}' must be ${expected}, got ${JSON.stringify(got)}`);
  if (!GAN_LOSSES.includes(c.loss)) throw bad('loss', `one of ${GAN_LOSSES.join(', ')}`, c.loss);
  if (c.loss === 'f-gan' && !Object.hasOwn(F_DIVERGENCES, c.divergence)) throw bad('divergence', `one of ${Object.keys(F_DIVERGENCES).join(', ')}`, c.divergence);
  if (c.arch !== 'mlp' && c.arch !== 'dcgan') throw bad('arch', "'mlp' or 'dcgan'", c.arch);
  if (c.arch === 'dcgan' && data.kind !== 'images') throw bad('arch', "'mlp' for points data", c.arch);
  if (!['batch', 'layer', 'none'].includes(c.dNorm)) throw bad('dNorm', "'batch', 'layer' or 'none'", c.dNorm);
  for (const f of ['zDim', 'nCritic', 'ngf', 'ndf'] as const) if (!Number.isInteger(c[f]) || c[f] < 1) throw bad(f, 'a positive integer', c[f]);
  for (const f of ['lrG', 'lrD'] as const) if (!(c[f] > 0)) throw bad(f, 'a positive number', c[f]);
  if (!Array.isArray(c.betas) || c.betas.length !== 2 || c.betas.some((b) => !(b >= 0 && b < 1))) throw bad('betas', 'two numbers in [0, 1)', c.betas);
  if (c.conditional && !(data.numClasses && data.numClasses > 1)) throw bad('conditional', 'false for data without class labels (data.numClasses)', c.conditional);
  if (c.loss === 'wgan-gp' && c.dNorm === 'batch') throw bad('dNorm', "'layer' or 'none' with wgan-gp (the penalty is per example; Gulrajani et al. §4)", c.dNorm);
}

export type GanModel = Model<GanConfig> & { readonly net: GanNet };

const netOf = (m: Model<GanConfig>) => (m as GanModel).net;
const flatDim = (d: DataSpec) => d.shape.reduce((a, b) => a * b, 1);

/** Latents (and class labels for a conditional model) for n samples. */
function latents(model: Model<GanConfig>, n: number, rng: Generator, classes?: Tensor): { z: Tensor; y?: Tensor } {
  const z = randn([n, model.config.zDim], { rng });
  if (!model.config.conditional) return { z };
  return { z, y: classes ?? randint(0, model.data.numClasses!, [n], { rng, dtype: 'int32' }) };
}

/** G(z) in data shape. */
function generate(model: Model<GanConfig>, n: number, rng: Generator, classes?: Tensor): { x: Tensor; y?: Tensor } {
  const { z, y } = latents(model, n, rng, classes);
  const out = netOf(model).generator.forward(z, y);
  return { x: out.reshape([n, ...model.data.shape]), y };
}

function critic(model: Model<GanConfig>, x: Tensor, y?: Tensor): Tensor {
  const d = netOf(model).discriminator;
  return d.forward(model.config.arch === 'mlp' ? x.reshape([x.shape[0]!, -1]) : x, y);
}

const labels = (model: Model<GanConfig>, batch: Batch) => (model.config.conditional ? batch.y : undefined);

/** The discriminator's loss on a batch (fakes detached; WGAN-GP adds the gradient penalty). */
export function ganDiscriminatorLoss(model: Model<GanConfig>, batch: Batch, rng: Generator): Tensor {
  const c = model.config, n = batch.x.shape[0]!, y = labels(model, batch);
  const fake = noGrad(() => generate(model, n, rng, y).x);
  const div = c.loss === 'f-gan' ? fDivergence(c.divergence) : undefined;
  const loss = discriminatorLoss(c.loss, critic(model, batch.x, y), critic(model, fake, y), div);
  if (c.loss !== 'wgan-gp') return loss;
  return loss.add(gradientPenalty((xh) => critic(model, xh, y), batch.x, fake, { rng, weight: c.gpWeight }));
}

/** The generator's loss on a fresh batch of latents (the batch gives its size and labels). */
export function ganGeneratorLoss(model: Model<GanConfig>, batch: Batch, rng: Generator): Tensor {
  const c = model.config, n = batch.x.shape[0]!, y = labels(model, batch);
  const { x } = generate(model, n, rng, y);
  return generatorLoss(c.loss, critic(model, x, y), c.loss === 'f-gan' ? fDivergence(c.divergence) : undefined);
}

export const ganFamily: Family<GanConfig> = {
  name: 'gan',
  description: 'GANs: minimax / non-saturating, WGAN (clipping, GP), hinge, LSGAN, f-GAN; MLP or DCGAN nets, spectral norm, conditional, self-modulation',
  samplers: ['generator'],
  defaults: (data) => ganDefaults(data),
  create(config: GanConfig, data: DataSpec, rng: Generator): GanModel {
    const c = { ...ganDefaults(data, config.loss, config.divergence), ...config };
    check(c, data);
    const numClasses = c.conditional ? data.numClasses : 0;
    const [gRng, dRng] = rng.split(2);
    const net = c.arch === 'mlp'
      ? new GanNet(
        new MlpGenerator(flatDim(data), c.hidden, { rng: gRng!, zDim: c.zDim, numClasses, selfModulation: c.selfModulation, batchNorm: c.batchNorm }),
        new MlpDiscriminator(flatDim(data), c.hidden, { rng: dRng!, numClasses, spectralNorm: c.spectralNorm }))
      : new GanNet(
        new DcganGenerator(data.shape, { rng: gRng!, zDim: c.zDim, ngf: c.ngf, numClasses, selfModulation: c.selfModulation }),
        new DcganDiscriminator(data.shape, { rng: dRng!, ndf: c.ndf, norm: c.dNorm, numClasses, spectralNorm: c.spectralNorm }));
    return { family: 'gan', config: c, data, net };
  },
  loss: ganGeneratorLoss,
  phases(model: Model<GanConfig>): readonly TrainingPhase<GanConfig>[] {
    const c = model.config, net = netOf(model);
    const dParams = net.discriminator.parameters();
    return [
      {
        name: 'discriminator', params: dParams, repeat: c.nCritic, lr: c.lrD, betas: c.betas,
        loss: ganDiscriminatorLoss,
        ...(c.loss === 'wgan' ? { afterStep: () => clipWeights(dParams, c.clip) } : {}),
      },
      { name: 'generator', params: net.generator.parameters(), repeat: 1, lr: c.lrG, betas: c.betas, loss: ganGeneratorLoss },
    ];
  },
  sample(model: Model<GanConfig>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
    if (opts.sampler && opts.sampler !== 'generator') throw new Error(`gan: unknown sampler '${opts.sampler}' (generator)`);
    return noGrad(() => generate(model, n, rng, opts.classes).x);
  },
};
