/** Shared by the digits example and its learning test: an MLP classifier on the 8×8 digits. */
import { Generator, scope, noGrad, nn, optim } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { loadDigits } from '../src/data/locate.ts';

export interface DigitsRun {
  testAccuracy: number;
  testSize: number;
  finalLoss: number;
}

/** A fixed split: the last 20% of a seeded permutation (seed 1234) is the test set. */
export async function digitsSplit(): Promise<{ train: ArrayDataset; test: ArrayDataset }> {
  const d = await loadDigits();
  const perm = new Generator(1234).permutation(d.n);
  const nTest = Math.floor(d.n * 0.2);
  const pick = (idx: Int32Array) => {
    const x = new Float32Array(idx.length * 64), y = new Int32Array(idx.length);
    idx.forEach((k, i) => {
      x.set(d.images.subarray(k * 64, (k + 1) * 64), i * 64);
      y[i] = d.labels[k]!;
    });
    return new ArrayDataset({ x: { data: x, itemShape: [64], dtype: 'float32' }, y: { data: y, itemShape: [], dtype: 'int32' } });
  };
  return { train: pick(perm.subarray(nTest)), test: pick(perm.subarray(0, nTest)) };
}

export async function trainDigitsMlp(opts: { steps: number; rng: Generator; log?: (s: string) => void }): Promise<DigitsRun> {
  const { train, test } = await digitsSplit();
  const [initRng, dataRng] = opts.rng.split(2) as Generator[];
  const net = new nn.Sequential(new nn.Linear(64, 128, { rng: initRng! }), new nn.ReLU(), new nn.Linear(128, 10, { rng: initRng! }));
  const opt = new optim.AdamW(net.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
  const loader = new DataLoader(train, { batchSize: 64, shuffle: true, rng: dataRng! });
  let finalLoss = NaN;
  for (let step = 1; step <= opts.steps; step++) {
    finalLoss = scope(() => {
      const b = loader.next();
      opt.zeroGrad();
      const loss = nn.F.crossEntropy(net.forward(b.x!), b.y!);
      loss.backward();
      opt.step();
      return loss.itemSync();
    });
    if (opts.log && (step % 100 === 0 || step === opts.steps)) opts.log(`step ${step}: loss ${finalLoss.toFixed(4)}`);
  }
  net.eval();
  const all = test.batch(Int32Array.from({ length: test.length }, (_, i) => i));
  const acc = scope(() => noGrad(() => net.forward(all.x!).argmax(1).eq(all.y!).float().mean().itemSync()));
  return { testAccuracy: acc, testSize: test.length, finalLoss };
}
