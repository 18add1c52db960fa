// IDX files (the format MNIST, Fashion-MNIST, EMNIST, ... are shipped in) and gzip.
//
// Browser-safe: no Node modules. gzip goes through the web-standard `DecompressionStream`,
// which Node (>= 18) and current browsers provide.
//
// IDX layout (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"):
//   bytes 0-1  0x00 0x00
//   byte  2    element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dimensions d
//   then d big-endian uint32 sizes, then the elements, big-endian, row-major (last index fastest).

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxFile {
  /** Size of each dimension, outermost first (MNIST images: [n, 28, 28]). */
  dims: number[];
  /**
   * The elements, row-major, in the platform's byte order. For type 0x08 / 0x09 this is a view
   * onto the input's memory (no copy); the wider types are decoded into a fresh array.
   */
  data: IdxData;
}

interface IdxType {
  name: string;
  size: number;
  read: (view: DataView, offset: number, count: number) => IdxData;
}

const IDX_TYPES: Record<number, IdxType> = {
  0x08: {
    name: 'unsigned byte',
    size: 1,
    read: (v, o, n) => new Uint8Array(v.buffer, v.byteOffset + o, n),
  },
  0x09: {
    name: 'signed byte',
    size: 1,
    read: (v, o, n) => new Int8Array(v.buffer, v.byteOffset + o, n),
  },
  0x0b: {
    name: 'int16',
    size: 2,
    read: (v, o, n) => {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = v.getInt16(o + 2 * i, false);
      return out;
    },
  },
  0x0c: {
    name: 'int32',
    size: 4,
    read: (v, o, n) => {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = v.getInt32(o + 4 * i, false);
      return out;
    },
  },
  0x0d: {
    name: 'float32',
    size: 4,
    read: (v, o, n) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = v.getFloat32(o + 4 * i, false);
      return out;
    },
  },
  0x0e: {
    name: 'float64',
    size: 8,
    read: (v, o, n) => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(o + 8 * i, false);
      return out;
    },
  },
};

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

/** Decodes an IDX file. Throws an Error saying what was expected and what was found when it is malformed. */
export function parseIdx(bytes: Uint8Array): IdxFile {
  if (bytes.length < 4) {
    throw new Error(`IDX: truncated header: expected at least 4 bytes, found ${bytes.length}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const gz = isGzip(bytes) ? ' (these bytes are gzip-compressed: gunzip them first)' : '';
    throw new Error(
      `IDX: bad magic number: expected first two bytes 0x00 0x00, found ${hex(bytes[0]!)} ${hex(bytes[1]!)}${gz}`,
    );
  }
  const typeCode = bytes[2]!;
  const type = IDX_TYPES[typeCode];
  if (type === undefined) {
    throw new Error(
      `IDX: unknown element type ${hex(typeCode)}: expected one of 0x08 (u8), 0x09 (i8), 0x0b (i16), 0x0c (i32), 0x0d (f32), 0x0e (f64)`,
    );
  }
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(
      `IDX: truncated header: ${ndim} dimensions need ${headerBytes} header bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    count *= size;
  }
  const dataBytes = count * type.size;
  if (!Number.isSafeInteger(dataBytes)) {
    throw new Error(`IDX: dimensions [${dims.join(', ')}] describe more data than can be addressed`);
  }
  const expected = headerBytes + dataBytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'trailing bytes';
    throw new Error(
      `IDX: ${what}: dimensions [${dims.join(', ')}] of ${type.name} (${type.size} byte${type.size > 1 ? 's' : ''} each) ` +
        `need ${expected} bytes (${headerBytes} header + ${dataBytes} data), found ${bytes.length}`,
    );
  }
  return { dims, data: type.read(view, headerBytes, count) };
}

/** True when the bytes begin with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decompresses gzip data (all members, when several are concatenated) with the web-standard
 * `DecompressionStream('gzip')`. Rejects with an Error when the data is not gzip, corrupt or truncated.
 */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error('gunzip: this runtime has no DecompressionStream (Node >= 18 or a current browser is needed)');
  }
  if (!isGzip(bytes)) {
    const found = bytes.length >= 2 ? `${hex(bytes[0]!)} ${hex(bytes[1]!)}` : `${bytes.length} byte(s)`;
    throw new Error(`gunzip: not gzip data: expected magic 0x1f 0x8b, found ${found}`);
  }
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  const reader = input.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`gunzip: corrupt or truncated gzip data (${bytes.length} compressed bytes): ${msg}`, { cause: e });
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
