// Builds the wasm backend's kernels (src/backends/wasm/assembly) with AssemblyScript into
// src/backends/wasm/build/: SIMD128 and relaxed-SIMD variants, each with and without shared memory.
// `npm run build:wasm` builds; `--if-stale` (npm test's pretest) builds only when a source is
// newer than an output or an output is missing. CI builds in .ci/run before the tests.
import asc from 'assemblyscript/asc';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../src/backends/wasm/assembly/', import.meta.url));
const out = fileURLToPath(new URL('../src/backends/wasm/build/', import.meta.url));
const targets = ['simd', 'relaxed', 'simd-threads', 'relaxed-threads'];

if (process.argv.includes('--if-stale')) {
  const newest = Math.max(...readdirSync(dir).map((f) => statSync(dir + f).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
  const outputs = targets.map((t) => `${out}${t}.wasm`);
  if (outputs.every((f) => existsSync(f) && statSync(f).mtimeMs > newest)) process.exit(0);
}

for (const target of targets) {
  const { error, stderr } = await asc.main([`${dir}index.ts`, '--config', `${dir}asconfig.json`, '--target', target, '--disableWarning', '112']);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: target ${target} failed: ${error.message}`);
    process.exit(1);
  }
}
console.log(`build-wasm: built ${targets.join(', ')} into src/backends/wasm/build/`);
