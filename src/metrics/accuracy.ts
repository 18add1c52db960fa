/** Classification accuracy of a network over a labelled ArrayDataset (fields `x` and int32 `y`). */
import { type Tensor, scope, noGrad } from '../core/index.ts';
import type { ArrayDataset } from '../data/loader.ts';

/** Correct predictions (argmax of the logits) and their share, in batches; reads counts back synchronously. */
export function classificationAccuracy(logits: (x: Tensor) => Tensor, data: ArrayDataset, batchSize = 500): { correct: number; total: number; accuracy: number } {
  let correct = 0;
  for (let i = 0; i < data.length; i += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, data.length - i) }, (_, k) => i + k);
    correct += scope(() => noGrad(() => {
      const b = data.batch(idx);
      return logits(b.x!).argmax(1).eq(b.y!).int().sum().itemSync();
    }));
  }
  return { correct, total: data.length, accuracy: data.length ? correct / data.length : NaN };
}
