/**
 * genlab on one of its backends: `node --import tsx bench/peer_genlab.ts --backend <name> --spec <json>`.
 * Prints one PeerResult (see common.ts). `--list` prints the registered backend names instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, Tensor, backendNames, nn, noGrad, optim, scope, setBackend, tensor } from '../src/index.ts';
import { UNet, edm, precondition, sigmaView } from '../src/models/diffusion/index.ts';
import {
  type BenchSpec, type LimitPairs, type NamedArray, type PeerResult, type SampleResult, type StepResult, type Timing, CONV_NET, SEED,
  convData, convParams, emit, errorMessage, gemmProbeIndices, gemmResult, hashUniform, measure, measureSamples, measureSteps, median,
  mlpData, mlpParams, peerArgs, UNFINISHED, unetData, unetParam, wants,
} from './common.ts';
import { PeakProbe } from './simd_peak.ts';

/** Backends that src/index.ts does not import itself are registered by importing their module. */
const OPTIONAL_BACKENDS = ['wasm', 'webgpu'];

async function registerOptionalBackends(): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  for (const name of OPTIONAL_BACKENDS) {
    if (backendNames().includes(name)) continue;
    const path = fileURLToPath(new URL(`../src/backends/${name}/index.ts`, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      await import(path);
    } catch (e) {
      errors[name] = `importing src/backends/${name}/index.ts failed: ${errorMessage(e)}`;
    }
  }
  return errors;
}

const toTensor = (a: NamedArray) => tensor(a.data, { shape: a.shape });

function loadWeights(net: nn.Module, params: NamedArray[]): void {
  scope(() => {
    net.loadStateDict(Object.fromEntries(params.map((p) => [p.name, toTensor(p)])));
  });
}

/** The loss of one step, read back; parameters are updated by the time it resolves. */
async function trainStep(net: nn.Sequential, opt: optim.Optimizer, loss: (out: Tensor) => Tensor, x: Tensor): Promise<number> {
  const l = scope(() => {
    opt.zeroGrad();
    const value = loss(net.forward(x));
    value.backward();
    opt.step();
    return value.detach();
  });
  try {
    return (await l.data())[0]!;
  } finally {
    l.dispose();
  }
}

/**
 * The GEMM's fraction of the SIMD128 limit measured in the same seconds: repetitions of the
 * product (as many calls as one timed repetition of `measure` holds) alternate with bursts of the
 * FMA loop (simd_peak.ts) on as many threads, each repetition compared with the mean of the bursts
 * on either side of it. The figure is the median of those ratios.
 */
async function pairedFraction(call: () => Promise<void>, t: Timing, flopsPerCall: number, threads: number, pairs: number): Promise<LimitPairs> {
  const probe = await PeakProbe.start(threads);
  try {
    const burstSeconds = Math.max(0.05, t.seconds * t.inner);
    const limits = [await probe.burst(burstSeconds)];
    const gflops: number[] = [];
    for (let r = 0; r < pairs; r++) {
      const s = performance.now();
      for (let i = 0; i < t.inner; i++) await call();
      gflops.push((flopsPerCall * t.inner) / ((performance.now() - s) / 1000) / 1e9);
      limits.push(await probe.burst(burstSeconds));
    }
    const fractions = gflops.map((g, r) => g / ((limits[r]! + limits[r + 1]!) / 2));
    return { variant: probe.variant, threads, fraction: median(fractions), fractions, gflops, limits };
  } finally {
    await probe.close();
  }
}

async function gemm(spec: BenchSpec, out: PeerResult, threads: number | undefined): Promise<void> {
  out.gemm = {};
  for (const n of spec.gemm.sizes) {
    try {
      const a = tensor(hashUniform(n * n, SEED.gemmA), { shape: [n, n] });
      const b = tensor(hashUniform(n * n, SEED.gemmB), { shape: [n, n] });
      const lastOf = (c: Tensor) => c.reshape(-1).slice(0, n * n - 1);
      const call = async () => {
        const last = scope(() => lastOf(a.matmul(b)));
        await last.data();
        last.dispose();
      };
      const t = await measure(call, spec.timing);
      const paired = threads !== undefined && !t.approx ? await pairedFraction(call, t, 2 * n ** 3, threads, spec.timing.reps) : undefined;
      const c = a.matmul(b);
      const all = await c.data();
      const probe = gemmProbeIndices(n).map((i) => all[i]!);
      for (const x of [a, b, c]) x.dispose();
      out.gemm[n] = { ...gemmResult(n, t, probe), ...(paired ? { limitPairs: paired } : {}) };
    } catch (e) {
      out.gemm[n] = { error: errorMessage(e) };
    }
  }
}

async function mlp(spec: BenchSpec, out: PeerResult): Promise<void> {
  try {
    const { batch, widths, lr } = spec.mlp;
    const rng = new Generator(0);
    const layers: nn.TensorModule[] = [];
    for (let i = 0; i + 1 < widths.length; i++) {
      if (i > 0) layers.push(new nn.SiLU());
      layers.push(new nn.Linear(widths[i]!, widths[i + 1]!, { rng }));
    }
    const net = new nn.Sequential(...layers);
    loadWeights(net, mlpParams(widths));
    const opt = new optim.Adam(net.parameters(), { lr });
    const d = mlpData(spec);
    const x = tensor(d.x, { shape: [batch, widths[0]!] });
    const y = tensor(d.y, { shape: [batch, widths[widths.length - 1]!] });
    out.mlp = await measureSteps(() => trainStep(net, opt, (o) => nn.F.mseLoss(o, y), x), spec.timing);
    for (const t of [x, y]) t.dispose();
    opt.dispose();
    net.dispose();
  } catch (e) {
    out.mlp = { error: errorMessage(e) };
  }
}

async function conv(spec: BenchSpec, out: PeerResult): Promise<void> {
  try {
    const rng = new Generator(0);
    const layers: nn.TensorModule[] = [];
    for (const c of CONV_NET.convs) layers.push(new nn.Conv2d(c.cin, c.cout, 3, { stride: c.stride, padding: c.padding, rng }), new nn.ReLU());
    layers.push(new nn.Flatten(), new nn.Linear(CONV_NET.linear.in, CONV_NET.linear.out, { rng }));
    const net = new nn.Sequential(...layers);
    loadWeights(net, convParams());
    const opt = new optim.Adam(net.parameters(), { lr: spec.conv.lr });
    const d = convData(spec);
    const x = tensor(d.x, { shape: [spec.conv.batch, 1, 28, 28] });
    const labels = tensor(d.labels, { shape: [spec.conv.batch], dtype: 'int32' });
    out.conv = await measureSteps(() => trainStep(net, opt, (o) => nn.F.crossEntropy(o, labels), x), spec.timing);
    for (const t of [x, labels]) t.dispose();
    opt.dispose();
    net.dispose();
  } catch (e) {
    out.conv = { error: errorMessage(e) };
  }
}

/** A scalar computed in a scope, read back and freed. */
async function readScalar(f: () => Tensor): Promise<number> {
  const t = scope(f);
  try {
    return (await t.data())[0]!;
  } finally {
    t.dispose();
  }
}

/**
 * The U-Net workload (common.ts `unetSpec`): the EDM-preconditioned denoiser
 * D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise, class) from genlab's own `edm` and `precondition`,
 * trained on EDM's loss λ(σ)·‖D(x₀ + σε; σ) − x₀‖² (mean over pixels and batch) with Adam, then
 * called without gradients in eval mode. A partial result is printed after training, so a sampling
 * run cut short by the runner's time limit keeps the training figure.
 */
async function unet(spec: BenchSpec, out: PeerResult): Promise<void> {
  const u = spec.unet;
  const C = u.net.inChannels, R = u.net.resolution;
  let net: UNet | undefined;
  try {
    const model = new UNet(u.net, { rng: new Generator(0) });
    net = model;
    const sd = model.stateDict();
    const loadInitial = () => scope(() => {
      model.loadStateDict(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, tensor(unetParam(k, t.shape), { shape: [...t.shape] })])));
    });
    loadInitial();
    const p = edm({ sigmaData: u.sigmaData });
    const denoise = precondition(p, (x, cNoise, cond) => model.forward(x, cNoise, cond));
    let train: StepResult = { error: UNFINISHED };
    let sample: SampleResult = { error: UNFINISHED };
    const result = () => ({ parameters: model.numParameters(), tensors: Object.keys(sd).length, train, sample });

    // Training steps
    try {
      const d = unetData(spec, 'train');
      const n = u.batch;
      const x0 = tensor(d.x0, { shape: [n, C, R, R] });
      const noise = tensor(d.noise, { shape: [n, C, R, R] });
      const sigma = tensor(d.sigma);
      const classes = tensor(d.classes, { dtype: 'int32' });
      const opt = new optim.Adam(model.parameters(), { lr: u.lr });
      model.train();
      train = await measureSteps(() => readScalar(() => {
        opt.zeroGrad();
        const x = x0.add(noise.mul(sigmaView(sigma, x0)));
        const D = denoise(x, sigma, { classes });
        const loss = D.sub(x0).square().reshape([n, -1]).mean(1).mul(p.weight(sigma)).mean();
        loss.backward();
        opt.step();
        return loss.detach();
      }), spec.timing);
      for (const t of [x0, noise, sigma, classes]) t.dispose();
      opt.dispose();
    } catch (e) {
      train = { error: errorMessage(e) };
    }
    out.unet = result();
    emit(out);

    // Denoiser calls, as a sampler makes them, with the initial weights again (peers train for different numbers of steps)
    try {
      model.zeroGrad();
      loadInitial();
      const d = unetData(spec, 'sample');
      const n = u.sampleBatch;
      const x0 = tensor(d.x0, { shape: [n, C, R, R] });
      const noise = tensor(d.noise, { shape: [n, C, R, R] });
      const sigma = tensor(d.sigma);
      const classes = tensor(d.classes, { dtype: 'int32' });
      const x = x0.add(noise.mul(sigmaView(sigma, x0)));
      model.eval();
      sample = await measureSamples(() => readScalar(() => noGrad(() => denoise(x, sigma, { classes }).square().mean())), n, spec.timing);
      for (const t of [x0, noise, sigma, classes, x]) t.dispose();
    } catch (e) {
      sample = { error: errorMessage(e) };
    }
    out.unet = result();
  } catch (e) {
    out.unet = { error: errorMessage(e) };
  } finally {
    net?.dispose();
  }
}

async function main(): Promise<void> {
  const importErrors = await registerOptionalBackends();
  if (process.argv.includes('--list')) {
    process.stdout.write(`${JSON.stringify({ backends: backendNames(), importErrors })}\n`);
    return;
  }
  const { spec, args } = peerArgs();
  const name = args.backend ?? 'cpu';
  const out: PeerResult = { id: `genlab-${name}`, label: `genlab ${name}`, info: { backend: name } };
  try {
    const b = setBackend(name);
    out.info.dtypes = b.dtypes;
    // Whatever a backend reports about itself (e.g. a thread count), without relying on its shape.
    for (const key of ['threads', 'relaxed']) if (key in b) out.info[key] = (b as unknown as Record<string, unknown>)[key];
    const details = [
      typeof out.info.threads === 'number' ? `${out.info.threads} thread${out.info.threads === 1 ? '' : 's'}` : '',
      typeof out.info.relaxed === 'boolean' ? (out.info.relaxed ? 'relaxed SIMD' : 'SIMD128') : '',
    ].filter(Boolean);
    if (details.length) out.label += ` (${details.join(', ')})`;
    // A first op, so a backend that registers but cannot start (no WebGPU adapter, …) fails here.
    await tensor([1, 2, 3]).add(1).data();
  } catch (e) {
    out.error = importErrors[name] ?? `setBackend('${name}') failed: ${errorMessage(e)}`;
    emit(out);
    return;
  }
  // The SIMD128 limit is the wasm backend's ceiling: only its products are paired with it.
  if (wants(spec, 'gemm')) await gemm(spec, out, name === 'wasm' && typeof out.info.threads === 'number' ? out.info.threads : undefined);
  if (wants(spec, 'mlp')) await mlp(spec, out);
  if (wants(spec, 'conv')) await conv(spec, out);
  if (wants(spec, 'unet')) await unet(spec, out);
  emit(out);
}

await main();
