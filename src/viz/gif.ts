/**
 * An animated-GIF encoder (GIF89a: one global 256-colour palette chosen from the frames,
 * LZW-compressed frames, the NETSCAPE2.0 looping extension). Pure and browser-safe.
 */
import type { PngImage } from '../data/png.ts';

/**
 * One palette for every frame: the colours themselves when there are at most 256, else by
 * popularity (colours counted on a 5-bit-per-channel grid, the 256 most frequent cells kept);
 * every pixel then takes the nearest palette entry. Plots (a white background, a few hues and their anti-aliased
 * blends) and greyscale images come out without visible banding.
 */
function buildPalette(frames: readonly PngImage[]): { palette: Uint8Array; index: (r: number, g: number, b: number) => number } {
  // exact colours while there are at most 256 of them, else cells of 5 bits per channel
  let exact = true;
  const seen = new Set<number>();
  for (const f of frames) {
    const p = f.pixels, c = f.channels;
    for (let i = 0; i < f.width * f.height && exact; i++) {
      seen.add(c === 1 ? p[i]! * 0x10101 : (p[c * i]! << 16) | (p[c * i + 1]! << 8) | p[c * i + 2]!);
      if (seen.size > 256) exact = false;
    }
  }
  const counts = new Map<number, { n: number; r: number; g: number; b: number }>();
  const key = exact ? (r: number, g: number, b: number) => (r << 16) | (g << 8) | b : (r: number, g: number, b: number) => ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
  for (const f of frames) {
    const p = f.pixels, c = f.channels;
    for (let i = 0; i < f.width * f.height; i++) {
      const r = p[c * i]!, g = c === 1 ? r : p[c * i + 1]!, b = c === 1 ? r : p[c * i + 2]!;
      const k = key(r, g, b);
      const e = counts.get(k);
      if (e) {
        e.n++;
        e.r += r; e.g += g; e.b += b;
      } else counts.set(k, { n: 1, r, g, b });
    }
  }
  const top = [...counts.entries()].sort((a, b) => b[1].n - a[1].n).slice(0, 256);
  const palette = new Uint8Array(256 * 3);
  top.forEach(([, e], i) => palette.set([Math.round(e.r / e.n), Math.round(e.g / e.n), Math.round(e.b / e.n)], 3 * i));
  const cache = new Map<number, number>();
  const index = (r: number, g: number, b: number): number => {
    const k = key(r, g, b);
    let best = cache.get(k);
    if (best === undefined) {
      let bestErr = Infinity;
      best = 0;
      for (let i = 0; i < top.length; i++) {
        const err = (r - palette[3 * i]!) ** 2 + (g - palette[3 * i + 1]!) ** 2 + (b - palette[3 * i + 2]!) ** 2;
        if (err < bestErr) {
          bestErr = err;
          best = i;
        }
      }
      cache.set(k, best);
    }
    return best;
  };
  return { palette, index };
}

function indices(img: PngImage, index: (r: number, g: number, b: number) => number): Uint8Array {
  const n = img.width * img.height, out = new Uint8Array(n), p = img.pixels, c = img.channels;
  for (let i = 0; i < n; i++) out[i] = c === 1 ? index(p[i]!, p[i]!, p[i]!) : index(p[c * i]!, p[c * i + 1]!, p[c * i + 2]!);
  return out;
}

/** GIF's variable-length-code LZW (minimum code size 8), packed LSB first, as 255-byte sub-blocks. */
function lzw(index: Uint8Array): Uint8Array {
  const minCodeSize = 8, clear = 256, eoi = 257;
  const bytes: number[] = [];
  let acc = 0, nbits = 0;
  let codeSize = minCodeSize + 1;
  const emit = (code: number): void => {
    acc |= code << nbits;
    nbits += codeSize;
    while (nbits >= 8) {
      bytes.push(acc & 0xff);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  let table = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  let cur = index[0]!;
  for (let i = 1; i < index.length; i++) {
    const k = index[i]!;
    const key = (cur << 8) | k;
    const hit = table.get(key);
    if (hit !== undefined) {
      cur = hit;
      continue;
    }
    emit(cur);
    if (next === 4096) {
      emit(clear);
      table = new Map();
      next = eoi + 1;
      codeSize = minCodeSize + 1;
    } else {
      if (next >= 1 << codeSize) codeSize++;
      table.set(key, next++);
    }
    cur = k;
  }
  emit(cur);
  emit(eoi);
  if (nbits > 0) bytes.push(acc & 0xff);
  const out: number[] = [minCodeSize];
  for (let i = 0; i < bytes.length; i += 255) {
    const block = bytes.slice(i, i + 255);
    out.push(block.length, ...block);
  }
  out.push(0);
  return Uint8Array.from(out);
}

/**
 * Encode frames of equal size as an animated GIF. `delayMs` is each frame's display time (GIF
 * counts in hundredths of a second); `loops` 0 repeats forever.
 */
export function encodeGif(frames: readonly PngImage[], opts: { delayMs?: number | readonly number[]; loops?: number } = {}): Uint8Array {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  const { width, height } = frames[0]!;
  if (width > 65535 || height > 65535) throw new Error(`encodeGif: ${width}×${height} is larger than GIF allows`);
  const { palette, index } = buildPalette(frames);
  const parts: number[][] = [];
  const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
  // header, logical screen (global colour table of 256 entries), palette
  parts.push([...'GIF89a'].map((c) => c.charCodeAt(0)), [...u16(width), ...u16(height), 0xf7, 0, 0], [...palette]);
  // NETSCAPE2.0 application extension: loop count
  parts.push([0x21, 0xff, 11, ...[...'NETSCAPE2.0'].map((c) => c.charCodeAt(0)), 3, 1, ...u16(opts.loops ?? 0), 0]);
  const chunks: Uint8Array[] = [];
  for (const [i, f] of frames.entries()) {
    if (f.width !== width || f.height !== height) throw new Error(`encodeGif: frame ${i} is ${f.width}×${f.height}, frame 0 is ${width}×${height}`);
    const delay = Array.isArray(opts.delayMs) ? (opts.delayMs as readonly number[])[i] ?? 100 : ((opts.delayMs as number | undefined) ?? 100);
    const head = [
      0x21, 0xf9, 4, 0x04, ...u16(Math.round(delay / 10)), 0, 0, // graphic control: disposal 1 (keep), delay
      0x2c, ...u16(0), ...u16(0), ...u16(width), ...u16(height), 0, // image descriptor, no local palette
    ];
    chunks.push(Uint8Array.from(head), lzw(indices(f, index)));
  }
  const all = [...parts.map((p) => Uint8Array.from(p)), ...chunks, Uint8Array.of(0x3b)];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
