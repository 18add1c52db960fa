/**
 * Training and evaluation of the flow families on the 2-D toy sets, through the model registry's
 * verbs (create, loss, logLikelihood, sample). Shared by scripts/flows-2d.ts and the learning
 * test; the PyTorch twin scripts/fixtures/flows_2d_torch.py mirrors it.
 *
 * Budget: `steps` Adam steps (lr, β = (0.9, 0.999)) on fresh batches of `batchSize` points drawn
 * from the toy sampler (an endless training set, as FFJORD's toy experiments); the held-out NLL is
 * the mean −log p(x) in nats over `testSize` points from an independent stream.
 */
import { type Tensor, Generator, tensor, scope, noGrad, optim } from '../src/index.ts';
import { toy2d } from '../src/data/toy2d.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { flowFamilies, type FlowModel } from '../src/models/flows/index.ts';

export type Flow2dFamily = keyof typeof flowFamilies;
export type Toy = 'twoMoons' | 'eightGaussians' | 'checkerboard';

export const POINTS: DataSpec = { kind: 'points', shape: [2] };

export interface Flow2dOptions {
  family: Flow2dFamily;
  dataset: Toy;
  steps: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Overrides of the family's defaults. */
  config?: Record<string, unknown>;
  testSize: number;
  /** Called every `logEvery` steps with the running mean loss. */
  onLog?: (step: number, loss: number) => void;
  logEvery?: number;
}

export interface Flow2dResult {
  model: FlowModel<Record<string, unknown>>;
  /** Mean −log p(x) in nats on the held-out points. */
  testNll: number;
  /** Training loss of every step (mean NLL of the batch, nats). */
  losses: number[];
  /** Whether every loss and every parameter stayed finite. */
  finite: boolean;
  seconds: number;
}

function points(dataset: Toy, n: number, rng: Generator): Tensor {
  return tensor(toy2d[dataset]!.sample(n, rng), { shape: [n, 2] });
}

/** Mean −log p(x) (nats) of the model over x, in batches, under noGrad. */
export function heldOutNll(model: FlowModel<Record<string, unknown>>, x: Tensor, rng: Generator, batch = 2000): number {
  const fam = flowFamilies[model.family as Flow2dFamily];
  model.net.eval();
  let sum = 0;
  const n = x.shape[0]!;
  for (let i = 0; i < n; i += batch) {
    sum += scope(() => noGrad(() => fam.logLikelihood!(model as never, { x: x.slice(0, i, Math.min(n, i + batch)) }, rng).logLik.sum().itemSync()));
  }
  model.net.train();
  return -sum / n;
}

export function trainFlow2d(o: Flow2dOptions): Flow2dResult {
  const t0 = performance.now();
  const fam = flowFamilies[o.family];
  const [initRng, dataRng, lossRng, testRng] = new Generator(o.seed).split(4);
  const config = { ...fam.defaults(POINTS), ...(o.config ?? {}) };
  const model = fam.create(config as never, POINTS, initRng!) as unknown as FlowModel<Record<string, unknown>>;
  const opt = new optim.Adam(model.net.parameters(), { lr: o.lr });
  const losses: number[] = [];
  let finite = true;
  let run = 0;
  for (let step = 1; step <= o.steps; step++) {
    const loss = scope(() => {
      opt.zeroGrad();
      const l = fam.loss(model as never, { x: points(o.dataset, o.batchSize, dataRng!) }, lossRng!);
      l.backward();
      opt.step();
      return l.itemSync();
    });
    losses.push(loss);
    if (!Number.isFinite(loss)) finite = false;
    run += loss;
    if (o.onLog && step % (o.logEvery ?? 100) === 0) {
      o.onLog(step, run / (o.logEvery ?? 100));
      run = 0;
    }
  }
  for (const p of model.net.parameters()) if (!p.dataSync().every(Number.isFinite)) finite = false;
  const xTest = points(o.dataset, o.testSize, testRng!);
  const testNll = heldOutNll(model, xTest, testRng!);
  xTest.dispose();
  return { model, testNll, losses, finite, seconds: (performance.now() - t0) / 1000 };
}

/** Plot window of each data set: [xmin, xmax, ymin, ymax]. */
export const BOUNDS: Record<Toy, [number, number, number, number]> = {
  twoMoons: [-1.5, 2.5, -1.25, 1.75],
  eightGaussians: [-4, 4, -4, 4],
  checkerboard: [-4, 4, -4, 4],
};

/** The model density p(x) on a res×res grid over `bounds`, row 0 at the top (largest y). */
export function densityGrid(model: FlowModel<Record<string, unknown>>, bounds: [number, number, number, number], res: number, rng: Generator): Float64Array {
  const [x0, x1, y0, y1] = bounds;
  const pts = new Float32Array(res * res * 2);
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {
    pts[(r * res + c) * 2] = x0 + ((c + 0.5) / res) * (x1 - x0);
    pts[(r * res + c) * 2 + 1] = y1 - ((r + 0.5) / res) * (y1 - y0);
  }
  const fam = flowFamilies[model.family as Flow2dFamily];
  const out = new Float64Array(res * res);
  const batch = 4096;
  model.net.eval();
  for (let i = 0; i < res * res; i += batch) {
    const n = Math.min(batch, res * res - i);
    const lp = scope(() => noGrad(() => fam.logLikelihood!(model as never, { x: tensor(pts.subarray(2 * i, 2 * (i + n)), { shape: [n, 2] }) }, rng).logLik.dataSync()));
    for (let k = 0; k < n; k++) out[i + k] = Math.exp(lp[k]!);
  }
  model.net.train();
  return out;
}
