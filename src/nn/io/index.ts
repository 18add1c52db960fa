/**
 * Weights in and out of genlab: state dicts as safetensors bytes, exchanged with PyTorch key for
 * key (`down.0.conv1.weight`). Browser-safe (no `node:` imports); files on disk and checkpoints
 * are in the Node-only `genlab/node` entry (src/nn/io/node.ts).
 *
 * dtypes: float32 ↔ F32, float64 ↔ F64, int32 ↔ I32, bool ↔ BOOL. Reading also accepts F16/BF16
 * (→ float32, exact) and I64/I16/I8/U8 (→ int32; I64 only when every value fits). PyTorch's int64
 * buffers (BatchNorm's `num_batches_tracked`) therefore arrive as int32, and genlab writes them as
 * I32, which PyTorch's `load_state_dict` copies into its int64 buffer (`Tensor.copy_` casts).
 *
 * ```ts
 * const bytes = await io.stateDictToBytes(net.stateDict(), { format: 'pt' });
 * net2.loadStateDict(io.stateDictFromBytes(bytes));
 * ```
 */
import { fromArray, type Tensor } from '../../core/tensor.ts';
import { getBackend, getBackendByName, type Backend } from '../../core/backend.ts';
import { parseSafetensors, serializeSafetensors, type RawTensor } from './safetensors.ts';

export { parseSafetensors, serializeSafetensors, SafetensorsError } from './safetensors.ts';
export type { RawTensor, SafeDType } from './safetensors.ts';

/** Where tensors read from bytes are created: a backend, or its registered name. Default: the current backend. */
export interface LoadOptions {
  backend?: Backend | string;
}

function resolveBackend(b: Backend | string | undefined): Backend {
  if (b === undefined) return getBackend();
  return typeof b === 'string' ? getBackendByName(b) : b;
}

function withKey(key: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`tensor "${key}": ${message}`, { cause: err });
}

/** A tensor's values as plain data (contiguous, a fresh copy; async because GPU reads are). */
export async function toRaw(t: Tensor): Promise<RawTensor> {
  const data = await t.data();
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/** A tensor holding a copy of `raw`'s values, on `backend` (default: the current one). */
export function fromRaw(raw: RawTensor, opts: LoadOptions = {}): Tensor {
  return fromArray(raw.data, raw.shape, raw.dtype, resolveBackend(opts.backend));
}

/**
 * Serializes a state dict (e.g. `module.stateDict()`) into the bytes of a safetensors file.
 * `metadata` (string → string) goes into the file's `__metadata__` as given; Hugging Face loaders
 * expect `{ format: 'pt' }` there.
 */
export async function stateDictToBytes(sd: Readonly<Record<string, Tensor>>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const raw: Record<string, RawTensor> = {};
  for (const [key, t] of Object.entries(sd)) {
    try {
      raw[key] = await toRaw(t);
    } catch (err) {
      throw withKey(key, err);
    }
  }
  return serializeSafetensors(raw, metadata);
}

/**
 * Parses safetensors bytes into a state dict of fresh tensors (see the module comment for dtypes),
 * ready for `module.loadStateDict(sd)`. Throws SafetensorsError for a malformed file.
 */
export function stateDictFromBytes(bytes: Uint8Array, opts: LoadOptions = {}): Record<string, Tensor> {
  const backend = resolveBackend(opts.backend);
  const { tensors } = parseSafetensors(bytes);
  const sd: Record<string, Tensor> = {};
  try {
    for (const [key, raw] of Object.entries(tensors)) {
      try {
        Object.defineProperty(sd, key, { value: fromRaw(raw, { backend }), enumerable: true, writable: true, configurable: true });
      } catch (err) {
        throw withKey(key, err);
      }
    }
  } catch (err) {
    for (const t of Object.values(sd)) t.dispose();
    throw err;
  }
  return sd;
}
