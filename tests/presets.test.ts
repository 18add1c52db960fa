// Every preset in presets/ is a valid run config: its family exists, its training options pass
// validation, and its model builds for its data, takes a training step and draws samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, randn, scope, tensor } from '../src/index.ts';
import { familyByName } from '../src/models/index.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { deepMerge, resolveTrainOptions } from '../src/train/config.ts';
import { presetNames, readPreset } from '../src/cli/run.ts';
import { builtinName, TOY_NAMES } from '../src/cli/data.ts';

/** The data's shape, without loading the data. */
function specOf(name: string): DataSpec {
  const n = builtinName(name);
  if (n && TOY_NAMES[n]) return { kind: 'points', shape: [2] };
  if (n === 'mnist' || n === 'fashion-mnist') return { kind: 'images', shape: [1, 28, 28], numClasses: 10 };
  throw new Error(`preset data '${name}' is not a built-in set`);
}

test('the presets include the documented ones', async () => {
  const names = await presetNames();
  for (const p of ['edm-moons', 'ddpm-moons', 'flow-matching-8gaussians', 'edm-unet-fashion-mnist', 'realnvp-mnist']) assert.ok(names.includes(p), p);
});

for (const name of await presetNames()) {
  test(`preset ${name}: builds, trains a step, samples`, async () => {
    const { preset } = await readPreset(name);
    assert.ok(preset.description && preset.description.length > 20, 'a description');
    const family = familyByName(preset.family);
    const dataName = typeof preset.data === 'string' ? preset.data : preset.data!.name;
    const spec = specOf(dataName);
    const config = deepMerge(family.defaults(spec), preset.model ?? {});
    const train = resolveTrainOptions(preset.train ?? {});
    assert.ok(train.steps >= 1000, 'a real run');
    const rng = new Generator(0);
    const model = family.create(config, spec, rng);
    const x = spec.kind === 'points' ? randn([4, 2], { rng }) : randn([2, ...spec.shape], { rng }).clamp(-1, 1);
    const y = spec.numClasses ? tensor([1, 2, 3, 4].slice(0, x.shape[0]), { dtype: 'int32' }) : undefined;
    const loss = scope(() => {
      const l = family.loss(model, y ? { x, y } : { x }, rng);
      l.backward();
      return l.detach();
    });
    assert.ok(Number.isFinite(loss.itemSync()), `loss ${loss.itemSync()}`);
    const s = scope(() => family.sample(model, 2, rng, family.name === 'diffusion' ? { steps: 2 } : {}));
    assert.deepEqual(s.shape, [2, ...spec.shape]);
  });
}
