/** The pictures the command line writes: plots of 2-D samples, image grids, animations. */
import { writeFileAtomic } from '../nn/io/files.ts';
import { encodePng, encodeApng, imageGrid, type PngImage } from '../data/png.ts';
import { scatterPlot, densityPlot, hstack, upscale, pointsRange, COLORS, type PlotRange } from '../viz/plot.ts';
import { encodeGif } from '../viz/gif.ts';
import type { DataSpec } from '../models/registry.ts';

/** Three panels: the reference data, the samples (over a faint copy of the data), and the samples' density. */
export function pointsFigure(samples: Float32Array, ref: Float32Array, opts: { title?: string; range?: PlotRange } = {}): PngImage {
  const range = opts.range ?? pointsRange([ref]);
  const size = { width: 360, height: 360 };
  return hstack([
    scatterPlot([{ points: ref, color: COLORS.data }], { ...size, range, title: 'data' }),
    scatterPlot([{ points: ref, color: [205, 205, 205] }, { points: samples, color: COLORS.model }], { ...size, range, title: opts.title ?? 'samples' }),
    densityPlot(samples, { ...size, range, title: 'sample density', bins: 56 }),
  ]);
}

/** A grid of images [n, C, H, W] in [−1, 1], upscaled so that it is at least ~240 pixels wide. */
export function imagesFigure(values: Float32Array, spec: DataSpec, n: number): PngImage {
  const [C, H, W] = spec.shape as [number, number, number];
  const grid = imageGrid(values, [n, C, H, W], { lo: -1, hi: 1, pad: 2, padValue: 255 });
  return upscale(grid, Math.max(1, Math.ceil(240 / grid.width)));
}

/** One frame of an animation: a scatter plot with a fixed window, or an image grid. */
export function frameFigure(values: Float32Array, spec: DataSpec, n: number, range: PlotRange | null, title: string, ref?: Float32Array | null): PngImage {
  if (spec.kind === 'points') {
    const back = ref ? [{ points: ref, color: [225, 225, 225] as const }] : [];
    return scatterPlot([...back, { points: values, color: COLORS.model, radius: 1.3 }], { width: 280, height: 280, range: range!, title });
  }
  return imagesFigure(values.map((v) => Math.max(-1, Math.min(1, v))), spec, n);
}

export async function writePng(file: string, img: PngImage): Promise<void> {
  await writeFileAtomic(file, await encodePng(img));
}

/** An animation, as GIF or (for .png / .apng) APNG; the last frame is held longer. */
export async function writeAnimation(file: string, frames: readonly PngImage[]): Promise<void> {
  const delays = frames.map((_, i) => (i === frames.length - 1 ? 1500 : 90));
  const bytes = /\.gif$/i.test(file) ? encodeGif(frames, { delayMs: delays }) : await encodeApng(frames, { delayMs: delays });
  await writeFileAtomic(file, bytes);
}
