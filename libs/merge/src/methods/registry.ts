import { PatchworkError } from '@patchwork/errors';
import { linear } from './linear';
import { MergeMethod } from './merge-method';
import { taskArithmetic } from './task-arithmetic';

const METHODS = new Map<string, MergeMethod>([linear, taskArithmetic].map((m) => [m.name, m]));

export function mergeMethodNames(): string[] {
  return [...METHODS.keys()].sort();
}

export function getMergeMethod(name: string): MergeMethod {
  const method = METHODS.get(name);
  if (!method) {
    throw new PatchworkError('INVALID_ARGUMENT', `merge_method: unknown method ${JSON.stringify(name)} (available: ${mergeMethodNames().join(', ')})`, {
      violations: [{ field: 'merge_method', description: `unknown method ${name}` }],
    });
  }
  return method;
}
