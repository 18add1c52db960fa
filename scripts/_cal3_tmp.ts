import { Generator, scope, optim, randn, setBackend, registerBackend, createWasmBackend } from '../src/index.ts';
import { flowFamilies } from '../src/models/flows/index.ts';
registerBackend('wasm-1t', () => createWasmBackend({ threads: 1, name: 'wasm-1t' }));
for (const b of [process.argv[2] ?? 'wasm']) {
  setBackend(b);
  for (const fname of ['cnf', 'realnvp'] as const) {
    const fam = flowFamilies[fname] as any;
    const rng = new Generator(0);
    const model = fam.create(fam.defaults({ kind: 'points', shape: [2] }), { kind: 'points', shape: [2] }, rng);
    const opt = new optim.Adam(model.net.parameters(), { lr: 1e-3 });
    const n = fname === 'cnf' ? 3 : 10;
    scope(() => { opt.zeroGrad(); const l = fam.loss(model, { x: randn([256, 2], { rng }) }, rng); l.backward(); opt.step(); });
    const t = performance.now();
    for (let i = 0; i < n; i++) scope(() => { opt.zeroGrad(); const l = fam.loss(model, { x: randn([256, 2], { rng }) }, rng); l.backward(); opt.step(); });
    console.log(b, fname, 'step ms', ((performance.now() - t) / n).toFixed(1));
  }
}
