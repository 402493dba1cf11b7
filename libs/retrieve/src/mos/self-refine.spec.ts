import fc from 'fast-check';
import { MOS_MAX_ITERATIONS, refineStep, selfRefine } from './self-refine';

describe('self-refined retrieval loop', () => {
  it('terminates within maxIterations head evaluations whatever the head answers (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: MOS_MAX_ITERATIONS }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 8, maxLength: 8 }), (start, max, answers) => {
        const asked: number[] = [];
        const state = selfRefine(start, (k) => {
          asked.push(k);
          return answers[asked.length - 1];
        }, max);
        expect(state.done).toBe(true);
        expect(state.iterations).toBe(asked.length);
        expect(state.iterations).toBeLessThanOrEqual(max);
        expect(state.refinements).toBeLessThanOrEqual(max - 1);
        expect(state.refinements).toBe(state.iterations - 1);
        // The chosen adapter is the last one whose logits were read.
        expect(state.task).toBe(asked[asked.length - 1]);
        // Stopping early means the head agreed with the adapter it ran under.
        if (state.iterations < max) expect(answers[state.iterations - 1]).toBe(state.task);
      }),
    );
  });

  it('follows the head until it agrees with itself, and never past the budget', () => {
    // Under adapter 0 the head says task 2, under 2 it says 2: one refinement, two evaluations.
    expect(selfRefine(0, (k) => (k === 0 ? 2 : 2))).toEqual({ task: 2, iterations: 2, refinements: 1, done: true });
    // An oscillating head stops at MAX_ITER = 4 with the logits of the fourth adapter.
    const oscillating = selfRefine(0, (k) => 1 - k);
    expect(oscillating).toEqual({ task: 1, iterations: 4, refinements: 3, done: true });
    // maxIterations 1: the prototypes' choice stands.
    expect(selfRefine(3, () => 0, 1)).toEqual({ task: 3, iterations: 1, refinements: 0, done: true });
    expect(refineStep({ task: 1, iterations: 0, refinements: 0, done: false }, 1)).toEqual({ task: 1, iterations: 1, refinements: 0, done: true });
  });

  it('refuses budgets outside 1..4', () => {
    expect(() => selfRefine(0, () => 0, 0)).toThrow(/maxIterations/);
    expect(() => selfRefine(0, () => 0, 5)).toThrow(/maxIterations/);
  });
});
