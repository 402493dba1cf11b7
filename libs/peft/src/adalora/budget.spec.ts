import fc from 'fast-check';
import { type BudgetSchedule, budgetAt, keepMasks } from './budget';

describe('budgetAt', () => {
  // The worked example of research/train.md §2: N=4, init_r 12 -> 48, target_r 8 -> 32, tinit 10, tfinal 20, T 100.
  const s: BudgetSchedule = { initBudget: 48, targetBudget: 32, tinit: 10, tfinal: 20, totalStep: 100, deltaT: 5 };

  it('follows the cubic schedule by hand', () => {
    expect(budgetAt(0, s)).toEqual({ budget: 48, mask: false });
    expect(budgetAt(10, s)).toEqual({ budget: 48, mask: false });
    // (48-32)(1-1/70)^3 + 32 = 47.32 -> 47; step 11 is not a multiple of deltaT.
    expect(budgetAt(11, s)).toEqual({ budget: 47, mask: false });
    // (6/7)^3 * 16 + 32 = 42.08 -> 42
    expect(budgetAt(20, s)).toEqual({ budget: 42, mask: true });
    // (5/7)^3 * 16 + 32 = 37.83 -> 37
    expect(budgetAt(30, s)).toEqual({ budget: 37, mask: true });
    // (1/2)^3 * 16 + 32 = 34
    expect(budgetAt(45, s)).toEqual({ budget: 34, mask: true });
    expect(budgetAt(60, s).budget).toBe(32);
    expect(budgetAt(80, s)).toEqual({ budget: 32, mask: true });
    expect(budgetAt(81, s)).toEqual({ budget: 32, mask: true });
    expect(budgetAt(100, s)).toEqual({ budget: 32, mask: true });
  });

  it('never increases and stays within [target, init]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 60 }), (a, b, tinit, tfinal, span) => {
        const sched: BudgetSchedule = { initBudget: Math.max(a, b), targetBudget: Math.min(a, b), tinit, tfinal, totalStep: tinit + tfinal + span, deltaT: 1 };
        let last = Infinity;
        for (let t = 0; t <= sched.totalStep + 2; t++) {
          const { budget } = budgetAt(t, sched);
          expect(budget).toBeLessThanOrEqual(last);
          expect(budget).toBeGreaterThanOrEqual(sched.targetBudget);
          expect(budget).toBeLessThanOrEqual(sched.initBudget);
          last = budget;
        }
        expect(budgetAt(sched.totalStep - sched.tfinal, sched).budget).toBe(sched.targetBudget);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a bad step', () => {
    expect(() => budgetAt(-1, s)).toThrow('non-negative integer');
  });
});

describe('keepMasks', () => {
  it('prunes the k lowest-scoring triplets across all matrices', () => {
    const scores = new Map([
      ['a', Float32Array.from([0.5, 0.1, 0.9])],
      ['b', Float32Array.from([0.3, 0.7])],
    ]);
    // 5 triplets, budget 3 -> k = 2 -> tau = 0.3
    expect(keepMasks(scores, 3)).toEqual(
      new Map([
        ['a', [true, false, true]],
        ['b', [false, true]],
      ]),
    );
    expect(keepMasks(scores, 5)).toBeNull();
    expect(keepMasks(scores, 7)).toBeNull();
  });

  it('prunes every tie at the threshold, as torch.kthvalue + <= does', () => {
    const scores = new Map([['a', Float32Array.from([0.2, 0.2, 0.2, 0.8])]]);
    expect(keepMasks(scores, 3)).toEqual(new Map([['a', [false, false, false, true]]]));
  });

  it('keeps exactly budget triplets when scores are distinct', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 10000 }), { minLength: 2, maxLength: 40 }), fc.nat(), (values, b) => {
        const budget = b % values.length;
        const masks = keepMasks(new Map([['m', Float32Array.from(values)]]), budget);
        const kept = (masks?.get('m') ?? values.map(() => true)).filter(Boolean).length;
        expect(kept).toBe(budget === 0 ? 0 : budget);
      }),
      { numRuns: 80 },
    );
  });
});
