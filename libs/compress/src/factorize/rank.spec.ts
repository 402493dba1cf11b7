import fc from 'fast-check';
import { factoredWeights, pelaRank } from './rank';
import { gammaForTargetRatio, paramsAtGamma } from './target-ratio';

describe('pelaRank', () => {
  it('gives the ranks of PELA at gamma 2 for ViT-B shapes (research/compress.md 1.2)', () => {
    expect(pelaRank(768, 2304, 2)).toBe(288);
    expect(pelaRank(768, 768, 2)).toBe(192);
    expect(pelaRank(768, 3072, 2)).toBe(307);
    expect(pelaRank(3072, 768, 2)).toBe(307);
  });

  it('is floor(ab / (gamma (a + b))) wherever that lies in [1, min(a, b)], so the pair keeps at most 1/gamma of the weights', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), fc.double({ min: 1, max: 50, noNaN: true }), (a, b, gamma) => {
        const r = pelaRank(a, b, gamma);
        const raw = Math.floor((a * b) / (gamma * (a + b)));
        expect(r).toBe(Math.min(Math.max(raw, 1), Math.min(a, b)));
        if (raw >= 1) {
          expect(factoredWeights(a, b, r)).toBeLessThanOrEqual((a * b) / gamma + 1e-9 * a * b);
          expect(factoredWeights(a, b, r + 1)).toBeGreaterThan((a * b) / gamma - 1e-9 * a * b);
        }
      }),
    );
  });

  it('reaches full rank at gamma <= 1/2 and never drops below 1', () => {
    expect(pelaRank(32, 96, 0.5)).toBe(32);
    expect(pelaRank(17, 5, 0.25)).toBe(5);
    expect(pelaRank(4, 4, 1000)).toBe(1);
  });

  it('rejects bad arguments by name', () => {
    expect(() => pelaRank(0, 4, 2)).toThrow(/a: must be a positive integer/);
    expect(() => pelaRank(4, 2.5, 2)).toThrow(/b: must be a positive integer/);
    expect(() => pelaRank(4, 4, 0)).toThrow(/gamma: must be a finite number > 0/);
    expect(() => pelaRank(4, 4, NaN)).toThrow(/gamma/);
  });
});

describe('gammaForTargetRatio', () => {
  const layers = [
    { a: 32, b: 96 },
    { a: 32, b: 32 },
    { a: 32, b: 128 },
    { a: 128, b: 32 },
  ];
  const dense = layers.reduce((s, l) => s + l.a * l.b, 0);
  const before = dense + 5000;

  it('finds the smallest gamma whose parameter count fits the budget', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.33, max: 1, noNaN: true }), (ratio) => {
        const gamma = gammaForTargetRatio(layers, before, ratio);
        const fixed = before - dense;
        expect(paramsAtGamma(layers, fixed, gamma)).toBeLessThanOrEqual(ratio * before);
        if (gamma > 1) expect(paramsAtGamma(layers, fixed, gamma * (1 - 1e-4))).toBeGreaterThan(ratio * before);
      }),
    );
  });

  it('returns 1 when factoring at gamma 1 already fits, and rounds to 6 significant digits', () => {
    expect(gammaForTargetRatio(layers, before, 1)).toBe(1);
    const g = gammaForTargetRatio(layers, before, 0.6);
    expect(Number(g.toPrecision(6))).toBe(g);
  });

  it('is OUT_OF_RANGE when rank 1 everywhere is still too big, and INVALID_ARGUMENT for a bad ratio', () => {
    expect(() => gammaForTargetRatio(layers, before, 0.1)).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    expect(() => gammaForTargetRatio(layers, before, 0)).toThrow(/targetRatio: must be a number in \(0, 1\]/);
    expect(() => gammaForTargetRatio(layers, before, 1.5)).toThrow(/targetRatio/);
    expect(() => gammaForTargetRatio([], before, 0.5)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION' }));
  });
});
