import { listMethod } from '../list/list-method';
import { muscleMethod } from '../muscle/muscle-method';
import type { MethodFactory } from './method';
import { fullMethod } from './methods/full-method';
import { lstMethod } from './methods/lst-method';
import { peftMethod } from './methods/peft-method';
import type { Method } from './run-config';

/** One entry per training method of the train service. */
export const METHOD_FACTORIES: Readonly<Record<Method, MethodFactory>> = {
  full: fullMethod,
  lora: (ctx) => peftMethod(ctx, 'lora'),
  adalora: (ctx) => peftMethod(ctx, 'adalora'),
  hut: (ctx) => peftMethod(ctx, 'hut'),
  lst: lstMethod,
  list: listMethod,
  muscle: muscleMethod,
};
