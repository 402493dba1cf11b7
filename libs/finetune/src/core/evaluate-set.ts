import { tf } from '@patchwork/tensor';
import { type Batch, disposeBatch } from '../data/encoded-inputs';
import type { ExampleSet } from '../data/example-set';

/** Predictions and scores of a model on an example set. */
export interface SetEvaluation {
  readonly accuracy: number;
  /** Mean cross-entropy. */
  readonly loss: number;
  /** Predicted label per example. */
  readonly predictions: Int32Array;
  /** `[N * C]` softmax probabilities. */
  readonly probabilities: Float32Array;
}

/**
 * Runs `logitsOf` over `set` in batches (no gradients, tidy per batch) and scores it. The logits
 * function sees eval-mode batches; it must return `[B, C]`.
 */
export function evaluateSet(set: ExampleSet, logitsOf: (batch: Batch) => tf.Tensor, batchSize = 64): SetEvaluation {
  const n = set.size;
  const c = set.numLabels;
  const predictions = new Int32Array(n);
  const probabilities = new Float32Array(n * c);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const batch = set.batch(indices);
    try {
      const probs = tf.tidy(() => tf.softmax(logitsOf(batch), -1).dataSync() as Float32Array);
      probabilities.set(probs, start * c);
      indices.forEach((row, i) => {
        let best = 0;
        for (let k = 1; k < c; k++) if (probs[i * c + k] > probs[i * c + best]) best = k;
        predictions[row] = best;
        if (best === set.labels[row]) correct++;
        lossSum -= Math.log(Math.max(probs[i * c + set.labels[row]], 1e-12));
      });
    } finally {
      disposeBatch(batch);
    }
  }
  return { accuracy: n === 0 ? 0 : correct / n, loss: n === 0 ? 0 : lossSum / n, predictions, probabilities };
}
