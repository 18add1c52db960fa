/**
 * The training loop of the scripts that train classifiers (the FID feature network, the noisy
 * classifier of classifier guidance): Adam-type steps on loader batches, the learning-rate
 * schedule stepped after each, and the running loss and batch accuracy printed every `logEvery`
 * steps. Returns the wall time in seconds.
 */
import { type Tensor, scope, type optim } from '../src/index.ts';
import type { DataLoader } from '../src/data/index.ts';

export function trainClassifier(opts: {
  steps: number;
  loader: DataLoader;
  opt: optim.Optimizer;
  sched: optim.LRScheduler;
  /** The loss and the logits of one batch (x, labels). */
  step: (x: Tensor, y: Tensor) => { loss: Tensor; logits: Tensor };
  logEvery: number;
  /** What the accuracy is called in the log ('train acc', 'noisy train acc'). */
  accuracyLabel: string;
}): number {
  const { steps, loader, opt, sched } = opts;
  const t0 = performance.now();
  let runLoss = 0, runAcc = 0, runN = 0;
  for (let step = 1; step <= steps; step++) {
    const [loss, acc] = scope(() => {
      const b = loader.next();
      opt.zeroGrad();
      const { loss: l, logits } = opts.step(b.x!, b.y!);
      l.backward();
      opt.step();
      return [l.itemSync(), logits.argmax(1).eq(b.y!).float().mean().itemSync()];
    });
    sched.step();
    runLoss += loss!;
    runAcc += acc!;
    runN++;
    if (step % opts.logEvery === 0 || step === steps) {
      console.log(`step ${step}/${steps}: loss ${(runLoss / runN).toFixed(4)}, ${opts.accuracyLabel} ${((100 * runAcc) / runN).toFixed(2)}% (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      runLoss = runAcc = runN = 0;
    }
  }
  return (performance.now() - t0) / 1000;
}
