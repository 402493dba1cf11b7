import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomizedSvd, SeededRandom, svd, tf } from '@patchwork/tensor';
import { describeBackend, useBackend } from './backends';
import { runNumpy } from './numpy';
import type { BenchOptions } from './options';
import { fixed, formatTable, sci } from './table';
import { gflops, measure } from './timing';

interface NumpySvd {
  full_seconds: number;
  s: number[];
  randomized_seconds: number;
  randomized_error: number;
  randomized_s: number[];
  exact_seconds: number;
  exact_s: number[];
}

export interface SvdRow {
  method: string;
  seconds?: number;
  runs?: number;
  /** ‖A − U S Vᵀ‖_F over the Eckart–Young optimum (from NumPy's singular values). */
  errorRatio?: number;
  /** max_i |s_i − s_i(NumPy)| / s_1(NumPy) over the returned values. */
  sError?: number;
  note?: string;
}

export interface SvdReport {
  randomized: SvdRow[];
  exact: SvdRow[];
  /** Baseline times, to print ratios against. */
  numpyFullSeconds?: number;
  numpyRandomizedSeconds?: number;
  numpyExactSeconds?: number;
}

/**
 * A float32 matrix with a decaying spectrum (rank-128 signal with σ_i ∝ 0.97^i plus a small noise
 * floor): realistic for weight deltas, and it gives the randomized method something to find.
 */
export function spectralTestMatrix(m: number, n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = rng.fillGaussian(new Float32Array(m * n)).map((x) => 1e-3 * x);
  const rank = Math.min(128, m, n);
  const x = new Float32Array(m);
  const y = new Float32Array(n);
  for (let r = 0; r < rank; r++) {
    rng.fillGaussian(x);
    rng.fillGaussian(y);
    const scale = 0.97 ** r / Math.sqrt(n);
    for (let i = 0; i < m; i++) {
      const xi = x[i] * scale;
      const row = i * n;
      for (let j = 0; j < n; j++) out[row + j] += xi * y[j];
    }
  }
  return out;
}

/**
 * Randomized truncated SVD of an m x n float32 matrix on each backend, next to the same algorithm
 * in NumPy and to numpy.linalg.svd (LAPACK gesdd, full thin SVD); then the exact Jacobi SVD of a
 * smaller float64 matrix next to numpy.linalg.svd.
 */
export async function runSvdBench(options: BenchOptions, numpy: boolean): Promise<SvdReport> {
  const [m, n] = options.svdShape;
  const [em, en] = options.exactShape;
  const k = options.svdK;
  const a = spectralTestMatrix(m, n, 1);
  const exactMatrix = new SeededRandom(2).fillGaussian(new Float64Array(em * en));

  let np: NumpySvd | undefined;
  if (numpy) {
    const dir = mkdtempSync(join(tmpdir(), 'patchwork-bench-'));
    try {
      writeFileSync(join(dir, 'a.f32'), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      writeFileSync(join(dir, 'e.f64'), Buffer.from(exactMatrix.buffer));
      np = runNumpy<NumpySvd>(options.python, {
        kind: 'svd',
        path: join(dir, 'a.f32'),
        shape: [m, n],
        k,
        oversamples: options.svdOversamples,
        power_iterations: options.svdPowerIterations,
        exact_path: join(dir, 'e.f64'),
        exact_shape: [em, en],
        repeats: options.repeats,
        min_seconds: options.minSeconds,
      }, options.numpyThreads);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let optimal: number | undefined;
  if (np) {
    let tail = 0;
    for (let i = k; i < np.s.length; i++) tail += np.s[i] ** 2;
    optimal = Math.sqrt(tail);
  }
  const sError = (s: ArrayLike<number>, reference: number[] | undefined): number | undefined => {
    if (!reference) return undefined;
    let worst = 0;
    for (let i = 0; i < s.length; i++) worst = Math.max(worst, Math.abs(s[i] - reference[i]));
    return worst / reference[0];
  };

  const randomized: SvdRow[] = [];
  const l = Math.min(k + options.svdOversamples, m, n);
  const passes = 2 + 2 * options.svdPowerIterations + 1; // sketch, power iterations, B, error check
  for (const backend of options.backends) {
    const info = await useBackend(backend, options.wasmThreads);
    const method = `patchwork randomizedSvd [${describeBackend(info)}]`;
    const estimate = (passes * 2 * m * n * l) / (1e9 * (await matmulRate()));
    if (estimate > options.budgetSeconds) {
      randomized.push({ method, note: `skipped: ~${estimate.toFixed(0)} s per run > --budget-seconds ${options.budgetSeconds}` });
      continue;
    }
    const t = tf.tensor2d(a, [m, n]);
    try {
      let result: Awaited<ReturnType<typeof randomizedSvd>> | undefined;
      const run = async () => {
        result = await randomizedSvd(t, { k, oversamples: options.svdOversamples, powerIterations: options.svdPowerIterations, seed: 0 });
      };
      const timing = await measure(run, options.repeats, options.minSeconds);
      if (!result) throw new Error('randomizedSvd produced no result');
      const error = result.error?.frobenius;
      randomized.push({
        method,
        seconds: timing.seconds,
        runs: timing.runs,
        errorRatio: error !== undefined && optimal ? error / optimal : undefined,
        sError: sError(result.s, np?.s),
      });
    } finally {
      t.dispose();
    }
  }
  if (np) {
    randomized.push({
      method: 'NumPy, same algorithm (float32, Householder QR)',
      seconds: np.randomized_seconds,
      errorRatio: optimal ? np.randomized_error / optimal : undefined,
      sError: sError(np.randomized_s, np.s),
    });
    randomized.push({ method: 'numpy.linalg.svd (gesdd, full thin SVD)', seconds: np.full_seconds, errorRatio: 1, sError: 0 });
  }

  const exact: SvdRow[] = [];
  let exactResult: ReturnType<typeof svd> | undefined;
  const timing = await measure(() => (exactResult = svd(exactMatrix, em, en)), options.repeats, options.minSeconds);
  if (!exactResult) throw new Error('svd produced no result');
  exact.push({
    method: `patchwork svd (QR + one-sided Jacobi, Float64, ${exactResult.sweeps} sweeps)`,
    seconds: timing.seconds,
    runs: timing.runs,
    sError: sError(exactResult.s, np?.exact_s),
  });
  if (np) exact.push({ method: 'numpy.linalg.svd (gesdd, float64)', seconds: np.exact_seconds, sError: 0 });

  return {
    randomized,
    exact,
    numpyFullSeconds: np?.full_seconds,
    numpyRandomizedSeconds: np?.randomized_seconds,
    numpyExactSeconds: np?.exact_seconds,
  };
}

/** GFLOP/s of a 256³ product on the current backend: enough to predict a run's length. */
async function matmulRate(): Promise<number> {
  const x = tf.randomNormal([256, 256]) as tf.Tensor2D;
  const once = async () => {
    const c = tf.matMul(x, x);
    await c.data();
    c.dispose();
  };
  await once();
  const t = await measure(once, 3, 0.2);
  x.dispose();
  return gflops(2 * 256 ** 3, t.seconds);
}

export function formatSvd(report: SvdReport, options: BenchOptions): string {
  const [m, n] = options.svdShape;
  const [em, en] = options.exactShape;
  const speed = (seconds: number | undefined, baseline: number | undefined) =>
    seconds !== undefined && baseline !== undefined ? `${fixed(baseline / seconds, 2)}x` : '-';
  const randomized = formatTable(
    ['method', 's', 'runs', 'speed vs gesdd', 'speed vs NumPy rSVD', 'error / optimal', 'max |Δs|/s1'],
    report.randomized.map((r) => [
      r.method,
      r.note ?? fixed(r.seconds, 3),
      r.runs === undefined ? '-' : String(r.runs),
      speed(r.seconds, report.numpyFullSeconds),
      speed(r.seconds, report.numpyRandomizedSeconds),
      fixed(r.errorRatio, 4),
      sci(r.sError),
    ]),
  );
  const exact = formatTable(
    ['method', 's', 'runs', 'speed vs gesdd', 'max |Δs|/s1'],
    report.exact.map((r) => [r.method, fixed(r.seconds, 3), r.runs === undefined ? '-' : String(r.runs), speed(r.seconds, report.numpyExactSeconds), sci(r.sError)]),
  );
  return [
    `Randomized truncated SVD: ${m} x ${n} float32, k = ${options.svdK}, p = ${options.svdOversamples}, q = ${options.svdPowerIterations} (median seconds; speed > 1x = faster than the baseline)`,
    randomized,
    '',
    `Exact SVD: ${em} x ${en} float64, all ${Math.min(em, en)} triplets`,
    exact,
  ].join('\n');
}
