/**
 * The networks F inside the diffusion framework's preconditioning wrappers (`../precond.ts`):
 * a time-conditioned MLP for points and a DDPM/ADM U-Net for images, both `forward(x, cNoise, cond?)`
 * and so usable as a `NoiseNet`. `createNet` builds one from a JSON config and the data's shape;
 * `net.config` holds every option resolved, which is what a checkpoint's config.json stores.
 *
 * ```ts
 * import { Generator, randn, tensor, noGrad } from 'genlab';
 * import { createNet } from 'genlab/diffusion';
 *
 * const rng = new Generator(0);
 * const net = createNet({ kind: 'unet', channels: 8, channelMult: [1, 2], numResBlocks: 1, numHeads: 2 },
 *   { kind: 'images', shape: [1, 8, 8], numClasses: 10 }, rng);
 * const x = randn([2, 1, 8, 8], { rng });
 * const y = noGrad(() => net.forward(x, tensor([0.1, 2.5]), { classes: tensor([3, -1], { dtype: 'int32' }) }));
 * console.log(y.shape); // [2, 1, 8, 8]; label −1 is the null class of classifier-free guidance
 * ```
 */
import type { Generator } from '../../../core/index.ts';
import type { DataSpec } from '../../registry.ts';
import { MlpNet, type MlpOptions } from './mlp.ts';
import { UNet, type UNetOptions } from './unet.ts';

export { MlpNet, resolveMlpOptions, type MlpOptions, type MlpConfig } from './mlp.ts';
export { UNet, ResBlock, AttnBlock, Downsample, Upsample, DownStage, UpStage, MidStage, resolveUNetOptions, stageResolutions, type UNetOptions, type UNetConfig } from './unet.ts';
export { NoiseEmbedding, FourierFeatures, positionalEmbedding, classIndices, type NoiseFeatures, type Activation } from './embedding.ts';

/**
 * A network config as JSON. Fields the data decide are optional here and filled from the DataSpec:
 * `dataDim` (MLP: the product of the item shape), `inChannels` and `resolution` (U-Net: C and H of
 * [C, H, W]), `outChannels` (U-Net: inChannels) and `numClasses` (the data's class count, so
 * labelled data give a class-conditional net unless the config says `numClasses: 0`). Every other
 * field and its default is documented on MlpOptions (mlp.ts) and UNetOptions (unet.ts).
 */
export type NetConfig =
  | ({ kind: 'mlp' } & Partial<MlpOptions>)
  | ({ kind: 'unet' } & Partial<UNetOptions>);

export type DiffusionNet = MlpNet | UNet;

/** Build the network a config names ('mlp' or 'unet') for data of the given shape. */
export function createNet(config: NetConfig, data: DataSpec, rng: Generator, opts: { dtype?: 'float32' | 'float64' } = {}): DiffusionNet {
  const numClasses = config.numClasses ?? data.numClasses ?? 0;
  if (config.kind === 'mlp') {
    const { kind: _kind, ...rest } = config;
    const dataDim = rest.dataDim ?? data.shape.reduce((a, b) => a * b, 1);
    return new MlpNet({ ...rest, dataDim, numClasses }, { rng, dtype: opts.dtype });
  }
  if (config.kind === 'unet') {
    if (data.shape.length !== 3) throw new Error(`createNet: a U-Net needs images [C, H, W], got data of shape [${data.shape.join(', ')}]`);
    const { kind: _kind, ...rest } = config;
    const inChannels = rest.inChannels ?? data.shape[0]!;
    return new UNet({ ...rest, inChannels, resolution: rest.resolution ?? data.shape[1]!, numClasses }, { rng, dtype: opts.dtype });
  }
  throw new Error(`createNet: unknown network kind '${(config as { kind: string }).kind}' (expected 'mlp' or 'unet')`);
}
