/**
 * Reader and writer for the safetensors format (huggingface/safetensors).
 *
 * Layout of a file:
 *
 *   [8 bytes]  N, unsigned 64-bit little-endian: the header length in bytes
 *   [N bytes]  UTF-8 JSON object, possibly padded with trailing spaces:
 *                { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
 *                  ...,
 *                  "__metadata__": { "<key>": "<string value>" } }      (optional)
 *   [rest]     the byte buffer; `data_offsets` are relative to its start. Tensors are
 *              C-contiguous and little-endian, and together they cover the buffer exactly.
 *
 * This module is pure and browser-safe: no `node:` imports, no Buffer. All reads go through
 * bounds-checked DataView/Uint8Array accesses, and every tensor's data is copied into a fresh,
 * aligned typed array (never a view into the input).
 *
 * The writer follows the official implementation byte for byte: tensors are laid out in order of
 * descending dtype (F64, F32, I32, BOOL) and then by name (UTF-8 byte order), the JSON is compact
 * with `__metadata__` first and keys `dtype`, `shape`, `data_offsets`, and the header is padded
 * with spaces to a multiple of 8 bytes so that every tensor starts aligned to its element size.
 * Metadata keys are written in sorted order so equal inputs always give equal bytes.
 */

/** Element types of the safetensors format that genlab can read. */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A dense, C-contiguous tensor as plain data: what goes into and comes out of a safetensors file. */
export interface RawTensor {
  dtype: 'float32' | 'float64' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
}

/** Any problem with a safetensors file (or with tensors handed to the writer). */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Largest header accepted, as in the official parser (100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafeDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Dtypes of the official format that genlab does not read (for a clearer error than "unknown"). */
const UNSUPPORTED_OFFICIAL = new Set([
  'U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64',
]);

type WriteDType = RawTensor['dtype'];

const WRITE_DTYPE: Record<WriteDType, SafeDType> = { float64: 'F64', float32: 'F32', int32: 'I32', bool: 'BOOL' };

/** Rank of each written dtype in the official writer's order (its Dtype enum order); higher first. */
const WRITE_RANK: Record<WriteDType, number> = { float64: 3, float32: 2, int32: 1, bool: 0 };

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8Encoder = new TextEncoder();

function fail(message: string): never {
  throw new SafetensorsError(message);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function typeName(v: unknown): string {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const ctor = (v as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === 'string') return ctor.name;
  }
  return describe(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Defines an own enumerable property (safe for names such as "__proto__"). */
function define<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function fmtShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => String(d)).join(', ')}]`;
}

/**
 * Copies `n` elements of `itemSize` bytes from little-endian `src` into `dst` (host order),
 * bit for bit (NaN payloads included).
 */
function copyLittleEndian(src: Uint8Array, dst: Uint8Array, itemSize: number): void {
  if (src.length !== dst.length) throw new Error('internal: copy length mismatch');
  if (HOST_LITTLE_ENDIAN || itemSize === 1) {
    dst.set(src);
    return;
  }
  for (let i = 0; i < src.length; i += itemSize) {
    for (let j = 0; j < itemSize; j++) dst[i + j] = src[i + itemSize - 1 - j]!;
  }
}

function bytesOf(a: Float32Array | Float64Array | Int32Array | Uint8Array | Uint32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Exact IEEE binary16 → binary32 conversion, on bit patterns (NaN payloads kept). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Subnormal: shift the mantissa up until its leading 1 reaches the implicit-bit position.
    let e = 113; // biased float32 exponent of 2^-14, the half-precision subnormal scale
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

/** Product of the dims, or -1 when it is not a safe integer. */
function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return 0;
  return Number.isSafeInteger(n) ? n : -1;
}

function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8Encoder.encode(a);
  const y = utf8Encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function checkShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) fail(`${where}: "shape" must be an array of non-negative integers, got ${describe(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`${where}: "shape" must be an array of non-negative integers, got ${fmtShape(shape)}`);
    }
  }
  return shape as number[];
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Serializes `tensors` (and optional string→string `metadata`) into the bytes of a safetensors
 * file. float32 → F32, float64 → F64, int32 → I32, bool → BOOL (written as 0/1).
 */
export function serializeSafetensors(tensors: Record<string, RawTensor>, metadata?: Record<string, string>): Uint8Array {
  if (!isPlainObject(tensors)) fail(`tensors must be an object of name → tensor, got ${describe(tensors)}`);
  interface Entry { name: string; t: RawTensor; dtype: SafeDType; byteLength: number }
  const entries: Entry[] = [];
  for (const name of Object.keys(tensors)) {
    const where = `tensor "${name}"`;
    if (name === '__metadata__') fail(`${where}: the name "__metadata__" is reserved for the metadata map`);
    const t = tensors[name];
    if (!isPlainObject(t)) fail(`${where}: expected a tensor object, got ${describe(t)}`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(WRITE_DTYPE, t.dtype)) {
      fail(`${where}: dtype must be one of float32, float64, int32, bool, got ${JSON.stringify(t.dtype)}`);
    }
    const dtype = WRITE_DTYPE[t.dtype];
    const shape = checkShape(where, t.shape);
    const expectedCtor = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array }[t.dtype];
    if (!(t.data instanceof expectedCtor)) {
      fail(`${where}: dtype ${t.dtype} needs data in a ${expectedCtor.name}, got ${typeName(t.data)}`);
    }
    const numel = numelOf(shape);
    if (numel < 0) fail(`${where}: shape ${fmtShape(shape)} has too many elements`);
    if (t.data.length !== numel) {
      fail(`${where}: data has ${t.data.length} elements but shape ${fmtShape(shape)} needs ${numel}`);
    }
    entries.push({ name, t, dtype, byteLength: numel * ITEM_SIZE[dtype] });
  }
  entries.sort((a, b) => WRITE_RANK[b.t.dtype] - WRITE_RANK[a.t.dtype] || compareUtf8(a.name, b.name));

  let metaJson: string | undefined;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail(`__metadata__ must be an object of string → string, got ${describe(metadata)}`);
    const keys = Object.keys(metadata).sort(compareUtf8);
    const parts: string[] = [];
    for (const k of keys) {
      const v = metadata[k];
      if (typeof v !== 'string') fail(`__metadata__[${JSON.stringify(k)}] must be a string, got ${describe(v)}`);
      parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    metaJson = `{${parts.join(',')}}`;
  }

  const fields: string[] = [];
  if (metaJson !== undefined) fields.push(`"__metadata__":${metaJson}`);
  let offset = 0;
  for (const e of entries) {
    const begin = offset;
    offset += e.byteLength;
    fields.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.t.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  const json = utf8Encoder.encode(`{${fields.join(',')}}`);
  const headerLen = json.length + ((8 - (json.length % 8)) % 8);

  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(headerLen / 0x1_0000_0000), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);

  let pos = 8 + headerLen;
  for (const e of entries) {
    const dst = out.subarray(pos, pos + e.byteLength);
    if (e.dtype === 'BOOL') {
      const src = e.t.data as Uint8Array;
      for (let i = 0; i < src.length; i++) dst[i] = src[i] ? 1 : 0;
    } else {
      copyLittleEndian(bytesOf(e.t.data), dst, ITEM_SIZE[e.dtype]);
    }
    pos += e.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

interface HeaderEntry { name: string; dtype: SafeDType; shape: number[]; numel: number; begin: number; end: number }

function parseEntry(name: string, info: unknown, bufferLength: number): HeaderEntry {
  const where = `tensor "${name}"`;
  if (!isPlainObject(info)) fail(`${where}: entry must be an object with dtype, shape and data_offsets, got ${describe(info)}`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(info, field)) fail(`${where}: missing "${field}"`);
  }
  const dt = info.dtype;
  if (typeof dt !== 'string') fail(`${where}: "dtype" must be a string, got ${describe(dt)}`);
  if (!Object.hasOwn(ITEM_SIZE, dt)) {
    if (UNSUPPORTED_OFFICIAL.has(dt)) {
      fail(`${where}: unsupported dtype "${dt}" (genlab reads ${Object.keys(ITEM_SIZE).join(', ')})`);
    }
    fail(`${where}: unknown dtype ${JSON.stringify(dt)} (expected one of ${Object.keys(ITEM_SIZE).join(', ')})`);
  }
  const dtype = dt as SafeDType;
  const shape = checkShape(where, info.shape).slice();
  const off = info.data_offsets;
  if (
    !Array.isArray(off) || off.length !== 2 ||
    !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)
  ) {
    fail(`${where}: "data_offsets" must be [begin, end] with non-negative integers, got ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as [number, number];
  if (begin > end) fail(`${where}: data_offsets begin (${begin}) > end (${end})`);
  if (end > bufferLength) {
    fail(`${where}: data_offsets [${begin}, ${end}] end beyond the data buffer, which has ${bufferLength} bytes (file truncated?)`);
  }
  const numel = numelOf(shape);
  if (numel < 0) fail(`${where}: shape ${fmtShape(shape)} has too many elements`);
  const expected = numel * ITEM_SIZE[dtype];
  if (end - begin !== expected) {
    fail(
      `${where}: byte length ${end - begin} does not match shape ${fmtShape(shape)} × ${ITEM_SIZE[dtype]} bytes (${dtype}) = ${expected}`,
    );
  }
  return { name, dtype, shape, numel, begin, end };
}

function decodeTensor(e: HeaderEntry, data: Uint8Array, dataView: DataView): RawTensor & { sourceDtype: SafeDType } {
  const src = data.subarray(e.begin, e.end); // bounds already checked against data.length
  const n = e.numel;
  const base = e.begin; // dataView spans exactly `data`
  switch (e.dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      copyLittleEndian(src, bytesOf(out), 4);
      return { dtype: 'float32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'F64': {
      const out = new Float64Array(n);
      copyLittleEndian(src, bytesOf(out), 8);
      return { dtype: 'float64', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'I32': {
      const out = new Int32Array(n);
      copyLittleEndian(src, bytesOf(out), 4);
      return { dtype: 'int32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'F16':
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      if (e.dtype === 'F16') {
        for (let i = 0; i < n; i++) bits[i] = f16ToF32Bits(dataView.getUint16(base + 2 * i, true));
      } else {
        for (let i = 0; i < n; i++) bits[i] = dataView.getUint16(base + 2 * i, true) * 0x10000;
      }
      return { dtype: 'float32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dataView.getInt32(base + 8 * i, true);
        const hi = dataView.getInt32(base + 8 * i + 4, true);
        if (hi !== (lo < 0 ? -1 : 0)) {
          const value = dataView.getBigInt64(base + 8 * i, true);
          fail(`tensor "${e.name}": I64 value ${value} at index ${i} does not fit in int32 (range -2147483648..2147483647)`);
        }
        out[i] = lo;
      }
      return { dtype: 'int32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dataView.getInt16(base + 2 * i, true);
      return { dtype: 'int32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dataView.getInt8(base + i);
      return { dtype: 'int32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'U8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i]!;
      return { dtype: 'int32', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] ? 1 : 0;
      return { dtype: 'bool', shape: e.shape, data: out, sourceDtype: e.dtype };
    }
  }
}

/**
 * Parses the bytes of a safetensors file, validating everything (see the module comment).
 * F32/F64/I32 keep their type, F16/BF16 become float32 (exactly), I64/I16/I8/U8 become int32
 * (I64 only when every value fits), BOOL becomes bool (0/1). `sourceDtype` records the file's dtype.
 * Throws SafetensorsError naming the tensor or field at fault.
 */
export function parseSafetensors(bytes: Uint8Array): {
  tensors: Record<string, RawTensor & { sourceDtype: SafeDType }>;
  metadata: Record<string, string>;
} {
  if (Object.prototype.toString.call(bytes) !== '[object Uint8Array]') fail(`expected the file's bytes as a Uint8Array, got ${describe(bytes)}`);
  const total = bytes.length;
  if (total < 8) fail(`file is too short: ${total} bytes, but the header length prefix alone takes 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 0x1_0000_0000 + lo; // exact below 2^53; anything that large is rejected anyway
  if (headerLen > MAX_HEADER_BYTES) {
    fail(`header length ${hi === 0 ? headerLen : `≥ 2^32 (${headerLen})`} is too large (limit ${MAX_HEADER_BYTES} bytes)`);
  }
  if (headerLen > total - 8) {
    fail(`header length ${headerLen} exceeds the file: only ${total - 8} bytes follow the 8-byte length prefix`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${describe(header)}`);

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(header, '__metadata__')) {
    const m = header.__metadata__;
    if (m !== null) {
      if (!isPlainObject(m)) fail(`__metadata__ must be an object of string → string, got ${describe(m)}`);
      for (const k of Object.keys(m)) {
        const v = m[k];
        if (typeof v !== 'string') fail(`__metadata__[${JSON.stringify(k)}] must be a string, got ${describe(v)}`);
        define(metadata, k, v);
      }
    }
  }

  const dataStart = 8 + headerLen;
  const data = bytes.subarray(dataStart);
  const entries: HeaderEntry[] = [];
  for (const name of Object.keys(header)) {
    if (name === '__metadata__') continue;
    entries.push(parseEntry(name, header[name], data.length));
  }

  // The tensors must tile the data buffer: contiguous, non-overlapping, no holes, nothing after.
  const byOffset = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: HeaderEntry | undefined;
  for (const e of byOffset) {
    if (e.begin < cursor) {
      fail(`tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps tensor "${prev!.name}" (bytes ${prev!.begin}..${prev!.end})`);
    }
    if (e.begin > cursor) {
      fail(`hole in the data buffer: bytes ${cursor}..${e.begin} before tensor "${e.name}" belong to no tensor`);
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== data.length) {
    fail(
      `data buffer has ${data.length - cursor} trailing bytes after the last tensor (tensors cover ${cursor} of ${data.length} bytes)`,
    );
  }

  const dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors: Record<string, RawTensor & { sourceDtype: SafeDType }> = {};
  for (const e of entries) define(tensors, e.name, decodeTensor(e, data, dataView));
  return { tensors, metadata };
}
