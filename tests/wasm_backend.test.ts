/**
 * The wasm backend as a whole: it is the default in Node, refuses float64 with a clear message,
 * returns memory to its allocator (no heap growth over a thousand scoped training steps), gives
 * the same bits on one thread as on several, runs its relaxed-SIMD build correctly where the
 * runtime has relaxed SIMD, and lets Node exit while its worker threads wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Tensor, Generator, tensor, randn, scope, noGrad, memory, getBackend, backendNames, createWasmBackend, initWasm, nn } from '../src/index.ts';
import { getBackendByName } from '../src/core/backend.ts';
import type { WasmBackend } from '../src/backends/wasm/index.ts';
import { Heap, HEAP_BASE } from '../src/backends/wasm/runtime.ts';
import { GEMM_BLOCKING, gemmSplit, splitKPieces } from '../src/backends/wasm/backend.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

test('wasm is the default backend in Node; the reference cpu backend stays available', async () => {
  assert.ok(backendNames().includes('cpu') && backendNames().includes('wasm'));
  assert.equal(getBackendByName('wasm').name, 'wasm');
  const x = tensor([1, 2, 3], { backend: getBackendByName('wasm') });
  assert.deepEqual(Array.from(await x.mul(x).data()), [1, 4, 9]);
  await initWasm(); // optional in Node, and harmless
  assert.throws(() => tensor([1], { dtype: 'float64', backend: getBackendByName('wasm') }), /backend 'wasm' does not support float64 \(it supports float32, int32, bool\)/);
  assert.throws(() => createWasmBackend({ threads: 0 }), /threads must be a positive integer/);
  x.dispose();
});

test('the default backend, when tests run without a preload, is wasm', { skip: getBackend().name !== 'wasm' && 'a preload selected another backend' }, () => {
  assert.equal(getBackend().name, 'wasm');
});

test('buffers return to the allocator: memory() counts them, a freed buffer fails loudly', () => {
  const be = createWasmBackend({ threads: 1, name: 'wasm-mem' });
  const before = be.memory();
  const a = tensor(new Float32Array(1000).fill(1), { backend: be });
  assert.deepEqual(be.memory(), { buffers: before.buffers + 1, bytes: before.bytes + 4000, peakBytes: before.bytes + 4000 });
  const b = a.mul(a);
  const ptr = (b as unknown as { _storage: { buf: object } })._storage.buf;
  a.dispose();
  b.dispose();
  assert.deepEqual(be.memory(), { ...before, peakBytes: before.bytes + 8000 }, 'both freed; the peak remembers a and a·a');
  be.resetPeakMemory();
  assert.equal(be.memory().peakBytes, before.bytes);
  assert.throws(() => be.readSync(ptr), /use of a freed buffer/);
  // the same size class is reused: no growth from a second round
  const heap = be.heapBytes;
  for (let i = 0; i < 50; i++) scope(() => void tensor(new Float32Array(100000), { backend: be }).exp().sum());
  assert.equal(be.heapBytes, heap);
  be.dispose();
});

test('a thousand scoped training steps of a small MLP leave no buffer behind and do not grow the heap', () => {
  const be = createWasmBackend({ name: 'wasm-steps' });
  const rng = new Generator(3);
  const net = new nn.Sequential(new nn.Linear(2, 32, { rng }), new nn.SiLU(), new nn.Linear(32, 32, { rng }), new nn.SiLU(), new nn.Linear(32, 1, { rng }));
  // the initial weights, copied onto this backend (a Module's parameters live on the default one)
  const W = net.parameters().map((p) => tensor(p.dataSync(), { shape: [...p.shape], backend: be, requiresGrad: true }));
  const forward = (x: Tensor) => {
    let h = x;
    for (let i = 0; i < W.length; i += 2) {
      h = h.matmul(W[i]!.mT).add(W[i + 1]!);
      if (i + 2 < W.length) h = h.silu();
    }
    return h;
  };
  const x = randn([64, 2], { rng, backend: be });
  const y = noGrad(() => x.index(null, [0, 1]).mul(x.index(null, [1, 2])));
  const step = (): number => scope(() => {
    const d = forward(x).sub(y);
    const loss = d.mul(d).mean();
    loss.backward();
    noGrad(() => {
      for (const p of W) {
        p.assign(p.sub(p.grad!.mul(0.05)));
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return loss.itemSync();
  });
  const first = step();
  for (let i = 0; i < 20; i++) step(); // warm the size classes
  const mem = memory(be), heap = be.heapBytes;
  let last = first;
  for (let i = 0; i < 1000; i++) last = step();
  assert.deepEqual(memory(be), mem, 'live buffers and bytes after 1000 steps');
  assert.equal(be.heapBytes, heap, 'WebAssembly memory did not grow');
  assert.ok(last < 0.5 * first, `the loop learns: loss ${first} → ${last}`);
  for (const t of [x, y, ...W]) t.dispose();
  be.dispose();
});

/** ∂/∂w and ∂/∂x of Σ conv2d(x, w)² for x [40, 20, 14, 14] cut from X (stride 2), w [16, 20, 3, 3]. */
function convGrads(X: Tensor, be: WasmBackend): Tensor[] {
  const w = tensor(Float32Array.from(X.reshape([-1]).slice(0, 0, 16 * 20 * 9).dataSync()), { shape: [16, 20, 3, 3], backend: be }).requiresGrad_();
  const x = tensor(Float32Array.from(X.reshape([-1]).slice(0, 0, 40 * 20 * 14 * 14).dataSync()), { shape: [40, 20, 14, 14], backend: be }).requiresGrad_();
  nn.F.conv2d(x, w, null, { stride: 2 }).square().sum().backward();
  return [w.grad!, x.grad!];
}

test('the backward of a convolution never holds its whole column matrix (the fused kernels build it a block at a time)', () => {
  const be = createWasmBackend({ name: 'wasm-conv-mem' });
  const rng = new Generator(4);
  // x [16, 32, 32, 32] is 2 MiB; its column matrix for a 3×3 kernel would be 18 MiB
  const x = tensor(Float32Array.from(rng.normal(16 * 32 * 32 * 32)), { shape: [16, 32, 32, 32], backend: be, requiresGrad: true });
  const w = tensor(Float32Array.from(rng.normal(32 * 32 * 9)), { shape: [32, 32, 3, 3], backend: be, requiresGrad: true });
  const xBytes = 4 * x.size;
  scope(() => {
    const loss = nn.F.conv2d(x, w, null, { padding: 1 }).square().sum();
    be.resetPeakMemory();
    const before = be.memory().bytes;
    loss.backward();
    const extra = be.memory().peakBytes - before;
    // ∂x, g and 2·y (2 MiB each), ∂W and the per-thread column blocks; the column matrix alone is 9·|x|
    assert.ok(extra < 5 * xBytes, `the backward peak rose ${(extra / 2 ** 20).toFixed(1)} MiB, against ${(9 * xBytes / 2 ** 20).toFixed(0)} MiB for the column matrix`);
    assert.deepEqual(x.grad!.shape, [16, 32, 32, 32]);
  });
  be.dispose();
});

test('one thread and several give identical bits (chunks never split a reduction)', async () => {
  const one = createWasmBackend({ threads: 1, name: 'wasm-1t' }) as WasmBackend;
  const many = createWasmBackend({ threads: 3, name: 'wasm-3t' }) as WasmBackend;
  assert.equal(one.threads, 1);
  const active = await many.ready();
  if (typeof SharedArrayBuffer !== 'undefined') assert.equal(active, 3, 'three threads start');
  const rng = new Generator(11);
  const a = Float32Array.from(rng.normal(300 * 500)), b = Float32Array.from(rng.normal(500 * 260)), big = Float32Array.from(rng.normal(400000));
  const run = (be: WasmBackend) => scope(() => {
    const A = tensor(a, { shape: [300, 500], backend: be }), B = tensor(b, { shape: [500, 260], backend: be });
    const X = tensor(big, { shape: [800, 500], backend: be });
    return [
      A.matmul(B), A.mT.mT.matmul(B.mT.contiguous().mT), X.tanh(), X.exp().sum(1), X.sum(0), X.max(0), X.softmax(-1), X.cumsum(0),
      X.reshape([8, 100, 500]).matmul(A.mT.reshape([1, 500, 300])),
      // the thin kernels: K ≤ 4, N ≤ 4 (A row- and column-major), M ≤ 4 (B row- and column-major)
      X.matmul(A.mT.slice(1, 0, 3)).matmul(A.slice(0, 0, 3)), X.matmul(B.slice(1, 0, 2)), X.mT.matmul(X.slice(1, 0, 3)),
      A.slice(0, 0, 3).matmul(X.mT), X.slice(0, 0, 2).matmul(X.mT),
      // split-K (K long against M and N): the pieces are summed in a fixed order
      X.reshape([4000, 100]).mT.matmul(X.reshape([4000, 100]).slice(1, 0, 30)),
      // large products cut into rows and columns
      X.matmul(B), X.matmul(B.mT.contiguous().mT),
      // the fused conv gradients (weight: summed over groups of images fixed by the shape)
      ...convGrads(X, be),
    ].map((t) => Array.from(t.dataSync()));
  });
  const r1 = run(one), r3 = run(many);
  r1.forEach((v, i) => assert.deepEqual(r3[i], v, `result ${i}`));
  one.dispose();
  many.dispose();
});

test('a GEMM is cut into enough chunks for the threads, cut where it packs the fewest elements', () => {
  const { MR, NR } = GEMM_BLOCKING;
  const cases: [number, number, number, number, number][] = [
    [4096, 256, 256, 1, 2], [256, 256, 4096, 1, 2], [1024, 1024, 1024, 1, 2], [300, 260, 500, 1, 3],
    [64, 4096, 64, 1, 2], [100, 7, 5000, 1, 4], [4096, 256, 256, 4, 2], [9, 9, 9, 1, 2],
  ];
  for (const [M, N, K, batch, threads] of cases) {
    const [mch, nch] = gemmSplit(M, N, K, batch, threads);
    const mChunks = Math.ceil(M / mch), nChunks = Math.ceil(N / nch);
    const label = `${M}×${N}×${K}, batch ${batch}, ${threads} threads: ${mch} rows × ${nch} cols`;
    assert.ok(mch === M || mch % MR === 0, `${label}: rows per chunk a multiple of the micro-tile`);
    assert.ok(nch === N || nch % NR === 0, `${label}: cols per chunk a multiple of the micro-tile`);
    const want = 2 * M * N * K * batch > 4e6 ? Math.ceil((6 * threads) / batch) : 1;
    // every cut with at least as many chunks (up to `want`) packs at least as many elements
    const chunks = Math.min(want, mChunks * nChunks);
    const cost = M * K * nChunks + K * N * mChunks;
    for (let ms = 1; ms <= Math.max(1, Math.floor(M / 32)); ms++) {
      for (let ns = 1; ns <= Math.max(1, Math.floor(N / 64)); ns++) {
        const mc = Math.ceil(M / ms / MR) * MR, nc = Math.ceil(N / ns / NR) * NR;
        const [mk, nk] = [Math.ceil(M / mc), Math.ceil(N / nc)];
        if (Math.min(want, mk * nk) < chunks) continue;
        assert.ok(M * K * nk + K * N * mk >= cost, `${label}: ${mc}×${nc} would pack fewer elements`);
      }
    }
    if (want > 1 && Math.floor(M / 32) * Math.floor(N / 64) >= want) assert.ok(mChunks * nChunks >= want, `${label}: ${mChunks * nChunks} chunks, want ${want}`);
  }
  // split-K only where K is long against M and N, in pieces fixed by the shape
  assert.equal(splitKPieces(256, 256, 4096), 8);
  assert.equal(splitKPieces(4096, 256, 256), 1);
  assert.equal(splitKPieces(300, 20, 1500), 1);
  // the MLP's forward product cuts rows only: A is packed once
  assert.deepEqual(gemmSplit(4096, 256, 256, 1, 2), [345, 256]);
});

function node(args: string[], script: string) {
  return spawnSync(process.execPath, [...args, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60000 });
}

test('the relaxed-SIMD build agrees with the reference where the runtime has relaxed SIMD', () => {
  const script = `
    import { createWasmBackend, tensor } from './src/index.ts';
    import { getBackendByName } from './src/core/backend.ts';
    const w = createWasmBackend({ threads: 2 }), cpu = getBackendByName('cpu');
    if (!w.relaxed) { console.log('no-relaxed'); process.exit(0); }
    let worst = 0;
    for (const [M, K, N] of [[37, 300, 29], [8, 8, 8], [130, 67, 260]]) {
      const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i)), b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.7));
      const c1 = tensor(a, { shape: [M, K], backend: w }).matmul(tensor(b, { shape: [K, N], backend: w }).mT.contiguous().mT).dataSync();
      const c0 = tensor(a, { shape: [M, K], backend: cpu }).matmul(tensor(b, { shape: [K, N], backend: cpu })).dataSync();
      for (let i = 0; i < c0.length; i++) worst = Math.max(worst, Math.abs(c1[i] - c0[i]) / K);
    }
    console.log(worst < 2 ** -23 ? 'ok' : 'bad ' + worst);
  `;
  const r = node(['--experimental-wasm-relaxed-simd'], script);
  if (r.status !== 0 && /bad option|not allowed/.test(r.stderr)) return; // a runtime without the flag
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^(ok|no-relaxed)$/, r.stdout + r.stderr);
});

test('Node exits on its own while the worker threads wait for work', () => {
  const r = node([], `
    import { createWasmBackend, tensor } from './src/index.ts';
    const w = createWasmBackend({ threads: 2 });
    await w.ready();
    const x = tensor(new Float32Array(200000).fill(2), { backend: w });
    console.log(x.exp().sum().itemSync() > 0 ? 'done' : 'wrong', w.activeThreads);
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.signal, null, 'not killed by the timeout');
  assert.match(r.stdout, /^done 2/);
});

test('the heap merges free blocks of classes no longer asked for when the address space runs out, and never touches live blocks', () => {
  const KiB = 1024;
  const heap = new Heap(new WebAssembly.Memory({ initial: 17 }), HEAP_BASE + 1024 * KiB); // 1 MiB of heap
  const blocks = Array.from({ length: 16 }, () => heap.alloc(64 * KiB)); // fills it
  assert.throws(() => heap.alloc(64 * KiB), /out of memory/);
  for (const [p, c] of blocks) heap.free(p, c);
  // a class never freed: only merging the 64 KiB blocks makes room for it
  const [big, bigCls] = heap.alloc(512 * KiB);
  assert.equal(big, HEAP_BASE, 'the merged run at the top went back to the bump pointer');
  heap.free(big, bigCls);
  // on a fresh heap, a live block in the middle splits the free space into runs of 448 and 512 KiB
  const heap2 = new Heap(new WebAssembly.Memory({ initial: 17 }), HEAP_BASE + 1024 * KiB);
  const again = Array.from({ length: 16 }, () => heap2.alloc(64 * KiB));
  assert.equal(again[7]![0], HEAP_BASE + 7 * 64 * KiB);
  for (const [i, [p, c]] of again.entries()) if (i !== 7) heap2.free(p, c);
  const live = again[7]![0];
  assert.throws(() => heap2.alloc(640 * KiB), /out of memory/, 'no run of 640 KiB exists around the live block');
  const [low] = heap2.alloc(384 * KiB); // fits below the live block
  assert.ok(low + 384 * KiB <= live, 'cut from the run below the live block');
  const [high] = heap2.alloc(512 * KiB); // only the run above the live block is large enough
  assert.ok(high >= live + 64 * KiB, 'cut from the run above the live block');
});
