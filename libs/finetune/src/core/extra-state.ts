import type { tf } from '@patchwork/tensor';
import type { ExtraState } from '@patchwork/training';

/**
 * An ExtraState whose `save` builds fresh tensors: the trainer only reads what `save` returns,
 * so each call frees the previous call's tensors, and `dispose` frees the last ones. Checkpoints
 * hold float32 only; integers below 2^24 travel exactly as floats.
 */
export function ownedExtraState(build: () => Map<string, tf.Tensor>, load: (tensors: ReadonlyMap<string, tf.Tensor>) => void): ExtraState & { dispose(): void } {
  let last: tf.Tensor[] = [];
  const free = () => {
    for (const t of last) t.dispose();
    last = [];
  };
  return {
    save() {
      free();
      const out = build();
      last = [...out.values()];
      return out;
    },
    load,
    dispose: free,
  };
}
