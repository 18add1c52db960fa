/**
 * Containers (torch.nn.Sequential, ModuleList, ModuleDict). Sequential and ModuleList hold their
 * children as fields "0", "1", …, so state-dict keys are `0.weight`, `layers.1.bias`, … as in
 * PyTorch; ModuleDict keeps insertion order for any key.
 */
import type { Tensor } from '../../core/index.ts';
import { Module } from '../module.ts';
import type { TensorModule } from './common.ts';

/** Modules applied in order, each to the previous one's output. */
export class Sequential extends Module {
  readonly [index: number]: TensorModule;
  #length = 0;

  constructor(...modules: TensorModule[]) {
    super();
    for (const m of modules) this.append(m);
  }
  get length(): number {
    return this.#length;
  }
  append(m: TensorModule): this {
    if (!(m instanceof Module)) throw new Error(`Sequential: entry ${this.#length} is not a Module`);
    (this as unknown as Record<number, TensorModule>)[this.#length++] = m;
    return this;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): TensorModule {
    const j = i < 0 ? i + this.#length : i;
    if (!(j >= 0 && j < this.#length)) throw new Error(`Sequential: index ${i} is out of range for ${this.#length} modules`);
    return this[j]!;
  }
  *[Symbol.iterator](): Iterator<TensorModule> {
    for (let i = 0; i < this.#length; i++) yield this[i]!;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}

/** A list of modules whose parameters are registered (torch.nn.ModuleList); it has no forward. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly [index: number]: M;
  #length = 0;

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  get length(): number {
    return this.#length;
  }
  append(m: M): this {
    if (!(m instanceof Module)) throw new Error(`ModuleList: entry ${this.#length} is not a Module`);
    (this as unknown as Record<number, M>)[this.#length++] = m;
    return this;
  }
  extend(ms: Iterable<M>): this {
    for (const m of ms) this.append(m);
    return this;
  }
  at(i: number): M {
    const j = i < 0 ? i + this.#length : i;
    if (!(j >= 0 && j < this.#length)) throw new Error(`ModuleList: index ${i} is out of range for ${this.#length} modules`);
    return this[j]!;
  }
  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.#length; i++) yield this[i]!;
  }
  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it and call its modules');
  }
}

/**
 * Modules by name, in insertion order (torch.nn.ModuleDict); it has no forward. Children are
 * kept in a Map rather than as fields, so any string without '.' is a valid key. Give
 * `[key, module]` pairs to keep integer-like keys in order: a JS object literal lists them first.
 */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly #modules = new Map<string, M>();

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? (modules as Iterable<[string, M]>) : Object.entries(modules as Record<string, M>);
    for (const [k, m] of entries) this.set(k, m);
  }
  override namedChildren(): [string, Module][] {
    return [...this.#modules];
  }
  get size(): number {
    return this.#modules.size;
  }
  get(key: string): M {
    const m = this.#modules.get(key);
    if (!m) throw new Error(`ModuleDict: no module named '${key}' (keys: ${[...this.#modules.keys()].join(', ')})`);
    return m;
  }
  has(key: string): boolean {
    return this.#modules.has(key);
  }
  set(key: string, m: M): this {
    if (!(m instanceof Module)) throw new Error(`ModuleDict: '${key}' is not a Module`);
    if (key === '' || key.includes('.')) throw new Error(`ModuleDict: key '${key}' must be non-empty and contain no '.'`);
    this.#modules.set(key, m);
    return this;
  }
  keys(): IterableIterator<string> {
    return this.#modules.keys();
  }
  values(): IterableIterator<M> {
    return this.#modules.values();
  }
  entries(): IterableIterator<[string, M]> {
    return this.#modules.entries();
  }
  [Symbol.iterator](): IterableIterator<string> {
    return this.#modules.keys();
  }
  forward(): never {
    throw new Error('ModuleDict has no forward: look its modules up by key');
  }
}
