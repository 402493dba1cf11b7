import { tf } from '@patchwork/tensor';
import type { PreparedRun } from './method';

/**
 * The exact high-water mark of live tensor bytes during one forward + backward pass of a
 * training batch, above the bytes live before it (`tf.profile` records the total after every
 * kernel, transient buffers of the forward pass included, which the trainer's sampling misses).
 * The gradients are discarded; nothing is trained.
 */
export async function stepMemoryProfile(run: PreparedRun, examples: number, batchSize: number): Promise<number> {
  const indices = Array.from({ length: Math.min(batchSize, examples) }, (_, i) => i);
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => run.stepLoss(indices), run.stepVariables());
    tf.dispose([value, ...Object.values(grads)]);
  });
  return Math.max(0, info.peakBytes - before);
}
