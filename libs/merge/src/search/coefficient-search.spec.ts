import { searchCoefficients } from './coefficient-search';

describe('searchCoefficients', () => {
  it('finds the optimum of a smooth objective inside the box', async () => {
    const target = [0.9, 1.25, 1.05, 0.85];
    const score = (x: number[]) => -x.reduce((s, v, i) => s + (v - target[i]) ** 2, 0);
    const result = await searchCoefficients({ dimensions: 4, score, budget: 150, seed: 3 });
    expect(result.evaluations.length).toBeLessThanOrEqual(150);
    result.best.forEach((v, i) => expect(Math.abs(v - target[i])).toBeLessThan(5e-3));
    expect(result.bestScore).toBe(Math.max(...result.evaluations.map((e) => e.score)));
  });

  it('stops at a bound when the optimum lies outside the box', async () => {
    const result = await searchCoefficients({ dimensions: 2, score: (x) => x[0] - Math.abs(x[1] - 1.1), lower: [0.5, 0.5], upper: [2, 2], budget: 80 });
    expect(result.best[0]).toBe(2);
    expect(Math.abs(result.best[1] - 1.1)).toBeLessThan(1e-2);
  });

  it('escapes a local optimum near the start through exploration', async () => {
    // A narrow bump at 1.0 (the start) and a higher, wider one at 1.25.
    const bump = (x: number, c: number, w: number) => Math.exp(-(((x - c) / w) ** 2));
    const score = (x: number[]) => 0.5 * bump(x[0], 1.0, 0.02) + bump(x[0], 1.25, 0.05);
    const result = await searchCoefficients({ dimensions: 1, score, budget: 60, seed: 1 });
    expect(Math.abs(result.best[0] - 1.25)).toBeLessThan(1e-2);
  });

  it('evaluates the initial point first, respects the budget and is deterministic per seed', async () => {
    const calls: number[][] = [];
    const score = async (x: number[]) => {
      calls.push(x);
      return Math.sin(5 * x[0]) + Math.cos(3 * x[1]);
    };
    const a = await searchCoefficients({ dimensions: 2, score, budget: 25, seed: 9, initial: [1.1, 0.9] });
    expect(calls[0]).toEqual([1.1, 0.9]);
    expect(calls).toHaveLength(25);
    expect(new Set(calls.map((c) => c.join(','))).size).toBe(25); // no point scored twice
    for (const c of calls) for (const v of c) expect(v >= 0.8 && v <= 1.3).toBe(true);
    const b = await searchCoefficients({ dimensions: 2, score, budget: 25, seed: 9, initial: [1.1, 0.9] });
    expect(b.evaluations).toEqual(a.evaluations);
  });

  it('refuses bad options, NaN scores, and stops when cancelled', async () => {
    await expect(searchCoefficients({ dimensions: 0, score: () => 0 })).rejects.toThrow(/dimensions/);
    await expect(searchCoefficients({ dimensions: 2, score: () => 0, lower: [1, 1], upper: [1, 2] })).rejects.toThrow(/lower\[0\]/);
    await expect(searchCoefficients({ dimensions: 1, score: () => Number.NaN })).rejects.toThrow(/NaN/);
    const controller = new AbortController();
    let calls = 0;
    const search = searchCoefficients({
      dimensions: 1,
      signal: controller.signal,
      score: () => {
        if (++calls === 3) controller.abort();
        return calls;
      },
    });
    await expect(search).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(calls).toBe(3);
  });
});
