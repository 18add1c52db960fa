// Builds the wasm backend's kernels (src/backends/wasm/assembly) with AssemblyScript into
// src/backends/wasm/build/: SIMD128 and relaxed-SIMD variants, each with and without shared memory.
// `npm run build:wasm` builds; `--if-stale` (npm test's pretest) builds only when a source is
// newer than an output or an output is missing. CI builds in .ci/run before the tests.
import asc from 'assemblyscript/asc';
import { readdirSync, statSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

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
// The host's memory map (src/backends/wasm/runtime.ts) starts its scratch regions at 64 KiB: the
// module's static data (constants, math tables) must end below that.
const DATA_LIMIT = 0x10000;
for (const target of targets) {
  const end = dataEnd(readFileSync(`${out}${target}.wasm`));
  if (end > DATA_LIMIT) {
    console.error(`build-wasm: ${target}.wasm has static data up to byte ${end}, past the ${DATA_LIMIT} bytes the host reserves for it`);
    process.exit(1);
  }
}
console.log(`build-wasm: built ${targets.join(', ')} into src/backends/wasm/build/`);

/** The end of the last active data segment (i32.const offsets) of a wasm binary. */
function dataEnd(b) {
  const leb = (i) => {
    let r = 0, s = 0, x;
    do {
      x = b[i++];
      r += (x & 127) * 2 ** s;
      s += 7;
    } while (x & 128);
    return [r, i];
  };
  let end = 0;
  for (let i = 8; i < b.length;) {
    const id = b[i];
    const [size, start] = leb(i + 1);
    if (id === 11) {
      let [count, j] = leb(start);
      for (; count > 0; count--) {
        const flag = b[j++];
        let offset = 0;
        if (flag === 0) {
          [offset, j] = leb(j + 1); // i32.const (non-negative offsets)
          j++; // end
        } else if (flag === 2) {
          [, j] = leb(j);
          [offset, j] = leb(j + 1);
          j++;
        }
        const [len, k] = leb(j);
        j = k + len;
        if (flag !== 1) end = Math.max(end, offset + len);
      }
    }
    i = start + size;
  }
  return end;
}
