// A small PNG encoder (8-bit greyscale, RGB or RGBA; filter type 0; one IDAT chunk) and helpers to
// turn samples and 2-D densities into pictures. Browser-safe: zlib compression comes from the web
// platform's CompressionStream('deflate') (Node ≥ 18 and every current browser).
//
// Format: PNG specification (W3C, 2nd ed., 2003): the 8-byte signature, then chunks
// length · type · data · CRC-32(type + data); IHDR (width, height, bit depth 8, colour type 0/2/6,
// compression 0, filter 0, interlace 0), IDAT (zlib stream of the scanlines, each prefixed by its
// filter-type byte 0), IEND.

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320) as PNG uses it. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib-wrapped deflate (RFC 1950), as PNG's IDAT needs, through CompressionStream. */
export async function zlibDeflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(data)]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

export interface PngImage {
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 3 | 4;
  /** Row-major pixels, `channels` bytes each: height × width × channels values 0…255. */
  pixels: Uint8Array;
}

/** Encode an 8-bit image as PNG bytes. */
export async function encodePng(img: PngImage): Promise<Uint8Array> {
  const { width, height, channels, pixels } = img;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) throw new Error(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new Error(`encodePng: channels must be 1, 3 or 4, got ${String(channels)}`);
  if (pixels.length !== width * height * channels) throw new Error(`encodePng: ${pixels.length} bytes do not fill ${width}×${height}×${channels}`);
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6; // colour type
  // compression, filter and interlace methods: 0
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1); // filter byte 0
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', await zlibDeflate(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Bytes 0…255 from values in [lo, hi] (clamped, rounded). */
export function toBytes(values: ArrayLike<number>, lo = 0, hi = 1): Uint8Array {
  const out = new Uint8Array(values.length);
  const s = 255 / (hi - lo);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((values[i]! - lo) * s)));
  return out;
}

/**
 * Tile n greyscale or colour images [n, C, H, W] (C = 1 or 3, values in [lo, hi]) into a grid
 * with `cols` columns and a `pad`-pixel border of value `padValue` (0…255).
 */
export function imageGrid(images: ArrayLike<number>, shape: readonly [number, number, number, number], opts: { cols?: number; pad?: number; padValue?: number; lo?: number; hi?: number } = {}): PngImage {
  const [n, C, H, W] = shape;
  if (C !== 1 && C !== 3) throw new Error(`imageGrid: expected 1 or 3 channels, got ${C}`);
  if (images.length !== n * C * H * W) throw new Error(`imageGrid: ${images.length} values for [${shape.join(', ')}]`);
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const pad = opts.pad ?? 2;
  const width = cols * (W + pad) + pad, height = rows * (H + pad) + pad;
  const px = new Uint8Array(width * height * C).fill(opts.padValue ?? 0);
  const bytes = toBytes(images, opts.lo ?? 0, opts.hi ?? 1);
  for (let k = 0; k < n; k++) {
    const oy = pad + Math.floor(k / cols) * (H + pad), ox = pad + (k % cols) * (W + pad);
    for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      px[((oy + y) * width + ox + x) * C + c] = bytes[((k * C + c) * H + y) * W + x]!;
    }
  }
  return { width, height, channels: C as 1 | 3, pixels: px };
}

/**
 * A colour image of a non-negative field (a density on a grid, row-major, row 0 at the top):
 * values / max through a perceptual ramp from black through purple and orange to pale yellow
 * (an approximation of matplotlib's "magma" by linear interpolation between 6 of its stops).
 */
export function heatmap(values: ArrayLike<number>, width: number, height: number, opts: { max?: number } = {}): PngImage {
  if (values.length !== width * height) throw new Error(`heatmap: ${values.length} values for ${width}×${height}`);
  let max = opts.max ?? 0;
  if (opts.max === undefined) for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) max = Math.max(max, values[i]!);
  const stops: [number, number, number][] = [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]];
  const px = new Uint8Array(width * height * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const t = max > 0 && Number.isFinite(v) ? Math.max(0, Math.min(1, v / max)) : 0;
    const f = t * (stops.length - 1);
    const j = Math.min(stops.length - 2, Math.floor(f));
    const a = stops[j]!, b = stops[j + 1]!, w = f - j;
    for (let c = 0; c < 3; c++) px[i * 3 + c] = Math.round(a[c]! + (b[c]! - a[c]!) * w);
  }
  return { width, height, channels: 3, pixels: px };
}

// ---------------------------------------------------------------------------------------------
// Decoding, and animated PNG (APNG)

/** zlib-wrapped inflate (RFC 1950) through DecompressionStream. */
export async function zlibInflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The Paeth predictor of the PNG specification (§9.4). */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Decode a PNG file: every colour type (grey, RGB, palette, grey + alpha, RGBA) at bit depths
 * 1, 2, 4, 8 or 16 (16-bit samples keep their high byte), all five scanline filters, tRNS
 * transparency for palette images. Grey comes back as 1 channel, grey + alpha and transparent
 * palettes as RGBA, RGB and opaque palettes as RGB. Interlaced (Adam7) files are refused.
 * Errors say what is wrong with the file (bad signature, CRC mismatch, truncated data).
 */
export async function decodePng(bytes: Uint8Array): Promise<PngImage> {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error('decodePng: not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let ihdr: Uint8Array | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw new Error(`decodePng: truncated chunk header at byte ${at}`);
    const len = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (at + 12 + len > bytes.length) throw new Error(`decodePng: chunk ${type} at byte ${at} runs past the end of the file`);
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (crc32(bytes, at + 4, at + 8 + len) !== view.getUint32(at + 8 + len)) throw new Error(`decodePng: CRC mismatch in chunk ${type} (the file is corrupt)`);
    if (type === 'IHDR') ihdr = data;
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    at += 12 + len;
  }
  if (!ihdr || ihdr.length !== 13) throw new Error('decodePng: missing or malformed IHDR chunk');
  if (!ended) throw new Error('decodePng: no IEND chunk (the file is truncated)');
  if (idat.length === 0) throw new Error('decodePng: no IDAT chunk');
  const h = new DataView(ihdr.buffer, ihdr.byteOffset, 13);
  const width = h.getUint32(0), height = h.getUint32(4);
  const depth = ihdr[8]!, colorType = ihdr[9]!, interlace = ihdr[12]!;
  const samplesPer: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  const spp = samplesPer[colorType];
  if (spp === undefined) throw new Error(`decodePng: unknown colour type ${colorType}`);
  if (![1, 2, 4, 8, 16].includes(depth) || (depth < 8 && colorType !== 0 && colorType !== 3) || (depth === 16 && colorType === 3)) {
    throw new Error(`decodePng: invalid bit depth ${depth} for colour type ${colorType}`);
  }
  if (interlace !== 0) throw new Error('decodePng: interlaced (Adam7) PNGs are not supported; re-save the image without interlacing');
  if (width === 0 || height === 0) throw new Error(`decodePng: empty image ${width}×${height}`);
  if (colorType === 3 && !palette) throw new Error('decodePng: palette image without a PLTE chunk');

  let raw: Uint8Array;
  try {
    raw = await zlibInflate(concatBytes(idat));
  } catch (e) {
    throw new Error(`decodePng: corrupt image data (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const bitsPerPixel = spp * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3); // filter distance in bytes
  if (raw.length < height * (stride + 1)) throw new Error(`decodePng: image data too short (${raw.length} bytes for ${height} rows of ${stride + 1})`);
  // Undo the filters (§9.2), row by row, into `lines` (height × stride).
  const lines = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = lines.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? lines.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev ? prev[i]! : 0;
      const c = prev && i >= bpp ? prev[i - bpp]! : 0;
      let pred: number;
      switch (f) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: pred = paeth(a, b, c); break;
        default: throw new Error(`decodePng: unknown filter type ${f} on row ${y}`);
      }
      cur[i] = (src[i]! + pred) & 0xff;
    }
  }
  // One sample (0…255) of pixel x, sample s, on row `line`.
  const sample = (line: Uint8Array, x: number, s: number): number => {
    if (depth === 8) return line[x * spp + s]!;
    if (depth === 16) return line[2 * (x * spp + s)]!;
    const bit = x * depth, v = (line[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    return colorType === 3 ? v : Math.round((v * 255) / ((1 << depth) - 1));
  };
  const channels: 1 | 3 | 4 = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 3 ? (trns ? 4 : 3) : 4;
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const line = lines.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      if (colorType === 3) {
        const k = sample(line, x, 0);
        if (3 * k + 2 >= palette!.length) throw new Error(`decodePng: palette index ${k} out of range`);
        pixels[o] = palette![3 * k]!;
        pixels[o + 1] = palette![3 * k + 1]!;
        pixels[o + 2] = palette![3 * k + 2]!;
        if (channels === 4) pixels[o + 3] = k < trns!.length ? trns![k]! : 255;
      } else if (colorType === 4) {
        const g = sample(line, x, 0);
        pixels[o] = pixels[o + 1] = pixels[o + 2] = g;
        pixels[o + 3] = sample(line, x, 1);
      } else {
        for (let s = 0; s < channels; s++) pixels[o + s] = sample(line, x, s);
      }
    }
  }
  return { width, height, channels, pixels };
}

/** IHDR's colour type and the filter-0 scanlines of an image. */
function scanlines(img: PngImage): Uint8Array {
  const stride = img.width * img.channels;
  const raw = new Uint8Array(img.height * (stride + 1));
  for (let y = 0; y < img.height; y++) raw.set(img.pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return raw;
}

/**
 * Encode frames of equal size and channels as an animated PNG (APNG, Mozilla's extension: acTL,
 * fcTL and fdAT chunks; viewers without APNG support show the first frame). `delayMs` is the
 * time each frame is shown (one number, or one per frame); `loops` 0 repeats forever.
 */
export async function encodeApng(frames: readonly PngImage[], opts: { delayMs?: number | readonly number[]; loops?: number } = {}): Promise<Uint8Array> {
  if (frames.length === 0) throw new Error('encodeApng: no frames');
  const first = frames[0]!;
  for (const [i, f] of frames.entries()) {
    if (f.width !== first.width || f.height !== first.height || f.channels !== first.channels) {
      throw new Error(`encodeApng: frame ${i} is ${f.width}×${f.height}×${f.channels}, frame 0 is ${first.width}×${first.height}×${first.channels}`);
    }
  }
  // IHDR, and the first frame's IDAT, as the still encoder writes them
  const still = await encodePng(first);
  const ihdrChunk = still.subarray(8, 8 + 25);
  const actl = new Uint8Array(8);
  new DataView(actl.buffer).setUint32(0, frames.length);
  new DataView(actl.buffer).setUint32(4, opts.loops ?? 0);
  const parts: Uint8Array[] = [Uint8Array.from(SIGNATURE), ihdrChunk, chunk('acTL', actl)];
  let seq = 0;
  for (const [i, f] of frames.entries()) {
    const delay = Array.isArray(opts.delayMs) ? (opts.delayMs as readonly number[])[i] ?? 100 : ((opts.delayMs as number | undefined) ?? 100);
    const fctl = new Uint8Array(26);
    const v = new DataView(fctl.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, f.width);
    v.setUint32(8, f.height);
    // x, y offsets 0; delay as a fraction of a second: delay / 1000
    v.setUint16(20, Math.max(0, Math.min(65535, Math.round(delay))));
    v.setUint16(22, 1000);
    // dispose_op 0 (none), blend_op 0 (source)
    parts.push(chunk('fcTL', fctl));
    const z = await zlibDeflate(scanlines(f));
    if (i === 0) parts.push(chunk('IDAT', z));
    else {
      const fd = new Uint8Array(4 + z.length);
      new DataView(fd.buffer).setUint32(0, seq++);
      fd.set(z, 4);
      parts.push(chunk('fdAT', fd));
    }
  }
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concatBytes(parts);
}
