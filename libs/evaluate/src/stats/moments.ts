/** Arithmetic mean with Python's left-to-right summation (so results match lm-eval's bit for bit). */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator); NaN for fewer than two values. */
export function sampleStddev(xs: ArrayLike<number>): number {
  if (xs.length < 2) return Number.NaN;
  const mu = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - mu) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Standard error of a mean, sample std / sqrt(n): lm-eval's `mean_stderr`. NaN for n < 2. */
export function meanStderr(xs: ArrayLike<number>): number {
  return sampleStddev(xs) / Math.sqrt(xs.length);
}
