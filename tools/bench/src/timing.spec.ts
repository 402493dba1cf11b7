import { gflops, measure } from './timing';

describe('measure', () => {
  it('warms up once, stops at the repeat cap and reports the median of the timed runs', async () => {
    const durations = [40, 5, 1, 3];
    let call = 0;
    const spin = () => {
      const until = performance.now() + durations[call++];
      while (performance.now() < until);
    };
    const t = await measure(spin, 3, 100);
    expect(t.runs).toBe(3);
    expect(call).toBe(4);
    // The median run is the 3 ms one; the assertion is on ordering, not on absolute speed.
    expect(t.seconds).toBeGreaterThanOrEqual(0.003);
    expect(t.seconds).toBeLessThan(0.005 + 0.05);
  });

  it('takes a slow first call as the only sample', async () => {
    let calls = 0;
    const t = await measure(() => void calls++, 10, 1e-9);
    expect(calls).toBe(1);
    expect(t.runs).toBe(1);
  });

  it('computes GFLOP/s', () => {
    expect(gflops(2e9, 0.5)).toBe(4);
  });
});
