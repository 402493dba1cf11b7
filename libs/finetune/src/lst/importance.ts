import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { BlockSchema } from './block-schema';
import type { ImportanceMap } from './prune-plan';

/** The backbone parameters structured pruning scores (block projections, norms, embeddings present in the model). */
export function importanceKeys(model: Model, schema: BlockSchema): string[] {
  const keys = new Set<string>();
  for (const b of schema.blocks) {
    for (const role of [b.q, b.k, b.v, b.o, b.fcIn, b.fcOut]) {
      keys.add(role.spec.weightKey);
      if (role.spec.biasKey !== undefined) keys.add(role.spec.biasKey);
    }
    for (const n of [b.ln1, b.ln2]) keys.add(n.weight).add(n.bias);
  }
  if (schema.finalNorm !== undefined) keys.add(schema.finalNorm.weight).add(schema.finalNorm.bias);
  for (const { key } of schema.residualKeys) if (model.weights.has(key)) keys.add(key);
  return [...keys];
}

function toMap(model: Model, entries: Map<string, Float32Array>): ImportanceMap {
  return { get: (key) => (entries.has(key) ? { values: entries.get(key) as Float32Array, shape: (model.weights.get(key) as tf.Tensor).shape } : undefined) };
}

/** |θ| per element: a data-free importance (LST's magnitude baseline). */
export function magnitudeImportance(model: Model, keys: readonly string[]): ImportanceMap {
  const out = new Map<string, Float32Array>();
  for (const key of keys) out.set(key, tf.tidy(() => (model.weights.get(key) as tf.Tensor).abs().dataSync() as Float32Array));
  return toMap(model, out);
}

/**
 * Empirical Fisher information per element, F = Σ_n (∂ℓ_n/∂θ)², over `samples` single-example
 * losses `lossOf(n)` of the frozen backbone (LST's "fisher" pruning importance, batch size 1).
 * The backbone's weights are differentiated in place; nothing is trained.
 */
export function fisherImportance(model: Model, keys: readonly string[], samples: number, lossOf: (n: number) => tf.Scalar): ImportanceMap {
  const xs = keys.map((k) => model.weights.get(k) as tf.Tensor);
  const sums = xs.map((x) => tf.zerosLike(x));
  try {
    for (let n = 0; n < samples; n++) {
      const { value, grads } = tf.engine().gradients(() => lossOf(n), xs, undefined, true);
      value.dispose();
      grads.forEach((g, i) => {
        if (g === undefined || g === null) return;
        const next = tf.tidy(() => tf.add(sums[i], tf.square(g)));
        sums[i].dispose();
        g.dispose();
        sums[i] = next;
      });
    }
    const out = new Map<string, Float32Array>();
    keys.forEach((k, i) => out.set(k, sums[i].dataSync() as Float32Array));
    return toMap(model, out);
  } finally {
    tf.dispose(sums);
  }
}
