import { PatchworkError } from '@patchwork/errors';

/** An objective: its value at x, with the gradient written into `grad`. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Stop when max |gradient| falls below this. Default 1e-6. */
  readonly gradientTolerance?: number;
  /** Default 1000. */
  readonly maxIterations?: number;
  /** Correction pairs kept. Default 10. */
  readonly memory?: number;
}

export interface LbfgsResult {
  readonly x: Float64Array;
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Limited-memory BFGS (two-loop recursion, Armijo backtracking) for smooth convex objectives
 * such as regularised logistic regression. Deterministic: the same objective and start give the
 * same iterates on every machine.
 */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const tol = options.gradientTolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 1000;
  const m = options.memory ?? 10;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = objective(x, g);
  if (!Number.isFinite(f)) throw new PatchworkError('INVALID_ARGUMENT', 'the objective is not finite at the starting point');
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const alpha = new Float64Array(m);
  const xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  for (let it = 0; it < maxIterations; it++) {
    if (maxAbs(g) < tol) return { x, value: f, iterations: it, converged: true };
    // Two-loop recursion: d = −H g.
    const d = Float64Array.from(g, (v) => -v);
    for (let k = ss.length - 1; k >= 0; k--) {
      alpha[k] = rhos[k] * dot(ss[k], d);
      for (let i = 0; i < n; i++) d[i] -= alpha[k] * ys[k][i];
    }
    const gamma = ss.length > 0 ? dot(ss[ss.length - 1], ys[ys.length - 1]) / dot(ys[ys.length - 1], ys[ys.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) d[i] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const beta = rhos[k] * dot(ys[k], d);
      for (let i = 0; i < n; i++) d[i] += (alpha[k] - beta) * ss[k][i];
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      ss.length = 0;
      ys.length = 0;
      rhos.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -dot(g, g);
    }
    let t = 1;
    let fNew = Number.NaN;
    for (let tries = 0; tries < 60; tries++, t *= 0.5) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + t * d[i];
      fNew = objective(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * t * slope) break;
    }
    if (!(Number.isFinite(fNew) && fNew <= f + 1e-4 * t * slope)) return { x, value: f, iterations: it, converged: false };
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (ss.length === m) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
    }
    const previous = f;
    x = Float64Array.from(xNew);
    [g, gNew] = [gNew, g];
    f = fNew;
    // No measurable progress left in double precision: stop, converged only if the gradient says so.
    if (Math.abs(previous - f) <= 1e-15 * Math.max(1, Math.abs(f))) return { x, value: f, iterations: it + 1, converged: maxAbs(g) < tol };
  }
  return { x, value: f, iterations: maxIterations, converged: maxAbs(g) < tol };
}
