import { invalidArgument } from '@patchwork/errors';

/**
 * Whole-model methods rank over all tensors at once, so a parameter that sets the ranking takes one
 * value for the whole model; `seen` remembers the first value per key across a walk.
 */
export function assertModelWide(seen: Map<string, number>, key: string, field: string, value: number, what: string): void {
  const first = seen.get(key);
  if (first === undefined) seen.set(key, value);
  else if (first !== value) {
    throw invalidArgument(field, `${what} takes one value for the whole model, but it varies between tensors (${first} vs ${value}); drop the gradient or filter`);
  }
}
