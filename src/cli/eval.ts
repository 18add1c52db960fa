/** `genlab eval`: metrics of a trained run (or of a file of samples) against held-out data. */
import { extname, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { Generator } from '../core/index.ts';
import { writeFileAtomic } from '../nn/io/files.ts';
import type { SampleOptions } from '../models/registry.ts';
import { formatNumber } from '../train/progress.ts';
import { parse, intOption } from './args.ts';
import { UsageError, CliError, describeFsError, displayPath } from './errors.ts';
import { loadRun, type LoadedRun } from './run.ts';
import { loadData, loadCsv, type LoadedData } from './data.ts';
import { METRICS, EVAL_HELP } from './help.ts';
import { drawSamples, pointMetrics, likelihoodMetrics, referencePoints } from './metrics.ts';
import { selectBackend } from './backend.ts';



export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('eval', argv, {
    metrics: { type: 'string' },
    data: { type: 'string' },
    n: { type: 'string' },
    seed: { type: 'string' },
    sampler: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string' },
  }, { positionals: [1, 1] });
  if (values.help) {
    console.log(EVAL_HELP);
    return 0;
  }
  selectBackend('eval', values.backend);
  const target = positionals[0]!;
  const requested = values.metrics?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of requested ?? []) {
    if (!METRICS.some((x) => x.name === m)) throw new UsageError(`unknown metric '${m}' (available: ${METRICS.map((x) => x.name).join(', ')})`, 'eval');
  }
  const seed = intOption('eval', 'seed', values.seed, 0) ?? 0;

  // ---- what is measured: a run's samples, or a file of samples ---------------------------------
  let run: LoadedRun | null = null;
  let samples: Float32Array | null = null;
  let data: LoadedData;
  const isCsv = extname(target).toLowerCase() === '.csv' && (await stat(target).then((s) => s.isFile(), () => false));
  if (isCsv) {
    if (!values.data) throw new UsageError('evaluating a file of samples needs the reference data: --data <set|path>', 'eval');
    samples = (await loadCsv(resolve(target), { name: target })).train.fields.x!.data as Float32Array;
    data = await loadData({ name: values.data });
  } else {
    run = await loadRun(target);
    data = await loadData(values.data ? { name: values.data } : run.config.data);
  }
  const spec = data.spec;
  const points = spec.kind === 'points';
  const d = spec.shape.reduce((a, b) => a * b, 1);
  if (run && JSON.stringify(run.config.dataSpec.shape) !== JSON.stringify(spec.shape)) {
    throw new CliError(`the run was trained on data of shape [${run.config.dataSpec.shape.join(', ')}] but ${data.name} has shape [${spec.shape.join(', ')}]`);
  }
  const cheapLik = !!run?.family.logLikelihood && run.family.name !== 'diffusion';
  const names = requested ?? (points ? ['sw', 'mmd', 'modes', ...(cheapLik ? ['nll'] : [])] : cheapLik ? ['bpd'] : []);
  if (names.length === 0) throw new UsageError(`no default metrics for ${run?.family.name ?? 'these'} samples of images; name them with --metrics (available: ${METRICS.filter((m) => m.kind !== 'points').map((m) => m.name).join(', ')})`, 'eval');
  for (const m of names) {
    const info = METRICS.find((x) => x.name === m)!;
    if (info.kind === 'points' && !points) throw new UsageError(`metric '${m}' is for 2-D points; ${data.name} holds images`, 'eval');
    if (info.kind === 'images' && points) throw new UsageError(`metric '${m}' is for images; ${data.name} holds points`, 'eval');
    if (info.needsModel && !run?.family.logLikelihood) throw new UsageError(`metric '${m}' needs a model with a likelihood${run ? `; the '${run.family.name}' family has none` : ' (pass a run, not samples)'}`, 'eval');
  }
  const n = intOption('eval', 'n', values.n) ?? (points ? 2000 : 256);

  // ---- measure --------------------------------------------------------------------------------
  const t0 = performance.now();
  const results: Record<string, number> = {};
  const sampleBased = names.filter((m) => !METRICS.find((x) => x.name === m)!.needsModel);
  if (sampleBased.length) {
    if (!samples) {
      const opts: SampleOptions = {};
      if (values.sampler) {
        if (!run!.family.samplers.includes(values.sampler)) throw new UsageError(`unknown sampler '${values.sampler}' for the '${run!.family.name}' family (available: ${run!.family.samplers.join(', ')})`, 'eval');
        opts.sampler = values.sampler;
      }
      const steps = intOption('eval', 'steps', values.steps);
      if (steps !== undefined) opts.steps = steps;
      samples = await drawSamples(run!.family, run!.model, n, new Generator(seed), opts);
    }
    if (samples.length % d !== 0) throw new CliError(`the samples have ${samples.length} values, not a whole number of ${d}-D points`);
    Object.assign(results, pointMetrics(sampleBased, samples, referencePoints(data.heldOut, Math.max(n, 2000)), d, data.name));
  }
  if (names.includes('nll') || names.includes('bpd')) {
    Object.assign(results, await likelihoodMetrics(run!.family, run!.model, data.heldOut, n, points ? 1000 : 128, !points));
    if (!names.includes('nll')) delete results.nll;
  }
  const secs = (performance.now() - t0) / 1000;

  // ---- report ---------------------------------------------------------------------------------
  const label: Record<string, string> = {
    sw: 'sliced Wasserstein-2', mmd: 'MMD² (Gaussian kernel)', modes: 'modes captured', highQuality: 'high-quality samples', nll: 'held-out NLL (nats)', bpd: 'held-out bits/dim',
  };
  console.log(`${run ? `${run.family.name} run ${displayPath(run.dir)} (step ${run.step})` : target} against ${data.name} (${data.heldOut.length} held-out items), ${secs.toFixed(1)} s:`);
  for (const [k, v] of Object.entries(results)) console.log(`  ${(label[k] ?? k).padEnd(26)} ${k === 'highQuality' ? `${(100 * v).toFixed(1)}%` : formatNumber(v)}`);
  const out = resolve(values.out ?? (run ? join(run.dir, 'eval.json') : `${target.replace(/\.csv$/i, '')}.eval.json`));
  const record = { ...(run ? { run: run.dir, step: run.step } : { samples: resolve(target) }), data: data.name, n, seed, ...results, time: new Date().toISOString() };
  try {
    await writeFileAtomic(out, `${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    throw new CliError(describeFsError(err, 'write', out), { cause: err });
  }
  console.log(`→ ${displayPath(out)}`);
  return 0;
}
