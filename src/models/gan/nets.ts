/**
 * Generator and discriminator networks.
 *
 *   MLP     G: z → [Linear, ReLU]×k → Linear (points);  D: x → [Linear, LeakyReLU(0.2)]×k → Linear
 *   DCGAN   Radford, Metz & Chintala (2016), §3 guidelines, sized for small images (H = W divisible
 *           by 4; 28×28 MNIST: project z to 2·ngf×7×7, two stride-2 4×4 transposed convolutions
 *           to 14×14 and 28×28, BatchNorm + ReLU in G and tanh at the output; D mirrors it with
 *           stride-2 4×4 convolutions and LeakyReLU(0.2), a normalisation chosen by `dNorm`
 *           (BatchNorm as DCGAN, LayerNorm-like GroupNorm(1) for WGAN-GP, §4 of Gulrajani et al.,
 *           or none) and a linear head.
 *
 * Options shared by both: spectral normalisation of every D layer (Miyato et al. 2018, see
 * src/nn/layers/spectral_norm.ts); class conditioning — G concatenates a learned class embedding
 * to z (Mirza & Osindero 2014), D adds the projection term ⟨embed(y), φ(x)⟩ (Miyato & Koyama 2018);
 * self-modulated batch norm in G (Chen, Lucic, Houlsby & Gelly 2019): each BatchNorm's scale and
 * shift are functions of z, h ← γ(z)·BN(h) + β(z), γ(z) = 1 + MLP(z), β(z) = MLP(z).
 */
import { type Tensor, type Generator, concat } from '../../core/index.ts';
import { Module } from '../../nn/module.ts';
import {
  Linear, Conv2d, ConvTranspose2d, BatchNorm1d, BatchNorm2d, GroupNorm, Embedding, ModuleList,
  SpectralNorm, type WeightedLayer,
} from '../../nn/layers/index.ts';

/** Wrap a layer in spectral normalisation when `on`. */
function maybeSN(layer: WeightedLayer, on: boolean, rng: Generator): WeightedLayer {
  return on ? new SpectralNorm(layer, { rng }) as unknown as WeightedLayer : layer;
}

/**
 * Self-modulated batch norm (Chen et al. 2019, Eq. 2): BN without its own affine parameters,
 * then γ(z)·BN(h) + β(z) with γ = 1 + W_γ·relu(W₁z), β = W_β·relu(W₁z) (one hidden layer).
 */
export class SelfModulatedBatchNorm extends Module {
  readonly bn: BatchNorm1d | BatchNorm2d;
  readonly hidden: Linear;
  readonly gamma: Linear;
  readonly beta: Linear;

  constructor(numFeatures: number, zDim: number, spatial: boolean, opts: { rng: Generator; hidden?: number }) {
    super();
    const h = opts.hidden ?? 32;
    this.bn = spatial ? new BatchNorm2d(numFeatures, { affine: false }) : new BatchNorm1d(numFeatures, { affine: false });
    this.hidden = new Linear(zDim, h, { rng: opts.rng });
    this.gamma = new Linear(h, numFeatures, { rng: opts.rng });
    this.beta = new Linear(h, numFeatures, { rng: opts.rng });
  }

  forward(x: Tensor, z: Tensor): Tensor {
    const n = x.shape[0]!, c = x.shape[1]!;
    const e = this.hidden.forward(z).relu();
    const shape = [n, c, ...x.shape.slice(2).map(() => 1)];
    const g = this.gamma.forward(e).add(1).reshape(shape), b = this.beta.forward(e).reshape(shape);
    return this.bn.forward(x).mul(g).add(b);
  }
}

/** A normalisation applied to (h, z): plain BatchNorm ignores z. */
type Norm = SelfModulatedBatchNorm | BatchNorm1d | BatchNorm2d;
const applyNorm = (m: Norm, h: Tensor, z: Tensor) => (m instanceof SelfModulatedBatchNorm ? m.forward(h, z) : m.forward(h));

export interface GeneratorOptions {
  rng: Generator;
  /** Latent dimension. */
  zDim: number;
  /** Number of classes for a conditional generator (0 = unconditional). */
  numClasses?: number;
  /** Self-modulated batch norm instead of BatchNorm (Chen et al. 2019). */
  selfModulation?: boolean;
}

/** Concatenate the class embedding to z (conditional models). */
function condition(z: Tensor, embed: Embedding | null, y: Tensor | undefined, who: string): Tensor {
  if (!embed) return z;
  if (!y) throw new Error(`${who}: a conditional model needs class labels (batch.y or opts.classes)`);
  return concat([z, embed.forward(y)], 1);
}

/** An MLP generator z → x ∈ ℝ^outDim, with optional BatchNorm (or self-modulation) after each hidden layer. */
export class MlpGenerator extends Module {
  readonly layers: ModuleList<Linear>;
  readonly norms: ModuleList<Norm> | null;
  readonly embed: Embedding | null;
  readonly zDim: number;

  constructor(outDim: number, hidden: readonly number[], opts: GeneratorOptions & { batchNorm?: boolean }) {
    super();
    const k = opts.numClasses ?? 0;
    const emb = k > 0 ? Math.min(opts.zDim, 16) : 0;
    const widths = [opts.zDim + emb, ...hidden, outDim];
    this.layers = new ModuleList(widths.slice(1).map((w, i) => new Linear(widths[i]!, w, { rng: opts.rng })));
    const norm = opts.batchNorm || opts.selfModulation;
    this.norms = norm ? new ModuleList<Norm>(hidden.map((w) => (opts.selfModulation ? new SelfModulatedBatchNorm(w, opts.zDim, false, { rng: opts.rng }) : new BatchNorm1d(w)))) : null;
    this.embed = k > 0 ? new Embedding(k, emb, { rng: opts.rng }) : null;
    this.zDim = opts.zDim;
  }

  forward(z: Tensor, y?: Tensor): Tensor {
    let h = condition(z, this.embed, y, 'MlpGenerator');
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      h = this.layers[i]!.forward(h);
      if (i < n - 1) {
        if (this.norms) h = applyNorm(this.norms[i]!, h, z);
        h = h.relu();
      }
    }
    return h;
  }
}

export interface DiscriminatorOptions {
  rng: Generator;
  numClasses?: number;
  /** Spectral normalisation of every layer (Miyato et al. 2018). */
  spectralNorm?: boolean;
}

/** Projection-discriminator head: ψ(φ) + ⟨embed(y), φ⟩ (Miyato & Koyama 2018, Eq. 3). */
function project(out: Tensor, phi: Tensor, embed: Embedding | null, y: Tensor | undefined, who: string): Tensor {
  if (!embed) return out;
  if (!y) throw new Error(`${who}: a conditional model needs class labels (batch.y)`);
  return out.add(embed.forward(y).mul(phi).sum(1, true));
}

/** An MLP critic x → ℝ (raw logit / score), LeakyReLU(0.2) between layers. */
export class MlpDiscriminator extends Module {
  readonly layers: ModuleList<WeightedLayer>;
  readonly embed: Embedding | null;

  constructor(inDim: number, hidden: readonly number[], opts: DiscriminatorOptions) {
    super();
    const widths = [inDim, ...hidden, 1];
    const sn = opts.spectralNorm ?? false;
    this.layers = new ModuleList(widths.slice(1).map((w, i) => maybeSN(new Linear(widths[i]!, w, { rng: opts.rng }), sn, opts.rng)));
    const k = opts.numClasses ?? 0;
    this.embed = k > 0 ? new Embedding(k, hidden[hidden.length - 1] ?? inDim, { rng: opts.rng }) : null;
  }

  forward(x: Tensor, y?: Tensor): Tensor {
    let h = x;
    const n = this.layers.length;
    for (let i = 0; i < n - 1; i++) h = this.layers[i]!.forward(h).leakyRelu(0.2);
    return project(this.layers[n - 1]!.forward(h), h, this.embed, y, 'MlpDiscriminator').squeeze(1);
  }
}

function checkImage(shape: readonly number[], who: string): [number, number, number] {
  const [c, h, w] = shape as [number, number, number];
  if (shape.length !== 3 || h !== w || h % 4 !== 0) throw new Error(`${who}: expected square images [C, H, W] with H divisible by 4, got [${shape.join(', ')}]`);
  return [c, h, w];
}

/** DCGAN generator for [C, H, H] images, H = 4s: z → 2ngf×s×s → ngf×2s×2s → C×4s×4s, tanh. */
export class DcganGenerator extends Module {
  readonly project: Linear;
  readonly norm0: Norm;
  readonly up1: ConvTranspose2d;
  readonly norm1: Norm;
  readonly up2: ConvTranspose2d;
  readonly embed: Embedding | null;
  readonly zDim: number;
  private readonly s: number;
  private readonly ngf: number;

  constructor(imageShape: readonly number[], opts: GeneratorOptions & { ngf: number }) {
    super();
    const [c, h] = checkImage(imageShape, 'DcganGenerator');
    const s = h / 4, ngf = opts.ngf, k = opts.numClasses ?? 0;
    const emb = k > 0 ? Math.min(opts.zDim, 16) : 0;
    const sm = opts.selfModulation ?? false;
    this.project = new Linear(opts.zDim + emb, 2 * ngf * s * s, { rng: opts.rng });
    this.norm0 = sm ? new SelfModulatedBatchNorm(2 * ngf, opts.zDim, true, { rng: opts.rng }) : new BatchNorm2d(2 * ngf);
    this.up1 = new ConvTranspose2d(2 * ngf, ngf, 4, { rng: opts.rng, stride: 2, padding: 1 });
    this.norm1 = sm ? new SelfModulatedBatchNorm(ngf, opts.zDim, true, { rng: opts.rng }) : new BatchNorm2d(ngf);
    this.up2 = new ConvTranspose2d(ngf, c, 4, { rng: opts.rng, stride: 2, padding: 1 });
    this.embed = k > 0 ? new Embedding(k, emb, { rng: opts.rng }) : null;
    this.zDim = opts.zDim;
    this.s = s;
    this.ngf = ngf;
  }

  forward(z: Tensor, y?: Tensor): Tensor {
    const n = z.shape[0]!;
    let h = this.project.forward(condition(z, this.embed, y, 'DcganGenerator')).reshape([n, 2 * this.ngf, this.s, this.s]);
    h = applyNorm(this.norm0, h, z).relu();
    h = applyNorm(this.norm1, this.up1.forward(h), z).relu();
    return this.up2.forward(h).tanh();
  }
}

export type DiscriminatorNorm = 'batch' | 'layer' | 'none';

/** DCGAN discriminator for [C, H, H] images: two stride-2 4×4 convolutions with LeakyReLU(0.2), a linear head. */
export class DcganDiscriminator extends Module {
  readonly conv1: WeightedLayer;
  readonly conv2: WeightedLayer;
  readonly norm: BatchNorm2d | GroupNorm | null;
  readonly head: WeightedLayer;
  readonly embed: Embedding | null;

  constructor(imageShape: readonly number[], opts: DiscriminatorOptions & { ndf: number; norm: DiscriminatorNorm }) {
    super();
    const [c, h] = checkImage(imageShape, 'DcganDiscriminator');
    const s = h / 4, ndf = opts.ndf, sn = opts.spectralNorm ?? false;
    this.conv1 = maybeSN(new Conv2d(c, ndf, 4, { rng: opts.rng, stride: 2, padding: 1 }), sn, opts.rng);
    this.conv2 = maybeSN(new Conv2d(ndf, 2 * ndf, 4, { rng: opts.rng, stride: 2, padding: 1 }), sn, opts.rng);
    this.norm = opts.norm === 'batch' ? new BatchNorm2d(2 * ndf) : opts.norm === 'layer' ? new GroupNorm(1, 2 * ndf) : null;
    this.head = maybeSN(new Linear(2 * ndf * s * s, 1, { rng: opts.rng }), sn, opts.rng);
    const k = opts.numClasses ?? 0;
    this.embed = k > 0 ? new Embedding(k, 2 * ndf * s * s, { rng: opts.rng }) : null;
  }

  forward(x: Tensor, y?: Tensor): Tensor {
    let h = this.conv1.forward(x).leakyRelu(0.2);
    h = this.conv2.forward(h);
    if (this.norm) h = this.norm.forward(h);
    const phi = h.leakyRelu(0.2).flatten(1);
    return project(this.head.forward(phi), phi, this.embed, y, 'DcganDiscriminator').squeeze(1);
  }
}

/** What a GAN model's `net` is: both players in one Module (state-dict keys `generator.*`, `discriminator.*`). */
export class GanNet extends Module {
  constructor(readonly generator: MlpGenerator | DcganGenerator, readonly discriminator: MlpDiscriminator | DcganDiscriminator) {
    super();
  }
  /** G(z, y). */
  forward(z: Tensor, y?: Tensor): Tensor {
    return this.generator.forward(z, y);
  }
}
