import { tf } from '@patchwork/tensor';

/**
 * High-water mark of live tensor bytes (`tf.memory().numBytes`), sampled where a training step
 * holds the most: right after the forward pass (every activation the backward pass needs is
 * alive), after the backward pass (gradients plus the accumulated sum) and after the optimizer
 * update (moments). It undercounts transient buffers inside a single kernel.
 */
export class MemoryMeter {
  private peak = 0;

  sample(): void {
    const bytes = tf.memory().numBytes;
    if (bytes > this.peak) this.peak = bytes;
  }

  get peakBytes(): number {
    return this.peak;
  }
}
