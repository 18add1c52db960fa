/**
 * Datasets held as host arrays, and a DataLoader that batches and shuffles them with a
 * Generator. Batches are uploaded as tensors on demand; the loader's position and its
 * generator's state can be saved, so a resumed run sees the same batches in the same order.
 */
import { type Tensor, type DType, type TypedArray, Generator, type GeneratorState, tensor } from '../core/index.ts';
import { allocArray } from '../core/dtype.ts';
import { sizeOf } from '../core/shape.ts';

/** One named field of a dataset: `n` items, each of `itemShape`, stored row-major. */
export interface Field {
  data: TypedArray;
  itemShape: readonly number[];
  dtype: DType;
}

export class ArrayDataset {
  readonly length: number;
  constructor(readonly fields: Readonly<Record<string, Field>>) {
    const entries = Object.entries(fields);
    if (entries.length === 0) throw new Error('ArrayDataset: expected at least one field');
    const counts = entries.map(([name, f]) => {
      const per = sizeOf(f.itemShape);
      if (per === 0 || f.data.length % per !== 0) throw new Error(`ArrayDataset: field '${name}' has ${f.data.length} values, not a multiple of item shape [${f.itemShape.join(', ')}]`);
      return [name, f.data.length / per] as const;
    });
    const n = counts[0]![1];
    for (const [name, c] of counts) if (c !== n) throw new Error(`ArrayDataset: field '${name}' has ${c} items but '${counts[0]![0]}' has ${n}`);
    this.length = n;
  }
  /** Items `indices` of every field, as tensors with a leading batch dimension. */
  batch(indices: ArrayLike<number>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, f] of Object.entries(this.fields)) {
      const per = sizeOf(f.itemShape);
      const buf = allocArray(f.dtype, indices.length * per);
      for (let i = 0; i < indices.length; i++) {
        const k = indices[i]!;
        buf.set(f.data.subarray(k * per, (k + 1) * per), i * per);
      }
      out[name] = tensor(buf, { shape: [indices.length, ...f.itemShape], dtype: f.dtype });
    }
    return out;
  }
  /** The first `n` items (or a given range), as a new dataset sharing no memory. */
  subset(start: number, end: number): ArrayDataset {
    const fields: Record<string, Field> = {};
    for (const [name, f] of Object.entries(this.fields)) {
      const per = sizeOf(f.itemShape);
      fields[name] = { ...f, data: f.data.slice(start * per, end * per) };
    }
    return new ArrayDataset(fields);
  }
}

export interface LoaderState {
  epoch: number;
  position: number;
  order: number[] | null;
  rng: GeneratorState | null;
}

export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  /** Needed when shuffling; the loader splits its own stream off it. */
  rng?: Generator;
  dropLast?: boolean;
}

/**
 * Endless or per-epoch batches. `next()` returns the next batch, reshuffling at each epoch
 * start; `epoch()` iterates one epoch.
 */
export class DataLoader {
  private rng: Generator | null;
  private order: Int32Array | null = null;
  private position = 0;
  epochIndex = 0;

  constructor(readonly dataset: ArrayDataset, readonly opts: DataLoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize <= 0) throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    if (opts.shuffle && !opts.rng) throw new Error('DataLoader: shuffle needs a Generator ({ rng })');
    if (opts.dropLast && dataset.length < opts.batchSize) throw new Error(`DataLoader: dataset of ${dataset.length} items is smaller than one batch of ${opts.batchSize} with dropLast`);
    this.rng = opts.shuffle ? (opts.rng!.split() as Generator) : null;
  }

  get batchesPerEpoch(): number {
    const n = this.dataset.length, b = this.opts.batchSize;
    return this.opts.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  private ensureOrder(): Int32Array {
    if (!this.order) {
      const n = this.dataset.length;
      this.order = this.rng ? this.rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    }
    return this.order;
  }

  private exhausted(): boolean {
    const remaining = this.dataset.length - this.position;
    return remaining <= 0 || (!!this.opts.dropLast && remaining < this.opts.batchSize);
  }
  private newEpoch(): void {
    this.order = null;
    this.position = 0;
    this.epochIndex++;
  }
  private take(): Record<string, Tensor> {
    const order = this.ensureOrder();
    const end = Math.min(this.position + this.opts.batchSize, this.dataset.length);
    const idx = order.subarray(this.position, end);
    this.position = end;
    return this.dataset.batch(idx);
  }

  /** The next batch; wraps to a new (reshuffled) epoch when one ends. */
  next(): Record<string, Tensor> {
    if (this.exhausted()) this.newEpoch();
    return this.take();
  }

  /** Iterate the rest of the current epoch, then move to the next one. */
  *epoch(): IterableIterator<Record<string, Tensor>> {
    while (!this.exhausted()) yield this.take();
    this.newEpoch();
  }

  state(): LoaderState {
    return { epoch: this.epochIndex, position: this.position, order: this.order ? [...this.order] : null, rng: this.rng?.state() ?? null };
  }
  loadState(s: LoaderState): void {
    this.epochIndex = s.epoch;
    this.position = s.position;
    this.order = s.order ? Int32Array.from(s.order) : null;
    if (s.rng) this.rng = Generator.fromState(s.rng);
  }
}
