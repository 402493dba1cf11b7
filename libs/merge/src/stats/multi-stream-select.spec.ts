import fc from 'fast-check';
import { MultiStreamSelector } from './multi-stream-select';

const data = fc.array(fc.float32Array({ minLength: 1, maxLength: 60, noNaN: true }), { minLength: 1, maxLength: 4 });

function sortedKeys(values: number[], abs: boolean): number[] {
  const list = values.map((v) => (abs ? Math.abs(v) : v));
  // Float32Array sort orders -0 before +0, as the selector does by value.
  return Array.from(Float32Array.from(list).sort());
}

describe('MultiStreamSelector', () => {
  it('returns exactly what a full sort gives, for several streams fed chunk by chunk (property)', () => {
    fc.assert(
      fc.property(data, data, fc.boolean(), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }), (s0, s1, abs, qs) => {
        const streams = [s0, s1];
        const selector = new MultiStreamSelector(2, abs);
        streams.forEach((chunks, s) => chunks.forEach((c) => selector.addFirst(s, c)));
        const all = streams.map((chunks) => chunks.flatMap((c) => Array.from(c)));
        const ranks = all.map((values) => qs.map((q) => Math.min(values.length - 1, Math.floor(q * values.length))));
        selector.select(ranks);
        streams.forEach((chunks, s) => chunks.forEach((c) => selector.addSecond(s, c)));
        const values = selector.values();
        all.forEach((v, s) => {
          const sorted = sortedKeys(v, abs);
          ranks[s].forEach((r, k) => expect(Object.is(values[s][k], sorted[r]) || (abs && values[s][k] === sorted[r])).toBe(true));
        });
      }),
    );
  });

  it('refuses NaN, out-of-range ranks and data that changed between walks', () => {
    const selector = new MultiStreamSelector(1, true, () => 'model 0');
    expect(() => selector.addFirst(0, Float32Array.of(1, Number.NaN))).toThrow(/model 0: holds NaN at element 1/);
    const ok = new MultiStreamSelector(1, false);
    ok.addFirst(0, Float32Array.of(1, 2, 3));
    expect(() => ok.select([[3]])).toThrow(/rank 3 outside/);
    ok.select([[1]]);
    ok.addSecond(0, Float32Array.of(1, 2.5, 3));
    expect(() => ok.values()).toThrow(/changed between the two walks/);
  });
});
