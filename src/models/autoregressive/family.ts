/**
 * The autoregressive families in the model registry: `fvsbn`, `nade`, `made` (binary vectors or
 * binarised images), `pixelcnn` and `pixelrnn` (Row LSTM; binary or grey images). Every one has the registry's verbs
 * (src/models/registry.ts):
 *   loss           mean negative log-likelihood in nats per example (exact)
 *   sample         ancestral sampling (sampler 'ancestral'), `temperature` divides the logits;
 *                  images come back in [−1, 1] ({−1, 1} for binary models)
 *   logLikelihood  exact log p(x) in nats per example (bound: false)
 * Bernoulli models see data in the model's space [−1, 1]: unless the config says `binarized`
 * (the values are already −1/1), every batch is binarised dynamically with p = (x + 1)/2, a
 * Bernoulli draw from the rng (Salakhutdinov & Murray 2008); evaluation scripts binarise the test
 * set once with a fixed seed and pass it as −1/1 with `binarized: true`, or call the models'
 * `logProb` on 0/1 data directly.
 */
import { type Tensor, type Generator, noGrad } from '../../core/index.ts';
import { bernoulli } from '../../core/rand.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions } from '../registry.ts';
import type { Module } from '../../nn/module.ts';
import type { MadeActivation } from '../../nn/made.ts';
import { FVSBN } from './fvsbn.ts';
import { NADE } from './nade.ts';
import { BernoulliMADE } from './made.ts';
import { PixelCNN } from './pixelcnn.ts';
import { PixelRNN } from './pixelrnn.ts';

interface BinaryConfig {
  /** The data are already binary (values −1/1); default false: binarise every batch dynamically. */
  binarized?: boolean;
}

/** FVSBN: no options beyond the binarisation. */
export type FvsbnConfig = BinaryConfig;

export interface NadeConfig extends BinaryConfig {
  /** Hidden units H shared by all conditionals (Larochelle & Murray: 500). */
  hidden: number;
}

export interface MadeConfig extends BinaryConfig {
  /** Hidden layer sizes (Germain et al.: [500]). */
  hidden: number[];
  /** Mask sets M cycled through in training and ensembled in the likelihood (1 = plain MADE). */
  masks: number;
  /** A random ordering per mask set (order-agnostic training). */
  orderAgnostic: boolean;
  /** Seed of the mask sets. */
  maskSeed: number;
  activation: MadeActivation;
}

export interface PixelcnnConfig extends BinaryConfig {
  /** 'gated' (van den Oord et al. 2016b, no blind spot) or 'pixelcnn' (masked convolutions). */
  arch: 'gated' | 'pixelcnn';
  /** 'bernoulli' (binarised images) or 'logistic-mixture' (grey levels, 256 levels; PixelCNN++). */
  output: 'bernoulli' | 'logistic-mixture';
  /** Channels of the masked layers. */
  hidden: number;
  /** Masked layers after the first. */
  layers: number;
  /** First (type A) kernel of the plain PixelCNN. */
  firstKernel: number;
  /** Kernel of the other masked layers. */
  kernel: number;
  /** Channels of the 1×1 output head. */
  outHidden: number;
  /** Logistics in the mixture ('logistic-mixture'). */
  mixtures: number;
  /** Condition on the class label (needs labelled data). */
  conditional: boolean;
}

export interface PixelrnnConfig extends BinaryConfig {
  /** 'bernoulli' (binarised images) or 'categorical' (a 256-way softmax over grey levels, one channel; Sec. 5.3). */
  output: 'bernoulli' | 'categorical';
  /** h: channels of the residual stream and of the Row LSTM states. */
  hidden: number;
  /** Row LSTM layers. */
  layers: number;
  /** Kernel of the first (type A) masked convolution. */
  firstKernel: number;
  /** Width of the input-to-state and state-to-state convolutions. */
  kernel: number;
  /** Channels of the 1×1 output head. */
  outHidden: number;
}

type Vec = FVSBN | NADE | BernoulliMADE;

const dims = (data: DataSpec) => data.shape.reduce((a, b) => a * b, 1);

/** [−1, 1] data → 0/1: as they are when `binarized`, else one Bernoulli draw with p = (x + 1)/2. */
function toBinary(x: Tensor, binarized: boolean | undefined, rng: Generator): Tensor {
  const p = x.add(1).div(2);
  return binarized ? p.round() : bernoulli(p.clamp(0, 1), null, { rng });
}

function checkData(name: string, data: DataSpec): void {
  if (!data.shape.length || data.shape.some((s) => !(Number.isInteger(s) && s >= 1))) throw new Error(`${name}: data.shape must be positive integers, got [${data.shape.join(', ')}]`);
}

function sampleOpts(name: string, opts: SampleOptions): number {
  if (opts.sampler && opts.sampler !== 'ancestral') throw new Error(`${name}: unknown sampler '${opts.sampler}' (ancestral)`);
  return opts.temperature ?? 1;
}

/** The three families of binary vectors share everything but the network. */
function vectorFamily<C extends BinaryConfig>(name: string, description: string, defaults: (d: DataSpec) => C, build: (c: C, D: number, rng: Generator) => Vec): Family<C> {
  const net = (m: Model<C>) => m.net as unknown as Vec;
  const flat = (x: Tensor) => x.reshape([x.shape[0]!, -1]);
  return {
    name,
    description,
    samplers: ['ancestral'],
    defaults,
    create(config: C, data: DataSpec, rng: Generator): Model<C> {
      checkData(name, data);
      return { family: name, config, data, net: build(config, dims(data), rng) as unknown as Module };
    },
    loss(model: Model<C>, batch: Batch, rng: Generator): Tensor {
      const m = net(model);
      // connectivity-/order-agnostic training: a mask set drawn for every batch
      if (m instanceof BernoulliMADE && m.masks > 1) m.useMask(rng.randint(1, 0, m.masks)[0]!);
      const x = flat(toBinary(batch.x, model.config.binarized, rng));
      return (m instanceof BernoulliMADE ? m.logProbCurrent(x) : m.logProb(x)).mean().neg();
    },
    sample(model: Model<C>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
      const T = sampleOpts(name, opts);
      return noGrad(() => net(model).sample(n, rng, { temperature: T }).mul(2).sub(1).reshape([n, ...model.data.shape]));
    },
    logLikelihood(model: Model<C>, batch: Batch, rng: Generator): { logLik: Tensor; bound: boolean } {
      return noGrad(() => ({ logLik: net(model).logProb(flat(toBinary(batch.x, model.config.binarized, rng))), bound: false }));
    },
  };
}

/** FVSBN (logistic regression on the previous variables). */
export const fvsbn: Family<FvsbnConfig> = vectorFamily<FvsbnConfig>(
  'fvsbn', 'FVSBN: fully visible sigmoid belief network, a logistic regression per variable (Frey 1998; Larochelle & Murray 2011)',
  () => ({ binarized: false }),
  (_c, D) => new FVSBN({ features: D }),
);

/** NADE (Larochelle & Murray 2011). */
export const nade: Family<NadeConfig> = vectorFamily<NadeConfig>(
  'nade', 'NADE: neural autoregressive distribution estimator with shared hidden weights, O(DH) (Larochelle & Murray 2011)',
  () => ({ hidden: 500, binarized: false }),
  (c, D, rng) => new NADE({ features: D, hidden: c.hidden, rng }),
);

/** MADE (Germain et al. 2015), with optional mask sets and order-agnostic training. */
export const made: Family<MadeConfig> = vectorFamily<MadeConfig>(
  'made', 'MADE: masked autoencoder for distribution estimation, order- and connectivity-agnostic training (Germain et al. 2015)',
  () => ({ hidden: [500], masks: 1, orderAgnostic: false, maskSeed: 0, activation: 'relu', binarized: false }),
  (c, D, rng) => new BernoulliMADE({ features: D, hidden: c.hidden, masks: c.masks, orderAgnostic: c.orderAgnostic, maskSeed: c.maskSeed, activation: c.activation, rng }),
);

/** Levels of grey images (8-bit). */
const LEVELS = 256;

/** PixelCNN / Gated PixelCNN over images [C, H, W]. */
export const pixelcnn: Family<PixelcnnConfig> = {
  name: 'pixelcnn',
  description: 'PixelCNN and Gated PixelCNN: masked convolutions, vertical/horizontal stacks, Bernoulli or discretised logistic mixture output (van den Oord et al. 2016; Salimans et al. 2017)',
  samplers: ['ancestral'],
  defaults: () => ({
    arch: 'gated', output: 'bernoulli', hidden: 64, layers: 6, firstKernel: 7, kernel: 3, outHidden: 64,
    mixtures: 5, conditional: false, binarized: false,
  }),
  create(config: PixelcnnConfig, data: DataSpec, rng: Generator): Model<PixelcnnConfig> {
    if (data.kind !== 'images' || data.shape.length !== 3) throw new Error(`pixelcnn: needs image data [C, H, W], got ${data.kind} [${data.shape.join(', ')}]`);
    if (config.output !== 'bernoulli' && config.output !== 'logistic-mixture') throw new Error(`pixelcnn: config.output must be 'bernoulli' or 'logistic-mixture', got '${String(config.output)}'`);
    if (config.conditional && !data.numClasses) throw new Error('pixelcnn: config.conditional needs labelled data (data.numClasses)');
    const net = new PixelCNN({
      arch: config.arch, output: config.output, inChannels: data.shape[0], hidden: config.hidden, layers: config.layers,
      firstKernel: config.firstKernel, kernel: config.kernel, outHidden: config.outHidden, mixtures: config.mixtures,
      levels: LEVELS, numLabels: config.conditional ? data.numClasses : 0, rng,
    });
    return { family: 'pixelcnn', config, data, net };
  },
  loss(model: Model<PixelcnnConfig>, batch: Batch, rng: Generator): Tensor {
    return pixelLogLik(model, batch, rng).mean().neg();
  },
  sample(model: Model<PixelcnnConfig>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
    const T = sampleOpts('pixelcnn', opts);
    const net = model.net as PixelCNN;
    if (model.config.conditional && !opts.classes) throw new Error('pixelcnn: this model is class-conditional; pass opts.classes (int32 [n])');
    const [, H, W] = model.data.shape as [number, number, number];
    const x = net.sample(n, [H, W], rng, { temperature: T, labels: model.config.conditional ? opts.classes : undefined });
    return noGrad(() => (net.output === 'bernoulli' ? x.mul(2).sub(1) : x));
  },
  logLikelihood(model: Model<PixelcnnConfig>, batch: Batch, rng: Generator): { logLik: Tensor; bound: boolean } {
    return noGrad(() => ({ logLik: pixelLogLik(model, batch, rng), bound: false }));
  },
};

/** log p(x) of a batch: binarised for Bernoulli output, snapped to the 256 levels for the mixture. */
function pixelLogLik(model: Model<PixelcnnConfig>, batch: Batch, rng: Generator): Tensor {
  const net = model.net as PixelCNN;
  const labels = model.config.conditional ? batch.y : undefined;
  if (model.config.conditional && !labels) throw new Error('pixelcnn: this model is class-conditional; the batch needs labels y');
  const x = net.output === 'bernoulli'
    ? toBinary(batch.x, model.config.binarized, rng)
    : batch.x.add(1).mul((LEVELS - 1) / 2).round().clamp(0, LEVELS - 1).mul(2 / (LEVELS - 1)).sub(1);
  return net.logProb(x, labels);
}

/** PixelRNN with Row LSTM layers over images [C, H, W]. */
export const pixelrnn: Family<PixelrnnConfig> = {
  name: 'pixelrnn',
  description: 'PixelRNN (Row LSTM): a type-A masked 7×7 convolution, then LSTM layers run row by row with masked 1×k input-to-state and 1×k state-to-state convolutions; Bernoulli or 256-way softmax output (van den Oord et al. 2016)',
  samplers: ['ancestral'],
  defaults: () => ({ output: 'bernoulli', hidden: 32, layers: 2, firstKernel: 7, kernel: 3, outHidden: 32, binarized: false }),
  create(config: PixelrnnConfig, data: DataSpec, rng: Generator): Model<PixelrnnConfig> {
    if (data.kind !== 'images' || data.shape.length !== 3) throw new Error(`pixelrnn: needs image data [C, H, W], got ${data.kind} [${data.shape.join(', ')}]`);
    if (config.output !== 'bernoulli' && config.output !== 'categorical') throw new Error(`pixelrnn: config.output must be 'bernoulli' or 'categorical', got '${String(config.output)}'`);
    if (config.output === 'categorical' && data.shape[0] !== 1) throw new Error(`pixelrnn: the categorical (256-way) output needs one channel, got ${data.shape[0]}`);
    const net = new PixelRNN({
      classes: config.output === 'categorical' ? LEVELS : undefined, inChannels: data.shape[0], hidden: config.hidden,
      layers: config.layers, firstKernel: config.firstKernel, kernel: config.kernel, outHidden: config.outHidden, rng,
    });
    return { family: 'pixelrnn', config, data, net };
  },
  loss(model: Model<PixelrnnConfig>, batch: Batch, rng: Generator): Tensor {
    return rnnLogLik(model, batch, rng).mean().neg();
  },
  sample(model: Model<PixelrnnConfig>, n: number, rng: Generator, opts: SampleOptions = {}): Tensor {
    const T = sampleOpts('pixelrnn', opts);
    const net = model.net as PixelRNN;
    const [, H, W] = model.data.shape as [number, number, number];
    const x = net.sample(n, [H, W], rng, { temperature: T });
    return noGrad(() => (net.output === 'bernoulli' ? x.mul(2).sub(1) : x.cast('float32').mul(2 / (LEVELS - 1)).sub(1).reshape([n, 1, H, W])));
  },
  logLikelihood(model: Model<PixelrnnConfig>, batch: Batch, rng: Generator): { logLik: Tensor; bound: boolean } {
    return noGrad(() => ({ logLik: rnnLogLik(model, batch, rng), bound: false }));
  },
};

/** log p(x) of a batch: binarised for Bernoulli output, the 256 grey levels as classes for the softmax. */
function rnnLogLik(model: Model<PixelrnnConfig>, batch: Batch, rng: Generator): Tensor {
  const net = model.net as PixelRNN;
  const x = net.output === 'bernoulli'
    ? toBinary(batch.x, model.config.binarized, rng)
    : batch.x.add(1).mul((LEVELS - 1) / 2).round().clamp(0, LEVELS - 1).cast('int32').squeeze(1);
  return net.logProb(x);
}

/** Every autoregressive family by name. */
export const autoregressiveFamilies = { fvsbn, nade, made, pixelcnn, pixelrnn } as const;
