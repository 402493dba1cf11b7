import fc from 'fast-check';
import { lrSchedule } from './schedule';

describe('lrSchedule', () => {
  it('linear with warmup matches transformers get_linear_schedule_with_warmup', () => {
    const s = lrSchedule({ kind: 'linear', warmupSteps: 4 }, 10);
    // lambda(t) = t/4 for t < 4, else (10 - t)/6.
    expect([0, 1, 2, 3, 4, 5, 7, 9, 10].map((t) => s.multiplier(t))).toEqual([0, 0.25, 0.5, 0.75, 1, 5 / 6, 3 / 6, 1 / 6, 0]);
  });

  it('cosine with warmup matches get_cosine_schedule_with_warmup (half cycle)', () => {
    const s = lrSchedule({ kind: 'cosine', warmupSteps: 2 }, 10);
    expect(s.multiplier(0)).toBe(0);
    expect(s.multiplier(1)).toBe(0.5);
    expect(s.multiplier(2)).toBeCloseTo(1, 15);
    expect(s.multiplier(6)).toBeCloseTo(0.5, 15);
    expect(s.multiplier(4)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(s.multiplier(10)).toBeCloseTo(0, 15);
  });

  it('derives warmup from a ratio, rounded up, and lets warmupSteps win', () => {
    expect(lrSchedule({ kind: 'linear', warmupRatio: 0.06 }, 100).warmupSteps).toBe(6);
    expect(lrSchedule({ kind: 'linear', warmupRatio: 0.061 }, 100).warmupSteps).toBe(7);
    expect(lrSchedule({ kind: 'linear', warmupRatio: 0.5, warmupSteps: 3 }, 100).warmupSteps).toBe(3);
    expect(lrSchedule({ kind: 'constant', warmupSteps: 3 }, 100).multiplier(0)).toBe(1);
    expect(lrSchedule({ kind: 'constant_with_warmup', warmupSteps: 4 }, 100).multiplier(2)).toBe(0.5);
    expect(lrSchedule({ kind: 'constant_with_warmup', warmupSteps: 4 }, 100).multiplier(50)).toBe(1);
  });

  it('stays in [0, 1] and never increases after warmup', () => {
    fc.assert(
      fc.property(fc.constantFrom('linear' as const, 'cosine' as const), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 100 }), (kind, total, warmup) => {
        const s = lrSchedule({ kind, warmupSteps: warmup }, total);
        let previous = Infinity;
        for (let t = 0; t <= total; t++) {
          const m = s.multiplier(t);
          expect(m).toBeGreaterThanOrEqual(0);
          expect(m).toBeLessThanOrEqual(1 + 1e-12);
          if (t >= warmup) {
            expect(m).toBeLessThanOrEqual(previous + 1e-12);
            previous = m;
          }
        }
      }),
    );
  });

  it('rejects bad options with every problem named', () => {
    expect(() => lrSchedule({ kind: 'step' as never, warmupSteps: -1 }, 0)).toThrow(/schedule.kind.*schedule.warmupSteps.*totalSteps/);
    expect(() => lrSchedule({ kind: 'linear', warmupRatio: 2 }, 10)).toThrow(/warmupRatio/);
  });
});
