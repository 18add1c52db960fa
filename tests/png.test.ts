import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { crc32, encodePng, imageGrid, heatmap, toBytes } from '../src/data/png.ts';

/** Parse the chunks of a PNG file (checking every CRC) — an independent reader for the tests. */
function readChunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: { type: string; data: Uint8Array }[] = [];
  let at = 8;
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    assert.equal(view.getUint32(at + 8 + len), crc32(png, at + 4, at + 8 + len), `CRC of ${type}`);
    out.push({ type, data });
    at += 12 + len;
  }
  return out;
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('encodePng writes IHDR, a zlib IDAT that inflates back to the filtered scanlines, and IEND', async () => {
  for (const channels of [1, 3, 4] as const) {
    const width = 5, height = 3;
    const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256);
    const png = await encodePng({ width, height, channels, pixels });
    const chunks = readChunks(png);
    assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    const h = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13);
    assert.equal(h.getUint32(0), width);
    assert.equal(h.getUint32(4), height);
    assert.deepEqual([...chunks[0]!.data.subarray(8)], [8, { 1: 0, 3: 2, 4: 6 }[channels], 0, 0, 0]);
    const raw = new Uint8Array(inflateSync(chunks[1]!.data));
    assert.equal(raw.length, height * (width * channels + 1));
    for (let y = 0; y < height; y++) {
      const row = raw.subarray(y * (width * channels + 1), (y + 1) * (width * channels + 1));
      assert.equal(row[0], 0, 'filter type 0');
      assert.deepEqual([...row.subarray(1)], [...pixels.subarray(y * width * channels, (y + 1) * width * channels)]);
    }
  }
  await assert.rejects(encodePng({ width: 2, height: 2, channels: 1, pixels: new Uint8Array(3) }), /do not fill/);
});

test('imageGrid tiles images with padding; heatmap maps 0 to black and the maximum to the last stop', () => {
  const imgs = Float32Array.from([0, 1, 1, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1]); // 3 images 1×2×2
  const g = imageGrid(imgs, [3, 1, 2, 2], { cols: 2, pad: 1, padValue: 7 });
  assert.equal(g.width, 2 * 3 + 1);
  assert.equal(g.height, 2 * 3 + 1);
  assert.equal(g.pixels[0], 7);
  assert.deepEqual([...g.pixels.subarray(1 * 7 + 1, 1 * 7 + 3)], [0, 255]); // first image, first row
  assert.deepEqual([...g.pixels.subarray(1 * 7 + 4, 1 * 7 + 6)], [128, 128]); // second image
  assert.equal(g.pixels[5 * 7 + 6], 7); // empty fourth cell stays padding
  assert.equal(g.pixels[4 * 7 + 1], 255); // third image
  const h = heatmap([0, 2, 4, Number.NaN], 2, 2);
  assert.deepEqual([...h.pixels.subarray(0, 3)], [0, 0, 4]);
  assert.deepEqual([...h.pixels.subarray(6, 9)], [252, 253, 191]);
  assert.deepEqual([...h.pixels.subarray(9, 12)], [0, 0, 4]);
  assert.deepEqual([...toBytes([-1, 0, 0.5, 2])], [0, 0, 128, 255]);
});
