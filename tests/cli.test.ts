// The command line as a user meets it: help on every verb, unknown names that list the valid
// ones, clear errors (no stack traces) for missing data, bad output directories and a full disk,
// and training on a user's own files (a CSV of points, a folder of PNG images).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { genlab, scratch, writePreset } from './cli_util.ts';
import { encodePng, decodePng } from '../src/data/png.ts';
import { Generator } from '../src/index.ts';

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .+:\d+:\d+/, `a stack trace was printed:\n${s}`);

test('--help on every verb prints its usage and exits 0', async () => {
  const dir = scratch();
  const runs = await Promise.all([['--help'], ...['train', 'sample', 'eval', 'list', 'info'].map((v) => [v, '--help'])].map((a) => genlab(a, dir)));
  assert.match(runs[0]!.stdout, /Commands:[\s\S]*train[\s\S]*sample[\s\S]*eval[\s\S]*list[\s\S]*info/);
  for (const [i, verb] of ['train', 'sample', 'eval', 'list', 'info'].entries()) {
    const r = runs[i + 1]!;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^genlab ${verb} — [\\s\\S]*Usage:\\n  genlab ${verb}`), r.stdout);
  }
  assert.match(runs[1]!.stdout, /--resume/);
  assert.match(runs[2]!.stdout, /--animate/);
});

test('unknown commands, models, data sets, samplers, metrics and backends list the valid names (exit code 2)', async () => {
  const dir = scratch();
  const [cmd, model, data, list, backend, opt, none] = await Promise.all([
    genlab(['trian'], dir),
    genlab(['train', 'diffusionn', '--data', 'moons'], dir),
    genlab(['train', 'diffusion', '--data', 'moonz'], dir),
    genlab(['list', 'modelz'], dir),
    genlab(['train', 'diffusion', '--data', 'moons', '--backend', 'gpu9'], dir),
    genlab(['train', 'diffusion', '--data', 'moons', '--stepz', '3'], dir),
    genlab([], dir),
  ]);
  for (const r of [cmd, model, data, list, backend, opt, none]) assert.equal(r.code, 2, r.stderr + r.stdout);
  assert.match(cmd.stderr, /unknown command 'trian' \(commands: train, sample, eval, list, info/);
  assert.match(model.stderr, /unknown model or preset 'diffusionn' \(models: diffusion, nice, realnvp, glow, maf, cnf, .*; presets: .*edm-moons/);
  assert.match(data.stderr, /unknown data set 'moonz': not a built-in name \(moons, circles, 8gaussians, .*fashion-mnist, digits\)/);
  assert.match(list.stderr, /unknown list 'modelz' \(valid: models, presets, samplers, datasets, metrics\)/);
  assert.match(backend.stderr, /unknown backend 'gpu9' \(available: cpu/);
  assert.match(opt.stderr, /Unknown option '--stepz'.*genlab train --help/);
  assert.match(none.stderr, /Usage:/);
  for (const r of [cmd, model, data, list, backend, opt]) noStack(r.stderr);
});

test('list names every family, sampler, data set, preset and metric with a description', async () => {
  const r = await genlab(['list'], scratch());
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['diffusion', 'realnvp', 'glow', 'maf', 'cnf', 'heun', 'dpmpp2m', 'ddim', 'inverse', 'moons', '8gaussians', 'fashion-mnist', 'edm-moons', 'swd', 'fid', 'bpd']) {
    assert.match(r.stdout, new RegExp(`\\n  ${name} +\\S.{10,}`), `no line for ${name}`);
  }
});

test('a missing data set says where it was looked for and how to get it', async () => {
  const r = await genlab(['train', 'diffusion', '--data', 'fashion-mnist', '--data-path', '/nonexistent/data'], scratch());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Fashion-MNIST \(train split\) not found\. Searched:\n\s+- \/nonexistent\/data \(does not exist\)/);
  assert.match(r.stderr, /To get it: `sudo apt-get install dataset-fashion-mnist`/);
  noStack(r.stderr);
});

test('an output directory that cannot be created, and a full disk, are clear errors', async () => {
  const dir = scratch();
  const preset = writePreset(dir, 'tiny');
  writeFileSync(join(dir, 'afile'), 'x');
  const bad = await genlab(['train', preset, '--out', join(dir, 'afile', 'run')], dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cannot create the output directory .*afile\/run: a part of the path is not a directory/);
  noStack(bad.stderr);
  if (existsSync('/dev/full')) {
    // metrics.jsonl on a device that is always full: the first metrics line fails with ENOSPC
    mkdirSync(join(dir, 'full'));
    symlinkSync('/dev/full', join(dir, 'full', 'metrics.jsonl'));
    const full = await genlab(['train', preset, '--out', join(dir, 'full')], dir);
    assert.equal(full.code, 1);
    assert.match(full.stderr, /cannot append to .*metrics\.jsonl: no space left on the device \(disk full\)/);
    noStack(full.stderr);
  }
});

test('trains on a CSV of points (a flow) and on a folder of PNG images (diffusion)', async () => {
  const dir = scratch();
  // points: a noisy line, written as a user would (header, commas)
  const rng = new Generator(3);
  const t = rng.uniform(300, -1, 1), e = rng.normal(300, 0, 0.05);
  writeFileSync(join(dir, 'pts.csv'), 'x,y\n' + Array.from(t, (v, i) => `${v},${0.5 * v + e[i]!}`).join('\n') + '\n');
  // images: 12 grey 8×8 PNGs of a bright square in two classes (subfolders)
  for (const [k, cls] of ['a', 'b'].entries()) {
    mkdirSync(join(dir, 'imgs', cls), { recursive: true });
    for (let j = 0; j < 6; j++) {
      const px = new Uint8Array(64);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) px[(y + 2 * k) * 8 + x + j % 4] = 255;
      writeFileSync(join(dir, 'imgs', cls, `${j}.png`), await encodePng({ width: 8, height: 8, channels: 1, pixels: px }));
    }
  }
  const [flow, imgs] = await Promise.all([
    genlab(['train', 'realnvp', '--data', 'pts.csv', '--steps', '6', '--set', 'train.batchSize=64', '--set', 'model.couplings=2', '--set', 'model.hidden=[8]', '--set', 'train.evalSamples=100', '--out', 'flow'], dir),
    genlab(['train', 'diffusion', '--data', 'imgs', '--steps', '3', '--set', 'model.net={"kind":"mlp","hidden":16,"depth":1}', '--set', 'train.batchSize=4', '--set', 'model.steps=3', '--out', 'img'], dir),
  ]);
  assert.equal(flow.code, 0, flow.stderr);
  assert.match(flow.stdout, /realnvp .* on pts\.csv \(300 points\)/);
  const fe = JSON.parse(readFileSync(join(dir, 'flow', 'eval.json'), 'utf8')) as Record<string, number>;
  assert.ok(Number.isFinite(fe.swd) && Number.isFinite(fe.nll), JSON.stringify(fe));
  assert.equal(imgs.code, 0, imgs.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'img', 'config.json'), 'utf8')) as { dataSpec: unknown };
  assert.deepEqual(cfg.dataSpec, { kind: 'images', shape: [1, 8, 8], numClasses: 2 });
  const grid = await decodePng(readFileSync(join(dir, 'img', 'samples.png')));
  assert.ok(grid.width >= 240 && grid.channels === 1, `${grid.width}×${grid.height}×${grid.channels}`);
});
