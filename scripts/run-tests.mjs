// Runs tests/**/*.test.ts with Node's own test runner (TypeScript through tsx).
// Node 20's `--test` takes no globs, so the files are listed here.
//
//   node scripts/run-tests.mjs                      the whole suite on the default backend, then the
//                                                   backend-agnostic suites on the reference `cpu`
//   node scripts/run-tests.mjs [--backend NAME] [files…]
//                                                   the given files (or all) with NAME selected
//                                                   first (a preload in tests/preload/NAME.ts)
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Suites that do not depend on float64 and run again on the reference backend. */
const AGNOSTIC = ['ops_torch', 'nn', 'optim', 'io', 'learning', 'memory', 'errors', 'rows_fused', 'silu_fused', 'linear_fused'];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function run(files, backend) {
  const pre = [];
  if (backend) {
    const preload = `./tests/preload/${backend}.ts`;
    if (!existsSync(preload)) {
      console.error(`run-tests: no preload for backend '${backend}' (expected ${preload})`);
      process.exit(2);
    }
    pre.push('--import', preload);
    console.log(`# backend: ${backend}`);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...pre, '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
  return r.status ?? 1;
}

const args = process.argv.slice(2);
let backend;
const bi = args.indexOf('--backend');
if (bi >= 0) {
  backend = args[bi + 1];
  args.splice(bi, 2);
}
const all = find('tests').sort();
if (args.length || backend) {
  process.exit(run(args.length ? args : all, backend));
}
const first = run(all);
const agnostic = all.filter((f) => AGNOSTIC.some((name) => f.endsWith(`${name}.test.ts`)));
const second = run(agnostic, 'cpu');
process.exit(first || second);
