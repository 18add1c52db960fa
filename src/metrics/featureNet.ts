/**
 * The feature network behind FID, KID, Inception Score and precision/recall on 28×28 grey images.
 *
 * Why not Inception-v3: its weights cannot be downloaded here (no network but package
 * registries), and FID on Inception features means little for 28×28 grey digits and clothes
 * anyway — the images must be upscaled to 299×299 and copied into three channels, and the
 * ImageNet features then describe resampling artefacts as much as content. genlab instead ships a
 * small classifier trained on each data set (MNIST, Fashion-MNIST: one architecture, separate
 * weights, in `src/metrics/weights/`), trained by `scripts/train-feature-net.ts`. Its numbers are
 * comparable only with numbers computed on the same network (same weights hash): never compare
 * them with FIDs from papers. Any other network can be plugged in through {@link FeatureNet}.
 */
import { type Tensor, Generator } from '../core/index.ts';
import { Module } from '../nn/module.ts';
import { Sequential, Conv2d, BatchNorm2d, BatchNorm1d, ReLU, Flatten, Linear } from '../nn/layers/index.ts';
import { shapeStr } from '../core/shape.ts';

/**
 * What the image metrics need of a network: features (FID, KID, precision/recall) and class
 * logits (Inception Score). Inputs are images [N, C, H, W] (or [N, H·W] for one grey channel)
 * with pixel values in [0, 1].
 */
export interface FeatureNet {
  /** Names the network and its weights; part of the reference-statistics cache key. */
  readonly id: string;
  /** D, the length of a feature vector. */
  readonly featureDim: number;
  /** K, the number of classes (Inception Score). */
  readonly numClasses: number;
  /** [N, D] features. */
  features(x: Tensor): Tensor;
  /** [N, K] class logits. */
  logits(x: Tensor): Tensor;
  /** Both from one forward pass (optional: the metrics use it when present). */
  featuresAndLogits?(x: Tensor): { features: Tensor; logits: Tensor };
}

/** Options of {@link ConvFeatureNet} (saved in the weights' card). */
export interface ConvFeatureNetOptions {
  /** Output classes. Default 10. */
  numClasses?: number;
  /** Length of the penultimate feature vector. Default 128. */
  featureDim?: number;
  /** Names the weights (the metrics' cache key). Default 'conv-feature-net'. */
  id?: string;
  /** Initialisation (default Generator(0)). */
  rng?: Generator;
}

/**
 * A small conv net for 28×28 grey images:
 *
 *   conv 1→32 5×5 stride 2 pad 2, BN, ReLU      → 32×14×14
 *   conv 32→64 3×3 stride 2 pad 1, BN, ReLU     → 64×7×7
 *   conv 64→64 3×3 stride 2 pad 1, BN, ReLU     → 64×4×4
 *   flatten, linear 1024→128, BN, ReLU          → the 128-d feature
 *   linear 128→10                               → logits
 *
 * Strided convolutions rather than max-pooling keep the activations (and so the reference
 * backend's time per step) small. State-dict keys are PyTorch's for the same `nn.Sequential`s
 * (`body.0.weight`, …, `head.weight`). Inputs are in [0, 1]; they are shifted to [-1, 1] first.
 */
export class ConvFeatureNet extends Module implements FeatureNet {
  readonly body: Sequential;
  readonly head: Linear;
  readonly id: string;
  readonly featureDim: number;
  readonly numClasses: number;

  constructor(opts: ConvFeatureNetOptions = {}) {
    super();
    // weights loaded afterwards make the initialisation irrelevant; a fixed seed keeps it deterministic
    const rng = opts.rng ?? new Generator(0);
    const D = (this.featureDim = opts.featureDim ?? 128);
    const K = (this.numClasses = opts.numClasses ?? 10);
    this.id = opts.id ?? 'conv-feature-net';
    this.body = new Sequential(
      new Conv2d(1, 32, 5, { stride: 2, padding: 2, rng }), new BatchNorm2d(32), new ReLU(),
      new Conv2d(32, 64, 3, { stride: 2, padding: 1, rng }), new BatchNorm2d(64), new ReLU(),
      new Conv2d(64, 64, 3, { stride: 2, padding: 1, rng }), new BatchNorm2d(64), new ReLU(),
      new Flatten(), new Linear(64 * 4 * 4, D, { rng }), new BatchNorm1d(D), new ReLU(),
    );
    this.head = new Linear(D, K, { rng });
  }

  /** [N, 1, 28, 28] or [N, 784] in [0, 1] → [N, 1, 28, 28] in [-1, 1]. */
  private prepare(x: Tensor): Tensor {
    const img = x.ndim === 2 && x.shape[1] === 784 ? x.reshape([x.shape[0]!, 1, 28, 28]) : x;
    if (img.ndim !== 4 || img.shape[1] !== 1 || img.shape[2] !== 28 || img.shape[3] !== 28) {
      throw new Error(`ConvFeatureNet: expected grey 28×28 images [N, 1, 28, 28] or [N, 784] in [0, 1], got ${shapeStr(x.shape)}`);
    }
    return img.mul(2).sub(1);
  }

  features(x: Tensor): Tensor {
    return this.body.forward(this.prepare(x));
  }
  logits(x: Tensor): Tensor {
    return this.head.forward(this.features(x));
  }
  featuresAndLogits(x: Tensor): { features: Tensor; logits: Tensor } {
    const features = this.features(x);
    return { features, logits: this.head.forward(features) };
  }
  forward(x: Tensor): Tensor {
    return this.logits(x);
  }
}
