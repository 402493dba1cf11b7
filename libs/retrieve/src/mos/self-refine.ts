import { invalidArgument } from '@patchwork/errors';

/** MOS's `MAX_ITER`: the head is consulted at most this many times per input. */
export const MOS_MAX_ITERATIONS = 4;

/** Where one input's retrieval stands. `task` is the adapter whose head logits were (or will be) read last. */
export interface RefineState {
  readonly task: number;
  /** Head evaluations done so far. */
  readonly iterations: number;
  /** Times the adapter was replaced by the head's choice. */
  readonly refinements: number;
  readonly done: boolean;
}

export function checkMaxIterations(maxIterations: number, field = 'maxIterations'): void {
  if (!Number.isInteger(maxIterations) || maxIterations < 1 || maxIterations > MOS_MAX_ITERATIONS) {
    throw invalidArgument(field, `must be an integer in [1, ${MOS_MAX_ITERATIONS}], got ${maxIterations}`);
  }
}

export function initialRefineState(task: number): RefineState {
  return { task, iterations: 0, refinements: 0, done: false };
}

/**
 * One turn of MOS's self-refined retrieval, after the head has classified the input's features
 * under adapter `state.task` and that class belongs to task `predictedTask`: the retrieval is
 * settled when the adapter agrees with itself or the iteration budget is spent (the logits just
 * read are then the ones used); otherwise it moves to the predicted task's adapter.
 */
export function refineStep(state: RefineState, predictedTask: number, maxIterations: number = MOS_MAX_ITERATIONS): RefineState {
  const iterations = state.iterations + 1;
  if (predictedTask === state.task || iterations >= maxIterations) return { task: state.task, iterations, refinements: state.refinements, done: true };
  return { task: predictedTask, iterations, refinements: state.refinements + 1, done: false };
}

/**
 * The whole loop for one input, with `headTask(k)` standing for "classify the features under
 * adapter k and return the task of the winning class". Terminates after at most `maxIterations`
 * calls, whatever `headTask` answers.
 */
export function selfRefine(initialTask: number, headTask: (task: number) => number, maxIterations: number = MOS_MAX_ITERATIONS): RefineState {
  checkMaxIterations(maxIterations);
  let state = initialRefineState(initialTask);
  while (!state.done) state = refineStep(state, headTask(state.task), maxIterations);
  return state;
}
