import { ViolationCollector } from '@patchwork/errors';
import type { LinearSpec } from '@patchwork/models';
import type { TargetingConfig } from '../config/common';
import type { ModuleCatalog } from './module-catalog';

/**
 * The base parameters an adapter trains in full and saves beside its low-rank tensors:
 * every parameter of each `modules_to_save` module (PEFT matches a module whose name ends with the
 * entry, taking the outermost one), plus the biases that `bias` makes trainable (`all`: every bias
 * in the model; `<method>_only`: the biases of adapted modules). Canonical keys, model order.
 * An entry of `modules_to_save` that matches no module with parameters is INVALID_ARGUMENT.
 */
export function resolveSavedParams(catalog: ModuleCatalog, config: TargetingConfig, targeted: readonly LinearSpec[], field = 'config'): string[] {
  const keys = new Set<string>();
  if (config.modules_to_save !== null) {
    const problems = new ViolationCollector();
    const owners = [...catalog.parameterOwners()].sort((a, b) => a[0].split('.').length - b[0].split('.').length);
    for (const entry of config.modules_to_save) {
      const chosen: string[] = [];
      for (const [owner, params] of owners) {
        if (chosen.some((c) => owner.startsWith(`${c}.`))) continue;
        if (!catalog.namesOf(owner).some((n) => n.endsWith(entry))) continue;
        chosen.push(owner);
        for (const p of params) keys.add(p);
      }
      if (chosen.length === 0) {
        problems.add(`${field}.modules_to_save`, `${JSON.stringify(entry)} matches no module with parameters of this ${catalog.model.modelType} model`);
      }
    }
    problems.throwIfAny('INVALID_ARGUMENT');
  }
  if (config.bias === 'all') {
    for (const key of catalog.model.weights.keys()) if (key.endsWith('.bias')) keys.add(key);
  } else if (config.bias !== 'none') {
    for (const spec of targeted) if (spec.biasKey !== undefined) keys.add(spec.biasKey);
  }
  const order = [...catalog.model.weights.keys()];
  return order.filter((k) => keys.has(k));
}
