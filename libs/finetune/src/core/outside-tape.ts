import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

/**
 * Runs `fn` so that nothing it computes is recorded on an active gradient tape, and returns its
 * outputs as constants. tfjs has no `stop_gradient`/`no_grad`: every kernel executed inside a
 * `tf.variableGrads` closure is taped together with the tensors its gradient needs, which for a
 * frozen backbone means keeping all of its activations until the backward pass. A custom-gradient
 * op runs its forward function with taping suspended (the engine's kernel depth is raised), so
 * wrapping the frozen computation in one leaves a single tape node with nothing saved; its
 * outputs reach the loss as leaves whose gradient is never asked for.
 *
 * The outputs must be float32; `fn`'s intermediates are freed before this returns. Outside a
 * tape this is just `tf.tidy(fn)` plus one concatenation.
 */
export function outsideTape(fn: () => tf.Tensor[]): tf.Tensor[] {
  let shapes: number[][] = [];
  const anchor = tf.scalar(0);
  try {
    const run = tf.customGrad(() => {
      const flat = tf.tidy(() => {
        const outs = fn();
        if (outs.length === 0) throw new PatchworkError('INTERNAL', 'outsideTape: fn returned no tensors');
        for (const t of outs) {
          if (t.dtype !== 'float32') throw new PatchworkError('INTERNAL', `outsideTape: outputs must be float32, got ${t.dtype}`);
        }
        shapes = outs.map((t) => [...t.shape]);
        return tf.concat(outs.map((t) => t.reshape([-1])));
      });
      // The gradient of the anchor is zero: nothing upstream of fn's outputs is trainable here.
      return { value: flat, gradFunc: () => [tf.zerosLike(anchor)] };
    });
    const flat = run(anchor);
    const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const parts = sizes.length === 1 ? [flat] : tf.split(flat, sizes);
    const out = parts.map((p, i) => p.reshape(shapes[i]));
    if (sizes.length > 1) tf.dispose(parts);
    flat.dispose();
    return out;
  } finally {
    anchor.dispose();
  }
}
