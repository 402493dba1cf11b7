export interface Timing {
  /** Median of the timed runs, seconds. */
  seconds: number;
  runs: number;
}

/**
 * Times `fn`: the first call is a warm-up, unless it alone took `minSeconds` or more, in which
 * case it is the only sample (slow cases are not worth repeating, and need no warm-up). Otherwise
 * at most `repeats` timed calls follow, stopping early once `minSeconds` were spent; the median is
 * reported, which resists the noise of a machine shared with other work.
 */
export async function measure(fn: () => unknown | Promise<unknown>, repeats: number, minSeconds: number): Promise<Timing> {
  const t0 = performance.now();
  await fn();
  const first = (performance.now() - t0) / 1000;
  if (first >= minSeconds) return { seconds: first, runs: 1 };
  const times: number[] = [];
  const start = performance.now();
  while (times.length < repeats && (times.length === 0 || (performance.now() - start) / 1000 < minSeconds)) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return { seconds: times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2, runs: times.length };
}

export function gflops(flops: number, seconds: number): number {
  return flops / seconds / 1e9;
}
