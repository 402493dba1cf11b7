import { PatchworkError } from '@patchwork/errors';
import { breadcrumbs } from './breadcrumbs';
import { breadcrumbsTies } from './breadcrumbs-ties';
import { dareLinear } from './dare-linear';
import { dareTies } from './dare-ties';
import { della } from './della';
import { dellaLinear } from './della-linear';
import { linear } from './linear';
import { magnitudePrune } from './magnitude-prune';
import { MergeMethod } from './merge-method';
import { modelStock } from './model-stock';
import { pcb } from './pcb';
import { slerp } from './slerp';
import { taskArithmetic } from './task-arithmetic';
import { ties } from './ties';

const METHODS = new Map<string, MergeMethod>(
  [linear, taskArithmetic, ties, magnitudePrune, dareLinear, dareTies, breadcrumbs, breadcrumbsTies, della, dellaLinear, slerp, modelStock, pcb].map((m) => [m.name, m]),
);

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
