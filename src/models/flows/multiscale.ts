/**
 * The multi-scale architecture of RealNVP (Dinh et al. 2017, Sec. 3.6) and Glow (Kingma & Dhariwal
 * 2018, Sec. 3 and Fig. 2b): at each scale a chain of bijectors (squeezes, couplings, steps of flow)
 * runs, then half of the channels is factored out straight into the latent and only the other half
 * goes on to the next scale. The latent is all factored-out parts and the last scale's output,
 * flattened and concatenated: [N, C·H·W].
 *
 * Glow models the factored-out half with a learned prior conditioned on the kept half ("split
 * priors", openai/glow `split2d`): z₂ ~ N(μ(z₁), σ(z₁)²). Here that prior is the bijector
 * ε = (z₂ − μ(z₁)) / σ(z₁) followed by the flow's standard normal base, which is the same density,
 * and sampling at temperature T (ε ~ N(0, T²)) gives z₂ ~ N(μ, (Tσ)²) as in Glow.
 */
import { type Tensor, type Generator, concat } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import { Bijector, Chain, type BijectorCallOptions, type ForwardResult, type InverseResult, sumEvent, layerScope } from './bijector.ts';
import { ZeroConv2d } from './nets.ts';

/**
 * Glow's split prior as a conditional bijector on the factored-out half z₂ [N, C₂, H, W], with the
 * kept half z₁ [N, C₁, H, W] as context: [μ, log σ] = ZeroConv3×3(z₁) (initially N(0, I)),
 *   forward: ε = (z₂ − μ) ⊙ exp(−log σ),  log|det| = −Σ log σ.
 */
export class SplitPrior extends Bijector {
  readonly conv: ZeroConv2d;
  constructor(keptChannels: number, outChannels: number, opts: { rng: Generator; dtype?: 'float32' | 'float64' }) {
    super();
    this.conv = new ZeroConv2d(keptChannels, 2 * outChannels, opts);
  }
  private params(ctx: Tensor | null | undefined): [Tensor, Tensor] {
    if (!ctx) throw new Error('SplitPrior: the kept half must be given as the context');
    return this.conv.forward(ctx).chunk(2, 1) as [Tensor, Tensor];
  }
  forward(z: Tensor, ctx?: Tensor | null): ForwardResult {
    const [mean, logs] = this.params(ctx);
    return { y: z.sub(mean).mul(logs.neg().exp()), logDet: sumEvent(logs).neg() };
  }
  inverse(eps: Tensor, ctx?: Tensor | null): InverseResult {
    const [mean, logs] = this.params(ctx);
    return { x: eps.mul(logs.exp()).add(mean), logDet: sumEvent(logs) };
  }
}

export interface LevelShapes {
  /** Shape after the level's chain. */
  out: number[];
  /** Channels kept for the next level (the first ⌊C/2⌋), and factored out (the rest). */
  kept: number[];
  factored: number[];
}

/**
 * Levels of bijectors on images [N, C, H, W] with factoring-out between them (see the module
 * comment). `priors` (one per level but the last) are Glow's split priors; without them the
 * factored-out half goes to the base unchanged, as in RealNVP. Levels receive the flow's context.
 */
export class MultiScale extends Bijector {
  readonly levels: ModuleList<Chain>;
  readonly priors: ModuleList<SplitPrior>;
  readonly inShape: readonly number[];
  readonly shapes: readonly LevelShapes[];

  constructor(inShape: readonly number[], levels: readonly Chain[], opts: { priors?: readonly SplitPrior[] } = {}) {
    super();
    if (inShape.length !== 3) throw new Error(`MultiScale: expected an image shape [C, H, W], got ${shapeStr(inShape)}`);
    if (levels.length === 0) throw new Error('MultiScale: expected at least one level');
    const priors = opts.priors ?? [];
    if (priors.length !== 0 && priors.length !== levels.length - 1) throw new Error(`MultiScale: ${priors.length} split priors for ${levels.length} levels (expected ${levels.length - 1} or none)`);
    this.levels = new ModuleList(levels);
    this.priors = new ModuleList(priors);
    this.inShape = [...inShape];
    const shapes: LevelShapes[] = [];
    let s = [...inShape];
    levels.forEach((lvl, i) => {
      const out = lvl.outputShape(s);
      const last = i === levels.length - 1;
      if (!last && out[0]! < 2) throw new Error(`MultiScale: level ${i} outputs ${shapeStr(out)}, too few channels to factor half out`);
      const k = last ? out[0]! : Math.floor(out[0]! / 2);
      shapes.push({ out, kept: [k, out[1]!, out[2]!], factored: [out[0]! - k, out[1]!, out[2]!] });
      s = [k, out[1]!, out[2]!];
    });
    this.shapes = shapes;
  }

  forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): ForwardResult {
    const N = x.shape[0]!;
    if (x.ndim !== 4 || this.inShape.some((d, i) => x.shape[i + 1] !== d)) throw new Error(`MultiScale: expected [N, ${this.inShape.join(', ')}], got ${shapeStr(x.shape)}`);
    let h = x;
    let logDet: Tensor | null = null;
    const add = (ld: Tensor) => (logDet = logDet ? logDet.add(ld) : ld);
    const zs: Tensor[] = [];
    for (let l = 0; l < this.levels.length; l++) {
      const r = this.levels.at(l).forward(h, ctx, opts);
      add(r.logDet);
      h = r.y;
      if (l === this.levels.length - 1) break;
      const k = this.shapes[l]!.kept[0]!;
      const kept = h.slice(1, 0, k);
      let z = h.slice(1, k);
      if (this.priors.length) {
        const p = layerScope(() => this.priors.at(l).forward(z, kept));
        add(p.logDet);
        z = p.y;
      }
      zs.push(z.reshape([N, -1]));
      h = kept;
    }
    zs.push(h.reshape([N, -1]));
    return { y: concat(zs, 1), logDet: logDet! };
  }

  inverse(y: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): InverseResult {
    const N = y.shape[0]!;
    const L = this.levels.length;
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    const sizes = [...this.shapes.slice(0, -1).map((s) => size(s.factored)), size(this.shapes[L - 1]!.out)];
    if (y.ndim !== 2 || y.shape[1] !== sizes.reduce((a, b) => a + b, 0)) throw new Error(`MultiScale.inverse: expected [N, ${sizes.reduce((a, b) => a + b, 0)}], got ${shapeStr(y.shape)}`);
    const parts = y.split(sizes, 1);
    let h = parts[L - 1]!.reshape([N, ...this.shapes[L - 1]!.out]);
    let logDet: Tensor | null = null;
    const add = (ld: Tensor) => (logDet = logDet ? logDet.add(ld) : ld);
    for (let l = L - 1; l >= 0; l--) {
      if (l < L - 1) {
        let z = parts[l]!.reshape([N, ...this.shapes[l]!.factored]);
        if (this.priors.length) {
          const p = layerScope(() => this.priors.at(l).inverse(z, h));
          add(p.logDet);
          z = p.x;
        }
        h = concat([h, z], 1);
      }
      const r = this.levels.at(l).inverse(h, ctx, opts);
      add(r.logDet);
      h = r.x;
    }
    return { x: h, logDet: logDet! };
  }

  override outputShape(): number[] {
    return [this.inShape.reduce((a, b) => a * b, 1)];
  }
  override inputShape(): number[] {
    return [...this.inShape];
  }
}
