import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, serializeSafetensors, SafetensorsError } from '../src/nn/io/safetensors.ts';
import type { RawTensor, SafeDType } from '../src/nn/io/safetensors.ts';
import { loadSafetensorsFile, saveSafetensorsFile, writeDirAtomic, writeFileAtomic } from '../src/nn/io/files.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/safetensors/', import.meta.url));
const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function u64le(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, n % 2 ** 32, true);
  v.setUint32(4, Math.floor(n / 2 ** 32), true);
  return b;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** A file from a header (object → compact JSON, or raw string) and data bytes; header padded to 8 unless told. */
function fileOf(header: unknown, data: Uint8Array | number[] = [], opts: { pad?: boolean; headerLen?: number } = {}): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  if (opts.pad !== false) json += ' '.repeat((8 - (enc.encode(json).length % 8)) % 8);
  const h = enc.encode(json);
  return concat(u64le(opts.headerLen ?? h.length), h, data);
}

function hex(s: string): number[] {
  const clean = s.replace(/\s+/g, '');
  const out: number[] = [];
  for (let i = 0; i < clean.length; i += 2) out.push(parseInt(clean.slice(i, i + 2), 16));
  return out;
}

function f32Bytes(...xs: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function rejects(bytes: Uint8Array, phrase: string | RegExp): void {
  assert.throws(
    () => parseSafetensors(bytes),
    (err: unknown) => {
      assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${String(err)}`);
      if (typeof phrase === 'string') assert.ok(err.message.includes(phrase), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(phrase)}`);
      else assert.match(err.message, phrase);
      return true;
    },
  );
}

/** Deterministic PRNG for the fuzz tests (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'genlab-safetensors-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    if (ent.isDirectory()) out.push(...(await listTree(join(dir, ent.name), `${prefix}${ent.name}/`)));
    else out.push(prefix + ent.name);
  }
  return out.sort();
}

// ---------------------------------------------------------------------------------------------
// round trips
// ---------------------------------------------------------------------------------------------

test('round trip: every writable dtype, scalars, empty tensors, metadata', () => {
  const tensors: Record<string, RawTensor> = {
    f32: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, -0, 1.5, NaN, Infinity, 1e-45]) },
    f64: { dtype: 'float64', shape: [4], data: Float64Array.from([Math.PI, -0, -Infinity, 5e-324]) },
    i32: { dtype: 'int32', shape: [1, 3], data: Int32Array.from([2 ** 31 - 1, -(2 ** 31), 0]) },
    b: { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
    scalar_f32: { dtype: 'float32', shape: [], data: Float32Array.from([7.25]) },
    scalar_f64: { dtype: 'float64', shape: [], data: Float64Array.from([-1e300]) },
    scalar_i32: { dtype: 'int32', shape: [], data: Int32Array.from([-5]) },
    scalar_b: { dtype: 'bool', shape: [], data: Uint8Array.from([1]) },
    empty_f32: { dtype: 'float32', shape: [2, 0, 3], data: new Float32Array(0) },
    empty_f64: { dtype: 'float64', shape: [0], data: new Float64Array(0) },
    empty_i32: { dtype: 'int32', shape: [0, 5], data: new Int32Array(0) },
    empty_b: { dtype: 'bool', shape: [3, 0], data: new Uint8Array(0) },
  };
  const metadata = { format: 'pt', note: 'unicode ✓ "quoted" \\ back\nslash', '': 'empty key' };
  const bytes = serializeSafetensors(tensors, metadata);
  const { tensors: back, metadata: meta } = parseSafetensors(bytes);
  assert.deepEqual(meta, metadata);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(tensors).sort());
  const srcDtype: Record<RawTensor['dtype'], SafeDType> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };
  for (const [name, t] of Object.entries(tensors)) {
    const r = back[name]!;
    assert.equal(r.dtype, t.dtype, name);
    assert.equal(r.sourceDtype, srcDtype[t.dtype], name);
    assert.deepEqual(r.shape, t.shape, name);
    assert.equal(r.data.constructor, t.data.constructor, name);
    // compare bit for bit (NaN, -0)
    assert.deepEqual(
      new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength),
      new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      name,
    );
  }
});

test('round trip: no metadata gives an empty metadata map; metadata {} is written', () => {
  const t = { x: { dtype: 'float32', shape: [1], data: Float32Array.from([1]) } } satisfies Record<string, RawTensor>;
  assert.deepEqual(parseSafetensors(serializeSafetensors(t)).metadata, {});
  const withEmpty = serializeSafetensors(t, {});
  assert.ok(new TextDecoder().decode(withEmpty).includes('"__metadata__":{}'));
  assert.deepEqual(parseSafetensors(withEmpty).metadata, {});
});

test('round trip: awkward names (__proto__, constructor, unicode, dots)', () => {
  const names = ['__proto__', 'constructor', 'toString', 'héllo.wörld', '𝔁.weight', 'a.b.c', '', ' '];
  const tensors: Record<string, RawTensor> = {};
  names.forEach((n, i) => Object.defineProperty(tensors, n, {
    value: { dtype: 'int32', shape: [1], data: Int32Array.from([i]) }, enumerable: true,
  }));
  const back = parseSafetensors(serializeSafetensors(tensors)).tensors;
  assert.deepEqual(Object.keys(back).sort(), names.slice().sort());
  names.forEach((n, i) => assert.equal(Object.getOwnPropertyDescriptor(back, n)!.value.data[0], i, n));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
});

test('bool tensors are written and read as 0/1', () => {
  const bytes = serializeSafetensors({ m: { dtype: 'bool', shape: [4], data: Uint8Array.from([0, 2, 255, 1]) } });
  assert.deepEqual([...bytes.subarray(bytes.length - 4)], [0, 1, 1, 1]);
  const raw = fileOf({ m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [0, 7, 1]);
  assert.deepEqual([...parseSafetensors(raw).tensors.m!.data], [0, 1, 1]);
});

test('the writer is deterministic: insertion order does not matter', () => {
  const a: RawTensor = { dtype: 'float32', shape: [1], data: Float32Array.from([1]) };
  const b: RawTensor = { dtype: 'int32', shape: [2], data: Int32Array.from([1, 2]) };
  const c: RawTensor = { dtype: 'float64', shape: [1], data: Float64Array.from([3]) };
  const x = serializeSafetensors({ a, b, c }, { k1: 'v', k2: 'w' });
  const y = serializeSafetensors({ c, b, a }, { k2: 'w', k1: 'v' });
  assert.deepEqual(x, y);
});

test('written layout: header padded to 8 and every tensor aligned to its element size', () => {
  const tensors: Record<string, RawTensor> = {
    flag: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    w: { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) },
    step: { dtype: 'int32', shape: [1], data: Int32Array.from([9]) },
    m: { dtype: 'float64', shape: [3], data: Float64Array.from([1, 2, 3]) },
    zz: { dtype: 'float64', shape: [1], data: Float64Array.from([4]) },
  };
  const bytes = serializeSafetensors(tensors);
  const n = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  // official order: F64, F32, I32, BOOL; by name within a dtype
  assert.deepEqual(Object.keys(header), ['m', 'zz', 'w', 'step', 'flag']);
  const size: Record<string, number> = { F64: 8, F32: 4, I32: 4, BOOL: 1 };
  let cursor = 0;
  for (const info of Object.values(header)) {
    assert.equal(info.data_offsets[0], cursor);
    assert.equal((8 + n + info.data_offsets[0]) % size[info.dtype]!, 0);
    cursor = info.data_offsets[1];
  }
  assert.equal(8 + n + cursor, bytes.length);
});

test('parsed data is copied out: aligned, independent of the input, fine with odd byteOffset', () => {
  const file = serializeSafetensors({
    a: { dtype: 'float64', shape: [2], data: Float64Array.from([1.5, -2]) },
    b: { dtype: 'float32', shape: [1], data: Float32Array.from([3]) },
    c: { dtype: 'bool', shape: [1], data: Uint8Array.from([1]) },
  });
  // place the file at an odd offset inside a larger buffer (like a Node Buffer from a pool)
  const big = new Uint8Array(file.length + 11);
  big.set(file, 3);
  const view = big.subarray(3, 3 + file.length);
  const { tensors } = parseSafetensors(view);
  assert.deepEqual([...tensors.a!.data], [1.5, -2]);
  assert.deepEqual([...tensors.b!.data], [3]);
  for (const t of Object.values(tensors)) {
    assert.notEqual(t.data.buffer, big.buffer);
    assert.equal(t.data.byteOffset, 0);
  }
  big.fill(0);
  assert.deepEqual([...tensors.a!.data], [1.5, -2]);
  assert.deepEqual([...tensors.c!.data], [1]);
  // Node Buffer input works too
  assert.deepEqual([...parseSafetensors(Buffer.from(file)).tensors.a!.data], [1.5, -2]);
});

// ---------------------------------------------------------------------------------------------
// golden bytes, built by hand from the format spec
// (the first three are the same cases the official implementation's own unit tests pin down)
// ---------------------------------------------------------------------------------------------

test('golden: no tensors is `{}` padded to 8 bytes', () => {
  const expected = concat(u64le(8), enc.encode('{}      '));
  assert.deepEqual(serializeSafetensors({}), expected);
  assert.deepEqual(parseSafetensors(expected), { tensors: {}, metadata: {} });
});

test('golden: metadata only', () => {
  const json = '{"__metadata__":{"framework":"pt"}}'; // 35 bytes → 5 spaces
  const expected = concat(u64le(40), enc.encode(json + '     '));
  assert.deepEqual(serializeSafetensors({}, { framework: 'pt' }), expected);
  assert.deepEqual(parseSafetensors(expected).metadata, { framework: 'pt' });
});

test('golden: one F32 tensor, header padded to keep the data aligned', () => {
  const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}'; // 65 bytes → 7 spaces
  const data = hex('00000000 0000803f 00000040 00004040 00008040 0000a040'); // 0..5 as f32 LE
  const expected = concat(u64le(72), enc.encode(json + '       '), data);
  const t: RawTensor = { dtype: 'float32', shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
  assert.deepEqual(serializeSafetensors({ attn0: t }), expected);
  const back = parseSafetensors(expected).tensors.attn0!;
  assert.deepEqual(back, { ...t, shape: [1, 1, 2, 3], sourceDtype: 'F32' });

  const json2 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'; // exactly 64: no padding
  assert.deepEqual(
    serializeSafetensors({ 'attn.0': { ...t, shape: [1, 2, 3] } }),
    concat(u64le(64), enc.encode(json2), data),
  );
});

test('golden: mixed dtypes, ordering, scalar, empty tensor, metadata', () => {
  const json =
    '{"__metadata__":{"a":"1","b":"x"},' +
    '"z":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
    '"a":{"dtype":"F32","shape":[0,2],"data_offsets":[8,8]},' +
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"c":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},' +
    '"d":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]}}';
  const pad = ' '.repeat((8 - (json.length % 8)) % 8);
  const data = hex(`
    000000000000f83f
    0000c03f 000020c1
    feffffff
    01 00 01`); // z = 1.5, b = [1.5, -10], c = [-2], d = [1, 0, 1]
  const expected = concat(u64le(json.length + pad.length), enc.encode(json + pad), data);
  const tensors: Record<string, RawTensor> = {
    d: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    c: { dtype: 'int32', shape: [1], data: Int32Array.from([-2]) },
    b: { dtype: 'float32', shape: [2], data: Float32Array.from([1.5, -10]) },
    a: { dtype: 'float32', shape: [0, 2], data: new Float32Array(0) },
    z: { dtype: 'float64', shape: [], data: Float64Array.from([1.5]) },
  };
  assert.deepEqual(serializeSafetensors(tensors, { b: 'x', a: '1' }), expected);
  const parsed = parseSafetensors(expected);
  assert.deepEqual(parsed.metadata, { a: '1', b: 'x' });
  for (const [k, t] of Object.entries(tensors)) {
    assert.deepEqual(parsed.tensors[k]!.shape, t.shape);
    assert.deepEqual([...parsed.tensors[k]!.data], [...t.data]);
  }
});

test('reader accepts unpadded headers, other whitespace padding and keys in any order', () => {
  const header = '{"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}, "a":{"data_offsets":[0,4],"shape":[1],"dtype":"I32","extra":1}}\n\t ';
  const { tensors } = parseSafetensors(fileOf(header, [1, 0, 0, 0, 2, 0, 0, 0], { pad: false }));
  assert.deepEqual([...tensors.a!.data], [1]);
  assert.deepEqual([...tensors.b!.data], [2]);
});

// ---------------------------------------------------------------------------------------------
// other source dtypes: F16, BF16, I64, I16, I8, U8
// ---------------------------------------------------------------------------------------------

function halfRef(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function bf16Ref(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 7) & 0xff;
  const m = h & 0x7f;
  if (e === 0) return s * (m / 128) * 2 ** -126;
  if (e === 255) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 128) * 2 ** (e - 127);
}

const f16NanBits = (h: number) => (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;
const bf16NanBits = (h: number) => (h << 16) >>> 0;

for (const [dtype, ref, nanBits] of [['F16', halfRef, f16NanBits], ['BF16', bf16Ref, bf16NanBits]] as const) {
  test(`${dtype} → float32 is exact for all 65536 bit patterns`, () => {
    const n = 65536;
    const raw = new Uint8Array(2 * n);
    for (let i = 0; i < n; i++) {
      raw[2 * i] = i & 0xff;
      raw[2 * i + 1] = i >> 8;
    }
    const { tensors } = parseSafetensors(fileOf({ h: { dtype, shape: [256, 256], data_offsets: [0, 2 * n] } }, raw));
    const t = tensors.h!;
    assert.equal(t.dtype, 'float32');
    assert.equal(t.sourceDtype, dtype);
    assert.deepEqual(t.shape, [256, 256]);
    const out = t.data as Float32Array;
    const bits = bitsOf(out);
    for (let i = 0; i < n; i++) {
      const want = ref(i);
      if (Number.isNaN(want)) {
        assert.ok(Number.isNaN(out[i]), `pattern ${i.toString(16)}`);
        // sign and payload are kept: the mantissa bits move up unchanged
        assert.equal(bits[i], nanBits(i), `NaN bits of 0x${i.toString(16)}`);
      } else {
        assert.ok(Object.is(out[i], want), `pattern 0x${i.toString(16)}: got ${out[i]}, want ${want}`);
      }
    }
  });
}

test('I64, I16, I8, U8 are read as int32', () => {
  const i64 = new DataView(new ArrayBuffer(32));
  [0n, -1n, 2147483647n, -2147483648n].forEach((v, i) => i64.setBigInt64(8 * i, v, true));
  const i16 = new DataView(new ArrayBuffer(6));
  [-32768, 32767, -2].forEach((v, i) => i16.setInt16(2 * i, v, true));
  const data = concat(new Uint8Array(i64.buffer), new Uint8Array(i16.buffer), [0x80, 0x7f, 0xff], [0, 128, 255]);
  const file = fileOf({
    u: { dtype: 'U8', shape: [3], data_offsets: [41, 44] },
    q: { dtype: 'I64', shape: [2, 2], data_offsets: [0, 32] },
    s: { dtype: 'I16', shape: [3], data_offsets: [32, 38] },
    c: { dtype: 'I8', shape: [3], data_offsets: [38, 41] },
  }, data);
  const { tensors } = parseSafetensors(file);
  const want: Record<string, [SafeDType, number[]]> = {
    q: ['I64', [0, -1, 2147483647, -2147483648]],
    s: ['I16', [-32768, 32767, -2]],
    c: ['I8', [-128, 127, -1]],
    u: ['U8', [0, 128, 255]],
  };
  for (const [k, [src, values]] of Object.entries(want)) {
    assert.equal(tensors[k]!.dtype, 'int32');
    assert.equal(tensors[k]!.sourceDtype, src);
    assert.ok(tensors[k]!.data instanceof Int32Array);
    assert.deepEqual([...tensors[k]!.data], values);
  }
});

// ---------------------------------------------------------------------------------------------
// fixtures written with PyTorch (scripts/fixtures/make_safetensors_fixtures.py)
// ---------------------------------------------------------------------------------------------

interface Expected {
  f64: string[]; f32_bits: number[]; f16_count: number; bf16_count: number;
  i64: number[]; i32: number[]; i16: number[]; i8: number[]; u8: number[]; bool: number[];
}

test('fixture from torch: every dtype decodes to torch\'s values', async () => {
  const bytes = new Uint8Array(await readFile(join(FIXTURES, 'torch_dtypes.safetensors')));
  const exp = JSON.parse(await readFile(join(FIXTURES, 'torch_dtypes.expected.json'), 'utf8')) as Expected;
  const { tensors: t, metadata } = parseSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt', source: 'make_safetensors_fixtures.py', unicode: 'häß ✓' });
  const src = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.sourceDtype]));
  assert.deepEqual(src, {
    bf16: 'BF16', bf16_as_f32: 'F32', bool: 'BOOL', empty: 'F32', f16: 'F16', f16_as_f32: 'F32', f32: 'F32',
    f64: 'F64', i16: 'I16', i32: 'I32', i64: 'I64', i8: 'I8', scalar: 'F32', u8: 'U8',
  });

  assert.deepEqual(t.f64!.shape, [2, 3]);
  assert.equal(t.f64!.dtype, 'float64');
  exp.f64.forEach((s, i) => assert.ok(Object.is(t.f64!.data[i], Number(s)), `f64[${i}]`));
  assert.deepEqual([...new Int32Array(t.f32!.data.buffer)], exp.f32_bits);

  for (const [name, count] of [['f16', exp.f16_count], ['bf16', exp.bf16_count]] as const) {
    const got = t[name]!;
    const ref = t[`${name}_as_f32`]!;
    assert.equal(got.dtype, 'float32');
    assert.deepEqual(got.shape, ref.shape);
    assert.equal(got.data.length, count);
    const a = got.data as Float32Array;
    const b = ref.data as Float32Array;
    let nans = 0;
    for (let i = 0; i < count; i++) {
      if (Number.isNaN(b[i])) {
        nans++;
        assert.ok(Number.isNaN(a[i]), `${name}[${i}]`);
      } else {
        assert.equal(bitsOf(a)[i], bitsOf(b)[i], `${name}[${i}]: ${a[i]} vs torch ${b[i]}`);
      }
    }
    assert.ok(nans > 0 && nans < count / 10);
  }

  for (const k of ['i64', 'i32', 'i16', 'i8', 'u8'] as const) {
    assert.equal(t[k]!.dtype, 'int32', k);
    assert.deepEqual([...t[k]!.data], exp[k], k);
  }
  assert.deepEqual(t.i64!.shape, [2, 3]);
  assert.equal(t.bool!.dtype, 'bool');
  assert.deepEqual([...t.bool!.data], exp.bool);
  assert.deepEqual(t.scalar!.shape, []);
  assert.deepEqual([...t.scalar!.data], [2.5]);
  assert.deepEqual(t.empty!.shape, [2, 0, 3]);
  assert.equal(t.empty!.data.length, 0);
});

test('fixture from torch: I64 value beyond int32 is rejected, naming the tensor', async () => {
  const bytes = new Uint8Array(await readFile(join(FIXTURES, 'i64_out_of_range.safetensors')));
  rejects(bytes, 'tensor "big": I64 value 2147483648 at index 1 does not fit in int32');
});

test('fixture: the writer reproduces the official layout byte for byte', async () => {
  const golden = new Uint8Array(await readFile(join(FIXTURES, 'writer_golden.safetensors')));
  const tensors: Record<string, RawTensor> = {
    'layer.weight': { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]) },
    'layer.bias': { dtype: 'float32', shape: [2], data: Float32Array.from([-1.5, 0.25]) },
    steps: { dtype: 'int32', shape: [3], data: Int32Array.from([3, -4, 2 ** 31 - 1]) },
    mask: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    moments: { dtype: 'float64', shape: [1, 1], data: Float64Array.from([1 / 3]) },
    empty_i32: { dtype: 'int32', shape: [0], data: new Int32Array(0) },
    lr: { dtype: 'float64', shape: [], data: Float64Array.from([0.001]) },
  };
  assert.deepEqual(serializeSafetensors(tensors, { format: 'pt', epoch: '3' }), golden);
  const parsed = parseSafetensors(golden);
  assert.deepEqual(serializeSafetensors(parsed.tensors, parsed.metadata), golden);
});

// ---------------------------------------------------------------------------------------------
// malformed files
// ---------------------------------------------------------------------------------------------

const F32x2 = f32Bytes(1, 2);
const okEntry = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

test('malformed: truncated length prefix', () => {
  rejects(new Uint8Array(0), 'too short');
  rejects(new Uint8Array([8, 0, 0, 0, 0]), 'file is too short: 5 bytes');
});

test('malformed: header length beyond the file / absurdly large', () => {
  rejects(concat(u64le(100), enc.encode('{}      ')), 'header length 100 exceeds the file');
  rejects(concat(u64le(100_000_001), enc.encode('{}')), 'too large');
  rejects(concat(u64le(2 ** 40), enc.encode('{}')), 'too large');
  rejects(concat([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], enc.encode('{}')), 'too large');
});

test('malformed: header not UTF-8, not JSON, not an object', () => {
  rejects(concat(u64le(4), [0x7b, 0xff, 0xfe, 0x7d]), 'not valid UTF-8');
  rejects(fileOf('{"a":'), 'header is not valid JSON');
  rejects(fileOf(''), 'header is not valid JSON');
  rejects(fileOf('[]'), 'header must be a JSON object, got array');
  rejects(fileOf('null'), 'header must be a JSON object, got null');
  rejects(fileOf('"str"'), 'header must be a JSON object, got string');
});

test('malformed: entries missing fields or of the wrong type', () => {
  rejects(fileOf({ a: 3 }), 'tensor "a": entry must be an object');
  rejects(fileOf({ a: [1, 2] }), 'tensor "a": entry must be an object');
  rejects(fileOf({ a: { shape: [2], data_offsets: [0, 8] } }, F32x2), 'tensor "a": missing "dtype"');
  rejects(fileOf({ a: { dtype: 'F32', data_offsets: [0, 8] } }, F32x2), 'tensor "a": missing "shape"');
  rejects(fileOf({ a: { dtype: 'F32', shape: [2] } }, F32x2), 'tensor "a": missing "data_offsets"');
  rejects(fileOf({ a: { ...okEntry, dtype: 4 } }, F32x2), 'tensor "a": "dtype" must be a string');
});

test('malformed: unknown and unsupported dtypes', () => {
  rejects(fileOf({ w: { ...okEntry, dtype: 'Q7' } }, F32x2), 'tensor "w": unknown dtype "Q7"');
  rejects(fileOf({ w: { ...okEntry, dtype: 'f32' } }, F32x2), 'unknown dtype "f32"');
  rejects(fileOf({ w: { ...okEntry, dtype: 'U32' } }, F32x2), 'tensor "w": unsupported dtype "U32"');
});

test('malformed: bad shapes', () => {
  rejects(fileOf({ w: { ...okEntry, shape: [2, -1] } }, F32x2), 'tensor "w": "shape" must be an array of non-negative integers');
  rejects(fileOf({ w: { ...okEntry, shape: [1.5] } }, F32x2), 'non-negative integers');
  rejects(fileOf({ w: { ...okEntry, shape: ['2'] } }, F32x2), 'non-negative integers');
  rejects(fileOf({ w: { ...okEntry, shape: 2 } }, F32x2), 'non-negative integers');
  rejects(fileOf({ w: { ...okEntry, shape: [2 ** 40, 2 ** 40], data_offsets: [0, 0] } }), 'has too many elements');
});

test('malformed: bad data_offsets', () => {
  rejects(fileOf({ w: { ...okEntry, data_offsets: [0, 8.5] } }, F32x2), 'tensor "w": "data_offsets" must be [begin, end] with non-negative integers');
  rejects(fileOf({ w: { ...okEntry, data_offsets: [0] } }, F32x2), '"data_offsets" must be [begin, end]');
  rejects(fileOf({ w: { ...okEntry, data_offsets: [-8, 0] } }, F32x2), '"data_offsets" must be [begin, end]');
  rejects(fileOf({ w: { ...okEntry, data_offsets: { begin: 0, end: 8 } } }, F32x2), '"data_offsets" must be [begin, end]');
  rejects(fileOf({ w: { ...okEntry, data_offsets: [8, 0] } }, F32x2), 'tensor "w": data_offsets begin (8) > end (0)');
  rejects(fileOf({ w: { ...okEntry, data_offsets: [8, 16] } }, F32x2), 'tensor "w": data_offsets [8, 16] end beyond the data buffer, which has 8 bytes');
  rejects(fileOf({ w: { ...okEntry, data_offsets: [0, 1e300] } }, F32x2), '"data_offsets" must be [begin, end]');
});

test('malformed: byte length does not match shape × itemsize', () => {
  rejects(fileOf({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, F32x2), 'tensor "w": byte length 8 does not match shape [3] × 4 bytes (F32) = 12');
  rejects(fileOf({ w: { dtype: 'F64', shape: [], data_offsets: [0, 4] } }, f32Bytes(1)), 'does not match shape []');
});

test('malformed: overlapping tensors, holes, trailing bytes', () => {
  const d16 = f32Bytes(1, 2, 3, 4);
  rejects(fileOf({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    c: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
  }, d16), 'tensor "b" (bytes 4..12) overlaps tensor "a" (bytes 0..8)');
  rejects(fileOf({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    c: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
  }, d16), 'overlaps');
  rejects(fileOf({
    a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    c: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
  }, d16), 'hole in the data buffer: bytes 4..8 before tensor "b"');
  rejects(fileOf({ b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, d16), 'hole in the data buffer: bytes 0..8');
  rejects(fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, d16), 'data buffer has 8 trailing bytes after the last tensor');
  rejects(fileOf({}, [0]), 'trailing bytes');
});

test('malformed: __metadata__ not a string → string map', () => {
  rejects(fileOf({ __metadata__: { epoch: 3 }, w: okEntry }, F32x2), '__metadata__["epoch"] must be a string, got number');
  rejects(fileOf({ __metadata__: { nested: { a: 'b' } } }), '__metadata__["nested"] must be a string, got object');
  rejects(fileOf({ __metadata__: ['a'] }), '__metadata__ must be an object of string → string, got array');
  rejects(fileOf({ __metadata__: 'format=pt' }), '__metadata__ must be an object');
});

test('malformed: I64 value outside int32 names the tensor and the value', () => {
  const v = new DataView(new ArrayBuffer(24));
  v.setBigInt64(0, 5n, true);
  v.setBigInt64(8, -2147483649n, true);
  v.setBigInt64(16, 2n ** 62n, true);
  rejects(fileOf({ ids: { dtype: 'I64', shape: [3], data_offsets: [0, 24] } }, new Uint8Array(v.buffer)),
    'tensor "ids": I64 value -2147483649 at index 1 does not fit in int32');
});

test('malformed: truncated data buffer (every prefix of a valid file is rejected)', () => {
  const file = serializeSafetensors({
    a: { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) },
    b: { dtype: 'int32', shape: [2], data: Int32Array.from([4, 5]) },
  }, { k: 'v' });
  rejects(file.subarray(0, file.length - 3), /tensor "b": data_offsets \[12, 20\] end beyond the data buffer, which has 17 bytes \(file truncated\?\)/);
  for (let n = 0; n < file.length; n++) {
    assert.throws(() => parseSafetensors(file.subarray(0, n)), SafetensorsError, `prefix of ${n} bytes`);
  }
  // …and extending it is rejected too
  rejects(concat(file, [0, 0, 0, 0]), 'trailing bytes');
});

test('malformed: random corruption only ever gives SafetensorsError (never a crash or RangeError)', () => {
  const file = serializeSafetensors({
    w: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
    s: { dtype: 'float64', shape: [], data: Float64Array.from([5]) },
    m: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  }, { a: 'b' });
  const rand = rng(12345);
  const headerLen = new DataView(file.buffer).getUint32(0, true);
  const interesting = enc.encode('0123456789[]{}",:-.e "F16I64');
  let accepted = 0;
  for (let iter = 0; iter < 3000; iter++) {
    const b = file.slice();
    const k = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < k; j++) {
      const pos = rand() < 0.1 ? Math.floor(rand() * 8) : 8 + Math.floor(rand() * headerLen);
      b[pos] = rand() < 0.5 ? Math.floor(rand() * 256) : interesting[Math.floor(rand() * interesting.length)]!;
    }
    try {
      parseSafetensors(b);
      accepted++;
    } catch (err) {
      assert.ok(err instanceof SafetensorsError, `iteration ${iter}: ${String(err)}`);
    }
  }
  assert.ok(accepted < 3000);
});

test('parse rejects non-Uint8Array input', () => {
  assert.throws(() => parseSafetensors('abc' as unknown as Uint8Array), SafetensorsError);
});

// ---------------------------------------------------------------------------------------------
// writer input validation
// ---------------------------------------------------------------------------------------------

test('serialize rejects bad tensors and metadata with SafetensorsError', () => {
  const bad = (tensors: unknown, phrase: string, metadata?: unknown) =>
    assert.throws(
      () => serializeSafetensors(tensors as Record<string, RawTensor>, metadata as Record<string, string>),
      (err: unknown) => err instanceof SafetensorsError && err.message.includes(phrase),
      phrase,
    );
  const f = Float32Array.from([1, 2]);
  bad({ __metadata__: { dtype: 'float32', shape: [2], data: f } }, 'the name "__metadata__" is reserved');
  bad({ w: { dtype: 'float16', shape: [2], data: f } }, 'tensor "w": dtype must be one of float32, float64, int32, bool');
  bad({ w: { dtype: 'float32', shape: [3], data: f } }, 'tensor "w": data has 2 elements but shape [3] needs 3');
  bad({ w: { dtype: 'float32', shape: [-2], data: f } }, 'tensor "w": "shape" must be an array of non-negative integers');
  bad({ w: { dtype: 'float64', shape: [2], data: f } }, 'tensor "w": dtype float64 needs data in a Float64Array, got Float32Array');
  bad({ w: { dtype: 'bool', shape: [2], data: [1, 0] } }, 'needs data in a Uint8Array, got array');
  bad({ w: null }, 'tensor "w": expected a tensor object');
  bad({}, '__metadata__["epoch"] must be a string, got number', { epoch: 1 });
});

// ---------------------------------------------------------------------------------------------
// files: atomic writes, load/save
// ---------------------------------------------------------------------------------------------

test('writeFileAtomic: writes, overwrites, leaves no temp files', async () => {
  await withTmp(async (dir) => {
    const p = join(dir, 'model.safetensors');
    await writeFileAtomic(p, 'first');
    await writeFileAtomic(p, Uint8Array.from([1, 2, 3]));
    assert.deepEqual([...(await readFile(p))], [1, 2, 3]);
    await writeFileAtomic(join(dir, 'notes.txt'), 'héllo');
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'héllo');
    const names = await readdir(dir);
    assert.deepEqual(names.sort(), ['model.safetensors', 'notes.txt']);
    assert.ok(!names.some((n) => n.includes('.tmp-')));
  });
});

test('writeFileAtomic / writeDirAtomic never overwrite stale temp names left by a crashed process', async () => {
  await withTmp(async (dir) => {
    const p = join(dir, 'm.bin');
    const ck = join(dir, 'ck');
    const stale: string[] = [];
    for (let n = 1; n <= 60; n++) {
      stale.push(`m.bin.tmp-${process.pid}-${n}`, `ck.tmp-${process.pid}-${n}`);
      await writeFile(join(dir, `m.bin.tmp-${process.pid}-${n}`), 'stale');
      await mkdir(join(dir, `ck.tmp-${process.pid}-${n}`));
    }
    await writeFileAtomic(p, 'fresh');
    await writeDirAtomic(ck, { f: 'fresh' });
    assert.equal(await readFile(p, 'utf8'), 'fresh');
    assert.deepEqual(await listTree(ck), ['f']);
    assert.deepEqual((await readdir(dir)).sort(), ['ck', 'm.bin', ...stale].sort());
    assert.equal(await readFile(join(dir, stale[0]!), 'utf8'), 'stale');
  });
});

test('writeFileAtomic: missing directory → Error naming the path, no temp file left', async () => {
  await withTmp(async (dir) => {
    const p = join(dir, 'missing', 'model.safetensors');
    await assert.rejects(writeFileAtomic(p, 'x'), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(err.message.includes(p), err.message);
      assert.ok(err.message.includes(`directory "${join(dir, 'missing')}" does not exist`), err.message);
      assert.equal((err as Error & { code?: string }).code, 'ENOENT');
      assert.ok(err.cause instanceof Error);
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });
});

test('writeFileAtomic: target is a directory → Error, temp file removed', async () => {
  await withTmp(async (dir) => {
    const p = join(dir, 'ckpt');
    await mkdir(p);
    await assert.rejects(writeFileAtomic(p, 'x'), (err: unknown) => err instanceof Error && err.message.includes(p));
    assert.deepEqual(await readdir(dir), ['ckpt']);
    assert.deepEqual(await readdir(p), []);
  });
});

test('saveSafetensorsFile / loadSafetensorsFile round trip and errors name the path', async () => {
  await withTmp(async (dir) => {
    const p = join(dir, 'w.safetensors');
    const w: RawTensor = { dtype: 'float32', shape: [2], data: Float32Array.from([0.5, -1]) };
    await saveSafetensorsFile(p, { w }, { format: 'pt' });
    const { tensors, metadata } = await loadSafetensorsFile(p);
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual([...tensors.w!.data], [0.5, -1]);
    assert.deepEqual(await readdir(dir), ['w.safetensors']);

    const missing = join(dir, 'nope.safetensors');
    await assert.rejects(loadSafetensorsFile(missing), (err: unknown) =>
      err instanceof Error && err.message.includes(missing) && err.message.includes('no such file'));

    const corrupt = join(dir, 'bad.safetensors');
    await writeFile(corrupt, Uint8Array.from([1, 2, 3]));
    await assert.rejects(loadSafetensorsFile(corrupt), (err: unknown) =>
      err instanceof SafetensorsError && err.message.includes(corrupt) && err.message.includes('too short'));

    await assert.rejects(
      saveSafetensorsFile(join(dir, 'x.safetensors'), { w: { ...w, shape: [3] } }),
      (err: unknown) => err instanceof SafetensorsError && err.message.includes('x.safetensors') && err.message.includes('needs 3'),
    );
    assert.ok(!(await exists(join(dir, 'x.safetensors'))));
  });
});

test('writeDirAtomic: creates, then replaces an existing directory completely', async () => {
  await withTmp(async (root) => {
    const ckpt = join(root, 'ckpt');
    await writeDirAtomic(ckpt, { 'a.bin': Uint8Array.from([1]), 'b.json': '{}', 'sub/c.txt': 'c' });
    assert.deepEqual(await listTree(ckpt), ['a.bin', 'b.json', 'sub/c.txt']);

    await writeDirAtomic(`${ckpt}/`, { 'model.safetensors': Uint8Array.from([9, 9]), 'nested/deep/x.json': '"x"' });
    assert.deepEqual(await listTree(ckpt), ['model.safetensors', 'nested/deep/x.json']);
    assert.deepEqual([...(await readFile(join(ckpt, 'model.safetensors')))], [9, 9]);
    assert.equal(await readFile(join(ckpt, 'nested/deep/x.json'), 'utf8'), '"x"');
    assert.deepEqual(await readdir(root), ['ckpt']); // no .tmp-/.old- siblings

    await writeDirAtomic(ckpt, {});
    assert.deepEqual(await listTree(ckpt), []);
    assert.deepEqual(await readdir(root), ['ckpt']);
  });
});

test('writeDirAtomic: failures leave the old directory intact and no temp dirs', async () => {
  await withTmp(async (root) => {
    const ckpt = join(root, 'ckpt');
    await writeDirAtomic(ckpt, { 'keep.txt': 'old' });
    // 'a' as a file and as a directory: the second write fails half-way through
    await assert.rejects(writeDirAtomic(ckpt, { a: 'x', 'a/b': 'y' }), (err: unknown) =>
      err instanceof Error && err.message.includes(ckpt));
    assert.deepEqual(await listTree(ckpt), ['keep.txt']);
    assert.equal(await readFile(join(ckpt, 'keep.txt'), 'utf8'), 'old');
    assert.deepEqual(await readdir(root), ['ckpt']);

    for (const bad of ['../escape', '/abs', 'a//b', './x', '']) {
      await assert.rejects(writeDirAtomic(ckpt, { [bad]: 'x' }), /invalid file name/, bad);
    }
    assert.deepEqual(await listTree(ckpt), ['keep.txt']);

    const missingParent = join(root, 'no', 'such', 'ckpt');
    await assert.rejects(writeDirAtomic(missingParent, { x: 'y' }), (err: unknown) =>
      err instanceof Error && err.message.includes(missingParent) &&
      err.message.includes(`parent directory "${join(root, 'no', 'such')}" does not exist`));

    const file = join(root, 'plain');
    await writeFile(file, 'f');
    await assert.rejects(writeDirAtomic(file, { x: 'y' }), /exists and is not a directory/);
    assert.equal(await readFile(file, 'utf8'), 'f');
    assert.deepEqual((await readdir(root)).sort(), ['ckpt', 'plain']);
  });
});
