import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tensor, grad, Generator, nn } from '../src/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

// STYLE 10: the examples users read must run. The README's tour is extracted and executed.
test('the README tour runs as written', () => {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(md);
  assert.ok(block, 'README has a ```ts block');
  const entry = pathToFileURL(join(root, 'src/index.ts')).href;
  const code = block[1]!.replace(/from 'genlab'/g, `from '${entry}'`) + '\nconsole.log("README-OK");\n';
  const dir = mkdtempSync(join(tmpdir(), 'genlab-readme-'));
  try {
    const file = join(dir, 'tour.mts');
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /README-OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the values the README tour states', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  x.mul(x).mul(x).sum().backward();
  assert.deepEqual([...x.grad!.dataSync()], [3, 12, 27]);
  const d2 = grad(grad((t) => t.pow(3).sum()));
  assert.deepEqual([...d2(tensor([2])).dataSync()], [12]);
  const rng = new Generator(0);
  const net = new nn.Sequential(new nn.Linear(64, 128, { rng }), new nn.ReLU(), new nn.Linear(128, 10, { rng }));
  assert.deepEqual(Object.keys(net.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
});
