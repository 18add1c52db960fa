import { createWasmBackend, randn, Generator, scope } from '../src/index.ts';
const rng = new Generator(0);
for (const threads of [1, 2]) {
  const be = createWasmBackend({ threads, name: `w${threads}` });
  await be.ready();
  const line: string[] = [`threads=${threads} relaxed=${be.relaxed} active=${be.activeThreads}`];
  for (const N of [256, 512, 1024]) {
    const a = randn([N, N], { rng, backend: be }), b = randn([N, N], { rng, backend: be });
    for (let i = 0; i < 3; i++) scope(() => a.matmul(b));
    let best = Infinity;
    const reps = N === 1024 ? 8 : 30;
    for (let i = 0; i < reps; i++) { const t = performance.now(); scope(() => a.matmul(b)); best = Math.min(best, performance.now() - t); }
    line.push(`N=${N}: ${(2 * N ** 3 / best / 1e6).toFixed(1)} GFLOP/s`);
    // transposed variants
    if (N === 512) {
      for (const [n, f] of [['aT', () => a.mT.matmul(b)], ['bT', () => a.matmul(b.mT)]] as const) {
        for (let i = 0; i < 3; i++) scope(f);
        let bt = Infinity; for (let i = 0; i < 20; i++) { const t = performance.now(); scope(f); bt = Math.min(bt, performance.now() - t); }
        line.push(`${n}:${(2 * N ** 3 / bt / 1e6).toFixed(1)}`);
      }
    }
  }
  console.log(line.join('  '));
  be.dispose();
}
