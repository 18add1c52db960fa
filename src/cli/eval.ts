/**
 * `genlab eval`: metrics of a trained run, a CSV of points or a folder of PNG images against a
 * data set. Built-in data sets go through the metrics module's `evaluate` (src/metrics/evaluate.ts:
 * FID/KID/IS/precision-recall on its feature networks, bits/dim, and the 2-D metrics against fresh
 * draws of the toy distribution); a user's own data (CSV, PNG folder, digits) gets the sample-based
 * 2-D metrics against its held-out part and the likelihood metrics. Audio runs report the held-out
 * NLL per sample (nats and bits).
 */
import { extname, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { Generator } from '../core/index.ts';
import { writeFileAtomic } from '../nn/io/files.ts';
import type { SampleOptions } from '../models/registry.ts';
import { evaluate, type MetricName, type MetricValue } from '../metrics/evaluate.ts';
import { formatNumber } from '../train/progress.ts';
import { METRICS, EVAL_HELP } from './help.ts';
import { parse, intOption } from './args.ts';
import { UsageError, CliError, describeFsError, displayPath } from './errors.ts';
import { loadRun, type LoadedRun } from './run.ts';
import { loadData, loadCsv, builtinName, TOY_NAMES, type LoadedData } from './data.ts';
import { drawSamples, pointMetrics, likelihoodMetrics, audioLikelihoodMetrics, referencePoints } from './metrics.ts';
import { Reporter } from './term.ts';
import { selectBackend } from './backend.ts';

const LABELS: Record<string, string> = {
  swd: 'sliced Wasserstein-2', mmd: 'MMD² (Gaussian kernel)', kl: 'KL(data ‖ samples), grid', js: 'JS divergence, grid', modes: 'modes captured',
  nll: 'held-out NLL (nats)', bitsPerSample: 'held-out bits/sample', bpd: 'held-out bits/dim', fid: 'FID (genlab feature net)', kid: 'KID (genlab feature net)', is: 'Inception Score (genlab net)', pr: 'precision / recall',
};

/** Print the results under `header`, and write them with `record` as JSON to `out`. */
async function report(header: string, results: Record<string, MetricValue>, record: Record<string, unknown>, out: string, labels: Record<string, string> = LABELS): Promise<void> {
  console.log(header);
  for (const [k, v] of Object.entries(results)) console.log(`  ${(labels[k] ?? k).padEnd(28)} ${show(v)}`);
  try {
    await writeFileAtomic(out, `${JSON.stringify({ ...record, ...results, time: new Date().toISOString() }, null, 2)}\n`);
  } catch (err) {
    throw new CliError(describeFsError(err, 'write', out), { cause: err });
  }
  console.log(`→ ${displayPath(out)}`);
}

/** A metric's value as one line: numbers as they are, records as `key value` pairs. */
function show(v: MetricValue): string {
  if (typeof v === 'number') return formatNumber(v);
  return Object.entries(v).filter(([, x]) => typeof x === 'number' || typeof x === 'boolean').map(([k, x]) => `${k} ${typeof x === 'number' ? formatNumber(x) : String(x)}`).join(', ');
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('eval', argv, {
    metrics: { type: 'string' },
    data: { type: 'string' },
    'data-path': { type: 'string' },
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

  // ---- what is measured: a run, a CSV of points, or a folder of PNGs --------------------------------
  let run: LoadedRun | null = null;
  let samples: Float32Array | null = null;
  let dir: string | undefined;
  const kind = await stat(target).then((s) => (s.isFile() ? 'file' : s.isDirectory() ? 'dir' : null), () => null);
  const isCsv = kind === 'file' && extname(target).toLowerCase() === '.csv';
  const isPngDir = kind === 'dir' && !(await stat(join(target, 'checkpoint')).then(() => true, () => false)) && !(await stat(join(target, 'meta.json')).then(() => true, () => false));
  if (isCsv || isPngDir) {
    if (!values.data) throw new UsageError(`evaluating ${isCsv ? 'a file of points' : 'a folder of images'} needs the reference data: --data <set|path>`, 'eval');
    if (isCsv) samples = (await loadCsv(resolve(target), { name: target })).train.fields.x!.data as Float32Array;
    else dir = resolve(target);
  } else {
    run = await loadRun(target);
  }
  const dataCfg = values.data ? { name: values.data, ...(values['data-path'] ? { path: values['data-path'] } : {}) } : run!.config.data;
  const data: LoadedData = await loadData(dataCfg);
  const spec = data.spec;
  const points = spec.kind === 'points';
  const d = spec.shape.reduce((a, b) => a * b, 1);
  if (run && JSON.stringify(run.config.dataSpec.shape) !== JSON.stringify(spec.shape)) {
    throw new CliError(`the run was trained on data of shape [${run.config.dataSpec.shape.join(', ')}] but ${data.name} has shape [${spec.shape.join(', ')}]`);
  }
  if (spec.kind === 'audio') {
    // audio: the exact held-out likelihood of the μ-law clips; there are no sample-based audio metrics
    if (!run) throw new UsageError(`audio (${data.name}) is measured through a trained model's likelihood: genlab eval <run>`, 'eval');
    for (const m of requested ?? []) if (m !== 'nll' && m !== 'bpd') throw new UsageError(`metric '${m}' is not for audio; an audio run reports its held-out NLL (nll, bpd)`, 'eval');
    if (!run.family.logLikelihood) throw new UsageError(`the '${run.family.name}' family has no likelihood to measure audio with`, 'eval');
    const n = intOption('eval', 'n', values.n) ?? 256;
    const count = Math.min(n, data.heldOut.length);
    const rep = new Reporter();
    rep.bar(`held-out NLL of ${count} clips`);
    const t0 = performance.now();
    const results = await audioLikelihoodMetrics(run.family, run.model, data.heldOut, n, 8);
    rep.endBar();
    const heldOut = data.heldOut !== data.train ? 'held-out' : 'training (none held out)';
    const header = `${run.family.name} run ${displayPath(run.dir)} (step ${run.step}) against ${data.name}, ${count} ${heldOut} clips of ${spec.shape[0]} samples, ${((performance.now() - t0) / 1000).toFixed(1)} s:`;
    const out = resolve(values.out ?? join(run.dir, 'eval.json'));
    await report(header, results, { run: run.dir, step: run.step, data: data.name, n: count }, out, { ...LABELS, nll: 'held-out NLL (nats/sample)' });
    return 0;
  }
  const builtin = builtinName(dataCfg.name);
  const family = run?.family;
  const likelihood = !!family?.logLikelihood;
  const cheapLik = likelihood && family!.name !== 'diffusion';
  const featureSet = builtin === 'mnist' || builtin === 'fashion-mnist';
  const toyKey = builtin && TOY_NAMES[builtin] ? TOY_NAMES[builtin]! : null;
  const mixture = toyKey === 'eightGaussians' || toyKey === 'gaussianGrid' || toyKey === 'ring';
  const names = requested ?? (points
    ? ['swd', 'mmd', ...(mixture ? ['modes'] : []), ...(cheapLik ? ['nll'] : [])]
    : [...(featureSet ? ['fid', 'kid'] : []), ...(cheapLik ? ['bpd'] : [])]);
  if (names.length === 0) throw new UsageError(`no metrics apply by default here; name them with --metrics (see 'genlab list metrics')`, 'eval');
  for (const m of names) {
    const info = METRICS.find((x) => x.name === m)!;
    if (info.kind === 'points' && !points) throw new UsageError(`metric '${m}' is for points; ${data.name} holds images`, 'eval');
    if (info.kind === 'images' && points) throw new UsageError(`metric '${m}' is for images; ${data.name} holds points`, 'eval');
    if (info.needsModel && !likelihood) throw new UsageError(`metric '${m}' needs a model with a likelihood${run ? `; the '${run.family.name}' family has none` : ' (pass a run)'}`, 'eval');
    if (info.builtinOnly && !(points ? toyKey : featureSet)) throw new UsageError(`metric '${m}' needs a built-in data set (${info.builtinOnly}); ${data.name} is not one`, 'eval');
  }
  const n = intOption('eval', 'n', values.n) ?? (points ? 2000 : 1000);

  // ---- samples ----------------------------------------------------------------------------------
  const rep = new Reporter();
  const sampleBased = names.filter((m) => !METRICS.find((x) => x.name === m)!.needsModel);
  const t0 = performance.now();
  if (sampleBased.length && !samples && !dir) {
    const opts: SampleOptions = {};
    if (values.sampler) {
      if (!family!.samplers.includes(values.sampler)) throw new UsageError(`unknown sampler '${values.sampler}' for the '${family!.name}' family (available: ${family!.samplers.join(', ')})`, 'eval');
      opts.sampler = values.sampler;
    }
    const steps = intOption('eval', 'steps', values.steps);
    if (steps !== undefined) opts.steps = steps;
    // in batches, so that the bar moves and memory stays small
    const parts: Float32Array[] = [];
    const B = points ? n : 100, rng = new Generator(seed);
    for (let i = 0; i < n; i += B) {
      parts.push(await drawSamples(family!, run!.model, Math.min(B, n - i), rng, opts));
      rep.bar(`sampling ${Math.min(n, i + B)}/${n}`);
    }
    samples = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((at, p) => (samples!.set(p, at), at + p.length), 0);
  }
  if (samples && samples.length % d !== 0) throw new CliError(`the samples have ${samples.length} values, not a whole number of ${d}-D points`);

  // ---- measure ----------------------------------------------------------------------------------
  let results: Record<string, MetricValue>;
  if (toyKey || featureSet) {
    results = await evaluate({
      metrics: names as MetricName[],
      dataset: toyKey ?? builtin!,
      ...(samples ? { samples, range: [-1, 1] as const } : {}),
      ...(dir ? { dir } : {}),
      ...(run ? { run: { family: run.family, model: run.model } } : {}),
      n, seed,
      likelihood: family?.name === 'diffusion' ? 'density' : 'discrete',
      heldOut: points ? 2000 : n,
      ...(dataCfg.path ? { dataPath: dataCfg.path } : {}),
      onProgress: (p) => rep.bar(`${p.stage} ${p.done}/${p.total}`),
    });
  } else {
    results = {};
    if (sampleBased.length) Object.assign(results, pointMetrics(sampleBased, samples!, referencePoints(data.heldOut, Math.max(n, 2000)), d, data.name));
    if (names.includes('nll') || names.includes('bpd')) {
      const lik = await likelihoodMetrics(run!.family, run!.model, data.heldOut, points ? 2000 : Math.min(n, 256), points ? 1000 : 64, !points);
      for (const k of ['nll', 'bpd']) if (names.includes(k) && lik[k] !== undefined) results[k] = lik[k]!;
    }
  }
  rep.endBar();
  const secs = (performance.now() - t0) / 1000;

  // ---- report -----------------------------------------------------------------------------------
  const count = samples ? samples.length / d : dir ? 'the' : n;
  const header = `${run ? `${run.family.name} run ${displayPath(run.dir)} (step ${run.step})` : target} against ${data.name}, ${count} samples, ${secs.toFixed(1)} s:`;
  const out = resolve(values.out ?? (run ? join(run.dir, 'eval.json') : `${target.replace(/[/\\]+$/, '').replace(/\.csv$/i, '')}.eval.json`));
  await report(header, results, { ...(run ? { run: run.dir, step: run.step } : { samples: resolve(target) }), data: data.name, n, seed }, out);
  return 0;
}
