/**
 * A tiny raster canvas: an RGB image with alpha-blended drawing (rectangles, lines, discs, text)
 * and a conversion to the PNG module's `PngImage`. Pure and browser-safe.
 */
import type { PngImage } from '../data/png.ts';
import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH, textWidth } from './font.ts';

/** An sRGB colour, components 0…255. */
export type Rgb = readonly [number, number, number];

export class Canvas {
  /** Row-major RGB bytes. */
  readonly pixels: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new Error(`Canvas: width and height must be positive integers, got ${width}×${height}`);
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, 3 * i);
  }

  /** Blend `color` with opacity `alpha` ∈ [0, 1] into pixel (x, y); outside the canvas nothing happens. */
  blend(x: number, y: number, color: Rgb, alpha = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = 3 * ((y | 0) * this.width + (x | 0));
    for (let c = 0; c < 3; c++) this.pixels[o + c] = Math.round(this.pixels[o + c]! * (1 - alpha) + color[c]! * alpha);
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    const x0 = Math.max(0, Math.round(x)), y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w)), y1 = Math.min(this.height, Math.round(y + h));
    for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) this.blend(i, j, color, alpha);
  }

  /** A 1-pixel line from (x0, y0) to (x1, y1) (Bresenham). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, alpha = 1): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.blend(x0, y0, color, alpha);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }

  /** A filled disc of radius r centred on (cx, cy) (sub-pixel centre; r ≤ 0.5 draws one pixel). */
  disc(cx: number, cy: number, r: number, color: Rgb, alpha = 1): void {
    if (r <= 0.5) return this.blend(Math.floor(cx), Math.floor(cy), color, alpha);
    const x0 = Math.floor(cx - r), x1 = Math.ceil(cx + r), y0 = Math.floor(cy - r), y1 = Math.ceil(cy + r);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const cover = Math.max(0, Math.min(1, r - d + 0.5)); // anti-aliased edge
        if (cover > 0) this.blend(x, y, color, alpha * cover);
      }
    }
  }

  /** Draw `text` with its top-left corner at (x, y); `align` places x at the left, centre or right. */
  text(text: string, x: number, y: number, color: Rgb = [0, 0, 0], opts: { scale?: number; align?: 'left' | 'center' | 'right' } = {}): void {
    const s = opts.scale ?? 2;
    const w = textWidth(text, s);
    let left = Math.round(opts.align === 'center' ? x - w / 2 : opts.align === 'right' ? x - w : x);
    const top = Math.round(y);
    for (const ch of text) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) for (let c = 0; c < GLYPH_WIDTH; c++) if (g[r]![c]) this.fillRect(left + c * s, top + r * s, s, s, color);
      left += (GLYPH_WIDTH + 1) * s;
    }
  }

  /** Copy an image (grey, RGB or RGBA, alpha-blended) with its top-left corner at (x, y), scaled by an integer factor. */
  drawImage(img: PngImage, x: number, y: number, scale = 1): void {
    for (let j = 0; j < img.height; j++) {
      for (let i = 0; i < img.width; i++) {
        const o = (j * img.width + i) * img.channels;
        const p = img.pixels;
        const color: Rgb = img.channels === 1 ? [p[o]!, p[o]!, p[o]!] : [p[o]!, p[o + 1]!, p[o + 2]!];
        const a = img.channels === 4 ? p[o + 3]! / 255 : 1;
        if (scale === 1) this.blend(x + i, y + j, color, a);
        else this.fillRect(x + i * scale, y + j * scale, scale, scale, color, a);
      }
    }
  }

  toImage(): PngImage {
    return { width: this.width, height: this.height, channels: 3, pixels: this.pixels };
  }
}
