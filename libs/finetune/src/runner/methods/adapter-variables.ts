import { PatchworkError } from '@patchwork/errors';
import type { PeftAdapter } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';

/**
 * An adapter's trainable variables under stable names (`<module>.<field>` for the adapted
 * layers, the canonical key for fully trained base parameters), so checkpoints of a resumed run
 * map onto the same tensors. The order is the adapter's own `trainableVariables()` order.
 */
export function namedAdapterVariables(adapter: PeftAdapter): Map<string, tf.Variable> {
  const named = new Map<string, tf.Variable>();
  for (const [module, layer] of adapter.modules) {
    for (const [field, value] of Object.entries(layer)) if (value instanceof tf.Variable) named.set(`${module}.${field}`, value);
  }
  const all = adapter.trainableVariables();
  const overrides = all.slice(named.size);
  const keys = adapter.savedParameterKeys;
  if (overrides.length !== keys.length) throw new PatchworkError('INTERNAL', `adapter has ${all.length} variables; ${named.size} in layers and ${keys.length} saved parameters`);
  keys.forEach((k, i) => named.set(k, overrides[i]));
  const listed = [...named.values()];
  if (listed.length !== all.length || listed.some((v, i) => v !== all[i])) throw new PatchworkError('INTERNAL', 'adapter variables could not be named in their training order');
  return named;
}
