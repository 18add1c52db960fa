// Pictures: PNG decoding (every filter, palette, 16-bit, grey + alpha), animated PNG and GIF
// encoding checked by independent readers (node:zlib and an LZW decoder written here), and plots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32, encodePng, decodePng, encodeApng, type PngImage } from '../src/data/png.ts';
import { encodeGif } from '../src/viz/gif.ts';
import { scatterPlot, densityPlot, niceTicks, pointsRange, hstack, upscale, histogram2d } from '../src/viz/plot.ts';
import { Generator } from '../src/index.ts';

/** A PNG file from raw IHDR fields and filtered scanlines, built with node:zlib (independent of the encoder). */
function pngFile(width: number, height: number, depth: number, colorType: number, filtered: Uint8Array, extra: [string, Uint8Array][] = []): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(data).copy(out, 8);
    out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), ...extra.map(([t, d]) => chunk(t, d)), chunk('IDAT', deflateSync(filtered)), chunk('IEND', new Uint8Array(0))]);
}

/** Apply PNG filter `f` to row `cur` (previous row `prev`), bytes per pixel `bpp` — the encoder side, written from the spec. */
function filterRow(f: number, cur: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(cur.length + 1);
  out[0] = f;
  for (let i = 0; i < cur.length; i++) {
    const a = i >= bpp ? cur[i - bpp]! : 0, b = prev[i]!, c = i >= bpp ? prev[i - bpp]! : 0;
    const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
    const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f]!;
    out[i + 1] = (cur[i]! - pred) & 0xff;
  }
  return out;
}

test('decodePng undoes all five filters on RGB and RGBA rows', async () => {
  const g = new Generator(1);
  for (const [channels, colorType] of [[3, 2], [4, 6]] as const) {
    const width = 7, height = 10;
    const pixels = Uint8Array.from(g.randint(width * height * channels, 0, 256));
    const rows: Uint8Array[] = [];
    for (let y = 0; y < height; y++) {
      const cur = pixels.subarray(y * width * channels, (y + 1) * width * channels);
      const prev = y > 0 ? pixels.subarray((y - 1) * width * channels, y * width * channels) : new Uint8Array(width * channels);
      rows.push(filterRow(y % 5, cur, prev, channels));
    }
    const img = await decodePng(pngFile(width, height, 8, colorType, Buffer.concat(rows)));
    assert.deepEqual(img, { width, height, channels, pixels });
  }
});

test('decodePng reads palette (with transparency), 16-bit, 1-bit grey and grey + alpha images', async () => {
  // 4-colour palette at 2 bits per pixel, with a tRNS entry for index 1
  const pal = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]);
  const idx = [0, 1, 2, 3, 3];
  const packed = Uint8Array.from([0, (idx[0]! << 6) | (idx[1]! << 4) | (idx[2]! << 2) | idx[3]!, idx[4]! << 6]);
  const p = await decodePng(pngFile(5, 1, 2, 3, packed, [['PLTE', pal], ['tRNS', Uint8Array.from([255, 128])]]));
  assert.equal(p.channels, 4);
  assert.deepEqual([...p.pixels], idx.flatMap((k) => [pal[3 * k]!, pal[3 * k + 1]!, pal[3 * k + 2]!, k === 1 ? 128 : 255]));
  // 16-bit grey keeps the high byte
  const g16 = await decodePng(pngFile(2, 1, 16, 0, Uint8Array.from([0, 0x12, 0x34, 0xab, 0xcd])));
  assert.deepEqual(g16, { width: 2, height: 1, channels: 1, pixels: Uint8Array.from([0x12, 0xab]) });
  // 1-bit grey scales to 0 / 255
  const g1 = await decodePng(pngFile(3, 1, 1, 0, Uint8Array.from([0, 0b10100000])));
  assert.deepEqual([...g1.pixels], [255, 0, 255]);
  // grey + alpha becomes RGBA
  const ga = await decodePng(pngFile(1, 1, 8, 4, Uint8Array.from([0, 77, 200])));
  assert.deepEqual([...ga.pixels], [77, 77, 77, 200]);
});

test('decodePng round-trips encodePng and refuses damaged files with a reason', async () => {
  for (const channels of [1, 3, 4] as const) {
    const img: PngImage = { width: 5, height: 4, channels, pixels: Uint8Array.from({ length: 20 * channels }, (_, i) => (i * 37) % 256) };
    assert.deepEqual(await decodePng(await encodePng(img)), img);
  }
  const good = await encodePng({ width: 2, height: 2, channels: 1, pixels: new Uint8Array(4) });
  const flipped = Uint8Array.from(good);
  flipped[42] = flipped[42]! ^ 0xff; // a byte of IDAT's data
  await assert.rejects(decodePng(flipped), /CRC mismatch in chunk IDAT/);
  await assert.rejects(decodePng(good.subarray(0, good.length - 12)), /no IEND chunk/);
  await assert.rejects(decodePng(new TextEncoder().encode('GIF89a....')), /not a PNG file/);
});

test('encodeApng writes acTL, numbered fcTL/fdAT chunks, and frames that inflate to the images', async () => {
  const frames: PngImage[] = [0, 1, 2].map((k) => ({ width: 3, height: 2, channels: 3, pixels: Uint8Array.from({ length: 18 }, (_, i) => i * 10 + k) }));
  const bytes = await encodeApng(frames, { delayMs: 50 });
  const chunks: { type: string; data: Buffer }[] = [];
  const buf = Buffer.from(bytes);
  for (let at = 8; at < buf.length;) {
    const len = buf.readUInt32BE(at), type = buf.toString('latin1', at + 4, at + 8);
    assert.equal(buf.readUInt32BE(at + 8 + len), crc32(bytes, at + 4, at + 8 + len), type);
    chunks.push({ type, data: buf.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'acTL', 'fcTL', 'IDAT', 'fcTL', 'fdAT', 'fcTL', 'fdAT', 'IEND']);
  assert.equal(chunks[1]!.data.readUInt32BE(0), 3);
  const seqs = chunks.filter((c) => c.type === 'fcTL' || c.type === 'fdAT').map((c) => c.data.readUInt32BE(0));
  assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  assert.equal(chunks[2]!.data.readUInt16BE(20) / chunks[2]!.data.readUInt16BE(22), 0.05);
  const unfilter = (z: Buffer) => {
    const raw = inflateSync(z);
    return [...raw.subarray(1, 10), ...raw.subarray(11, 20)]; // two rows of filter 0
  };
  assert.deepEqual(unfilter(chunks[3]!.data), [...frames[0]!.pixels]);
  assert.deepEqual(unfilter(chunks[7]!.data.subarray(4)), [...frames[2]!.pixels]);
  assert.deepEqual(await decodePng(bytes), frames[0]); // a plain viewer shows the first frame
});

/** An independent GIF reader: header, global palette, then each frame's LZW codes back to palette indices. */
function readGif(bytes: Uint8Array): { width: number; height: number; frames: Uint8Array[]; palette: Uint8Array; delays: number[] } {
  const b = Buffer.from(bytes);
  assert.equal(b.toString('latin1', 0, 6), 'GIF89a');
  const width = b.readUInt16LE(6), height = b.readUInt16LE(8), packed = b[10]!;
  assert.ok(packed & 0x80, 'global colour table');
  const size = 2 << (packed & 7);
  const palette = b.subarray(13, 13 + 3 * size);
  let at = 13 + 3 * size;
  const frames: Uint8Array[] = [], delays: number[] = [];
  for (;;) {
    const tag = b[at++]!;
    if (tag === 0x3b) break;
    if (tag === 0x21) {
      const label = b[at++]!;
      if (label === 0xf9) delays.push(b.readUInt16LE(at + 2) * 10);
      for (let n = b[at++]!; n > 0; n = b[at++]!) at += n;
      continue;
    }
    assert.equal(tag, 0x2c);
    at += 9;
    const min = b[at++]!;
    const data: number[] = [];
    for (let n = b[at++]!; n > 0; n = b[at++]!) { data.push(...b.subarray(at, at + n)); at += n; }
    // LZW decode
    const clear = 1 << min, eoi = clear + 1;
    let size2 = min + 1, dict: number[][] = [], prev: number[] | null = null, bit = 0;
    const reset = () => { dict = Array.from({ length: clear + 2 }, (_, i) => [i]); size2 = min + 1; prev = null; };
    reset();
    const out: number[] = [];
    for (;;) {
      let code = 0;
      for (let i = 0; i < size2; i++, bit++) code |= ((data[bit >> 3]! >> (bit & 7)) & 1) << i;
      if (code === clear) { reset(); continue; }
      if (code === eoi) break;
      const entry: number[] = code < dict.length ? dict[code]! : [...prev!, prev![0]!];
      out.push(...entry);
      if (prev) dict.push([...prev, entry[0]!]);
      prev = entry;
      if (dict.length === 1 << size2 && size2 < 12) size2++;
    }
    frames.push(Uint8Array.from(out));
  }
  return { width, height, frames, palette, delays };
}

test('encodeGif: an independent LZW decoder gets every pixel back (long runs and many colours included)', () => {
  const g = new Generator(2);
  const W = 60, H = 50;
  // 200 distinct colours (≤ 256: the palette is exact), noisy enough to pass 4096 codes and reset
  const colours = Array.from({ length: 200 }, (_, i) => [i, (i * 7) % 256, 255 - i] as const);
  const frames: PngImage[] = [0, 1].map(() => {
    const idx = g.randint(W * H, 0, 200);
    const px = new Uint8Array(W * H * 3);
    idx.forEach((k, i) => px.set(colours[k]!, 3 * i));
    return { width: W, height: H, channels: 3, pixels: px };
  });
  frames.push({ width: W, height: H, channels: 3, pixels: new Uint8Array(W * H * 3).fill(255) }); // one long run
  const gif = readGif(encodeGif(frames, { delayMs: [100, 200, 1500] }));
  assert.equal(gif.width, W);
  assert.deepEqual(gif.delays, [100, 200, 1500]);
  for (const [f, frame] of frames.entries()) {
    const got = gif.frames[f]!;
    assert.equal(got.length, W * H);
    for (let i = 0; i < W * H; i++) {
      assert.deepEqual([...gif.palette.subarray(3 * got[i]!, 3 * got[i]! + 3)], [...frame.pixels.subarray(3 * i, 3 * i + 3)], `frame ${f} pixel ${i}`);
    }
  }
});

test('plots: points land where the axes say, ticks are round numbers, densities count points', () => {
  assert.deepEqual(niceTicks(-1, 1, 4), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(niceTicks(0, 7, 3), [0, 2, 4, 6]);
  const range = { x: [-2, 2] as [number, number], y: [-2, 2] as [number, number] };
  const img = scatterPlot([{ points: Float32Array.from([1, 1]), color: [255, 0, 0], alpha: 1, radius: 3 }], { width: 246, height: 250, range });
  // plot area: 46…234 across, 12…224 down; (1, 1) sits at ¾ across and ¼ down
  const x = Math.round(46 + 0.75 * 188), y = Math.round(12 + 0.25 * 212);
  const at = (i: number, j: number) => [...img.pixels.subarray(3 * (j * img.width + i), 3 * (j * img.width + i) + 3)];
  assert.deepEqual(at(x, y), [255, 0, 0]);
  assert.notDeepEqual(at(x - 20, y), [255, 0, 0]);
  const h = histogram2d(Float32Array.from([1, 1, 1.1, 1.1, -1, -1]), range, 4);
  assert.equal(h[0 * 4 + 3], 2); // top-right cell
  assert.equal(h[2 * 4 + 1], 1); // (−1, −1): third row, second column
  const dens = densityPlot(Float32Array.from([0, 0]), { width: 100, height: 100, range });
  assert.equal(dens.width, 100);
  const r = pointsRange([Float32Array.from([0, 0, 4, 1])], { pad: 0, quantile: 0 });
  assert.deepEqual(r, { x: [0, 4], y: [-1.5, 2.5] }); // square, centred
  const both = hstack([upscale({ width: 2, height: 1, channels: 1, pixels: Uint8Array.from([0, 255]) }, 3), dens], 4);
  assert.equal(both.width, 6 + 4 + 100);
});
