/**
 * Plots of 2-D point sets as pictures: scatter plots, density plots (2-D histograms) and panels
 * side by side, with simple axes and ticks. Pure functions from numbers to `PngImage` (RGB bytes),
 * which `encodePng` (src/data/png.ts) turns into a file; browser-safe.
 *
 * ```ts
 * const img = scatterPlot([{ points: data, color: COLORS.data }, { points: samples, color: COLORS.model }], { title: 'moons' });
 * const bytes = await encodePng(img);
 * ```
 */
import { heatmap, type PngImage } from '../data/png.ts';
import { Canvas, type Rgb } from './canvas.ts';
import { textWidth } from './font.ts';

export const COLORS = {
  /** training or held-out data */
  data: [120, 120, 120] as Rgb,
  /** model samples */
  model: [31, 119, 180] as Rgb,
  axis: [60, 60, 60] as Rgb,
  grid: [232, 232, 232] as Rgb,
};

/** A square or rectangular window of the plane: [xmin, xmax] × [ymin, ymax]. */
export interface PlotRange {
  x: [number, number];
  y: [number, number];
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // the 1-2-5 step whose number of ticks comes closest to target + 1 (ties: the larger step)
  const count = (s: number) => Math.floor(hi / s + 1e-9) - Math.ceil(lo / s - 1e-9) + 1;
  let step = mag;
  for (const m of [1, 2, 5, 10]) if (Math.abs(count(m * mag) - target - 1) <= Math.abs(count(step) - target - 1)) step = m * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** A tick label: as few decimals as the step needs. */
export function formatTick(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/**
 * A square window around the points of every set (the 0.5%…99.5% quantiles per axis, so a few
 * stray samples do not squash the picture), padded by `pad` of its side. Non-finite values are
 * ignored. Square, so that shapes are not distorted.
 */
export function pointsRange(sets: readonly Float32Array[], opts: { pad?: number; quantile?: number } = {}): PlotRange {
  const q = opts.quantile ?? 0.005;
  const lohi = (axis: number): [number, number] => {
    const vals: number[] = [];
    for (const s of sets) for (let i = axis; i < s.length; i += 2) if (Number.isFinite(s[i]!)) vals.push(s[i]!);
    if (vals.length === 0) return [-1, 1];
    vals.sort((a, b) => a - b);
    const at = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.round(p * (vals.length - 1))))]!;
    return [at(q), at(1 - q)];
  };
  const [x0, x1] = lohi(0), [y0, y1] = lohi(1);
  const side = Math.max(x1 - x0, y1 - y0, 1e-6) * (1 + 2 * (opts.pad ?? 0.08));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return { x: [cx - side / 2, cx + side / 2], y: [cy - side / 2, cy + side / 2] };
}

/** A canvas with axes: the plotting area, and the map from data coordinates to pixels. */
export class Axes {
  readonly canvas: Canvas;
  readonly left = 46;
  readonly top: number;
  readonly right = 12;
  readonly bottom = 26;

  constructor(readonly range: PlotRange, readonly size: { width: number; height: number }, readonly title?: string) {
    this.top = title ? 24 : 12;
    this.canvas = new Canvas(size.width, size.height);
  }
  get plotWidth(): number { return this.size.width - this.left - this.right; }
  get plotHeight(): number { return this.size.height - this.top - this.bottom; }
  /** Pixel column of data x. */
  px(x: number): number { return this.left + ((x - this.range.x[0]) / (this.range.x[1] - this.range.x[0])) * this.plotWidth; }
  /** Pixel row of data y (y grows upwards). */
  py(y: number): number { return this.top + (1 - (y - this.range.y[0]) / (this.range.y[1] - this.range.y[0])) * this.plotHeight; }

  /** Tick values: about one per 70 pixels. */
  xTicks(): number[] { return niceTicks(...this.range.x, Math.max(2, Math.floor(this.plotWidth / 70))); }
  yTicks(): number[] { return niceTicks(...this.range.y, Math.max(2, Math.floor(this.plotHeight / 70))); }

  /** Grid lines behind the data. */
  grid(): void {
    const c = this.canvas;
    for (const t of this.xTicks()) c.line(this.px(t), this.top, this.px(t), this.top + this.plotHeight, COLORS.grid);
    for (const t of this.yTicks()) c.line(this.left, this.py(t), this.left + this.plotWidth, this.py(t), COLORS.grid);
  }

  /** Frame, ticks, labels and title, over the data. */
  decorate(): void {
    const c = this.canvas, l = this.left, t = this.top, w = this.plotWidth, h = this.plotHeight;
    // clear the margins (points near the edge spill over)
    c.fillRect(0, 0, this.size.width, t, [255, 255, 255]);
    c.fillRect(0, t + h + 1, this.size.width, this.size.height - t - h - 1, [255, 255, 255]);
    c.fillRect(0, 0, l, this.size.height, [255, 255, 255]);
    c.fillRect(l + w + 1, 0, this.size.width - l - w - 1, this.size.height, [255, 255, 255]);
    c.line(l, t, l + w, t, COLORS.axis);
    c.line(l, t + h, l + w, t + h, COLORS.axis);
    c.line(l, t, l, t + h, COLORS.axis);
    c.line(l + w, t, l + w, t + h, COLORS.axis);
    const xt = this.xTicks(), yt = this.yTicks();
    const xs = xt.length > 1 ? xt[1]! - xt[0]! : 1, ys = yt.length > 1 ? yt[1]! - yt[0]! : 1;
    for (const v of xt) {
      const x = this.px(v);
      c.line(x, t + h, x, t + h + 4, COLORS.axis);
      c.text(formatTick(v, xs), x, t + h + 8, COLORS.axis, { align: 'center' });
    }
    for (const v of yt) {
      const y = this.py(v);
      c.line(l - 4, y, l, y, COLORS.axis);
      c.text(formatTick(v, ys), l - 7, y - 5, COLORS.axis, { align: 'right' });
    }
    if (this.title) {
      const s = textWidth(this.title, 2) > this.size.width - 8 ? 1 : 2;
      c.text(this.title, this.size.width / 2, 6, [0, 0, 0], { align: 'center', scale: s });
    }
  }
}

export interface ScatterSeries {
  /** n points, row-major n×2. */
  points: Float32Array;
  color: Rgb;
  /** Opacity of each dot; default chosen from the number of points. */
  alpha?: number;
  /** Dot radius in pixels; default 1.6. */
  radius?: number;
}

export interface PlotOptions {
  width?: number; // default 420
  height?: number; // default 420
  range?: PlotRange;
  title?: string;
}

/** A scatter plot of one or more point sets, drawn in order (later sets on top). */
export function scatterPlot(series: readonly ScatterSeries[], opts: PlotOptions = {}): PngImage {
  const range = opts.range ?? pointsRange(series.map((s) => s.points));
  const ax = new Axes(range, { width: opts.width ?? 420, height: opts.height ?? 420 }, opts.title);
  ax.grid();
  for (const s of series) {
    const n = s.points.length / 2;
    const alpha = s.alpha ?? Math.max(0.25, Math.min(0.9, 600 / Math.max(1, n)));
    for (let i = 0; i < n; i++) {
      const x = s.points[2 * i]!, y = s.points[2 * i + 1]!;
      if (Number.isFinite(x) && Number.isFinite(y)) ax.canvas.disc(ax.px(x), ax.py(y), s.radius ?? 1.6, s.color, alpha);
    }
  }
  ax.decorate();
  return ax.canvas.toImage();
}

/** Counts of points in a `bins`×`bins` grid over `range` (row 0 at the top, i.e. the largest y). */
export function histogram2d(points: Float32Array, range: PlotRange, bins: number): Float64Array {
  const out = new Float64Array(bins * bins);
  const [x0, x1] = range.x, [y0, y1] = range.y;
  for (let i = 0; i < points.length / 2; i++) {
    const fx = (points[2 * i]! - x0) / (x1 - x0), fy = (points[2 * i + 1]! - y0) / (y1 - y0);
    if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) continue;
    const c = Math.floor(fx * bins), r = bins - 1 - Math.floor(fy * bins);
    out[r * bins + c]! += 1;
  }
  return out;
}

/** A density plot: the 2-D histogram of the points (`bins` per side, default 64) as a heat map, with axes. */
export function densityPlot(points: Float32Array, opts: PlotOptions & { bins?: number } = {}): PngImage {
  const range = opts.range ?? pointsRange([points]);
  const bins = opts.bins ?? 64;
  const ax = new Axes(range, { width: opts.width ?? 420, height: opts.height ?? 420 }, opts.title);
  // square root of the counts: faint regions stay visible next to dense ones
  const h = histogram2d(points, range, bins).map(Math.sqrt);
  const heat = heatmap(h, bins, bins);
  const cw = ax.plotWidth / bins, ch = ax.plotHeight / bins;
  for (let r = 0; r < bins; r++) {
    for (let c = 0; c < bins; c++) {
      const o = 3 * (r * bins + c);
      const col: Rgb = [heat.pixels[o]!, heat.pixels[o + 1]!, heat.pixels[o + 2]!];
      const x = ax.left + c * cw, y = ax.top + r * ch;
      ax.canvas.fillRect(x, y, Math.round(x + cw) - Math.round(x), Math.round(y + ch) - Math.round(y), col);
    }
  }
  ax.decorate();
  return ax.canvas.toImage();
}

/** Images side by side (top-aligned) on a white background with `gap` pixels between them. */
export function hstack(images: readonly PngImage[], gap = 8): PngImage {
  if (images.length === 0) throw new Error('hstack: no images');
  const width = images.reduce((s, im) => s + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const c = new Canvas(width, height);
  let x = 0;
  for (const im of images) {
    c.drawImage(im, x, 0);
    x += im.width + gap;
  }
  return c.toImage();
}

/** Each pixel repeated `k`×`k` times (for small images such as 8×8 digits). */
export function upscale(img: PngImage, k: number): PngImage {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`upscale: factor must be a positive integer, got ${k}`);
  if (k === 1) return img;
  const { width, height, channels } = img;
  const out = new Uint8Array(width * k * height * k * channels);
  for (let y = 0; y < height * k; y++) {
    for (let x = 0; x < width * k; x++) {
      const s = ((Math.floor(y / k) * width) + Math.floor(x / k)) * channels;
      out.set(img.pixels.subarray(s, s + channels), (y * width * k + x) * channels);
    }
  }
  return { width: width * k, height: height * k, channels, pixels: out };
}

/** An image with a title line above it (white background). */
export function titled(img: PngImage, title: string): PngImage {
  const c = new Canvas(Math.max(img.width, textWidth(title, 2) + 8), img.height + 22);
  c.drawImage(img, Math.floor((c.width - img.width) / 2), 22);
  c.text(title, c.width / 2, 5, [0, 0, 0], { align: 'center' });
  return c.toImage();
}
