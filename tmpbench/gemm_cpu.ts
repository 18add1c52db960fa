import { createWasmBackend, randn, Generator, scope } from '../src/index.ts';
const rng = new Generator(0);
const be = createWasmBackend({ threads: 1, name: 'w1' });
const line: string[] = [`relaxed=${be.relaxed}`];
for (const N of (process.argv[2] ?? '256,512,1024').split(',').map(Number)) {
  const a = randn([N, N], { rng, backend: be }), b = randn([N, N], { rng, backend: be });
  for (let i = 0; i < 3; i++) scope(() => a.matmul(b));
  const reps = Math.max(3, Math.round(2e9 / N ** 3));
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) scope(() => a.matmul(b));
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e3 / reps);
  }
  line.push(`N=${N}: ${(2 * N ** 3 / best / 1e6).toFixed(1)} GFLOP/cpu-s`);
}
console.log(line.join('  '));
