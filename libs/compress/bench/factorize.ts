/**
 * Factorization benchmark: PELA's truncated SVD of one weight-sized matrix (default 1024 x 4096 at
 * gamma 2, rank 409) with our exact SVD (Householder QR + one-sided Jacobi, Float64) and our
 * randomized SVD, against NumPy's LAPACK `gesdd` on the same matrix in the same run, printed as
 * time ratios; with `--model DIR`, also the whole model's factorization against NumPy SVDs of the
 * same weights. Each path's reconstruction error is printed next to the Eckart–Young optimum.
 *
 *   npx tsx libs/compress/bench/factorize.ts [--rows 1024] [--cols 4096] [--gamma 2]
 *       [--backend wasm|cpu|auto] [--model DIR] [--skip-exact]
 */
import { factorizeMatrix, factorizeModel } from '../src';
import { loadModel } from '@patchwork/models';
import { SeededRandom, initBackend, tf } from '@patchwork/tensor';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';

function flag(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const PYTHON = String.raw`
import json, sys, time, os
import numpy as np
spec = json.loads(sys.argv[1])
def timed(f, repeats):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter(); out = f(); best = min(best, time.perf_counter() - t)
    return best, out
def pela(a, r, dtype):
    # What PELA's code does per layer: full SVD, truncate, split sqrt(S) both ways.
    u, s, vt = np.linalg.svd(a.astype(dtype), full_matrices=False)
    root = np.sqrt(s[:r])
    return u[:, :r] * root, root[:, None] * vt[:r], s
result = {"numpy": np.__version__, "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default")}
if spec["kind"] == "matrix":
    a = np.fromfile(spec["path"], dtype=np.float32).reshape(spec["rows"], spec["cols"])
    r = spec["rank"]
    for name, dtype in (("f64", np.float64), ("f32", np.float32)):
        sec, (u, v, s) = timed(lambda: pela(a, r, dtype), spec["repeats"])
        result[name] = {"seconds": sec, "optimal": float(np.sqrt((s[r:].astype(np.float64) ** 2).sum() / (s.astype(np.float64) ** 2).sum()))}
else:
    total = 0.0
    for path, rows, cols, r in spec["layers"]:
        a = np.fromfile(path, dtype=np.float32).reshape(rows, cols)
        sec, _ = timed(lambda: pela(a, r, np.float64), 1)
        total += sec
    result["f64"] = {"seconds": total}
print(json.dumps(result))
`;

function numpy(spec: object, threads: string): { numpy: string; f64: { seconds: number; optimal?: number }; f32?: { seconds: number; optimal: number } } {
  const out = execFileSync('python3', ['-c', PYTHON, JSON.stringify(spec)], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads } });
  return JSON.parse(out.trim().split('\n').at(-1) as string);
}

const fmt = (s: number): string => `${s.toFixed(2)} s`;
const ratio = (ours: number, theirs: number): string => `${(ours / theirs).toFixed(1)}x`;

async function benchMatrix(dir: string, backend: string): Promise<void> {
  const rows = Number(flag('rows', '1024'));
  const cols = Number(flag('cols', '4096'));
  const gamma = Number(flag('gamma', '2'));
  const rank = Math.floor((rows * cols) / (gamma * (rows + cols)));
  // A decaying spectrum like trained weights (Gaussian A·D with D = diag(i^-1/2)), seeded.
  const rng = new SeededRandom(1);
  const data = rng.fillGaussian(new Float32Array(rows * cols));
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] /= Math.sqrt(1 + j / 16);
  const path = nodePath.join(dir, 'matrix.f32');
  writeFileSync(path, Buffer.from(data.buffer));
  const spec = { kind: 'matrix', path, rows, cols, rank, repeats: 3 };
  const np1 = numpy(spec, '1');
  const npAll = numpy(spec, String(Math.max(1, (await import('node:os')).cpus().length)));
  const optimal = np1.f64.optimal as number;
  console.log(`\n${rows} x ${cols}, gamma ${gamma} -> rank ${rank}; backend ${backend}; NumPy ${np1.numpy}`);
  console.log(`NumPy gesdd f64 (PELA's path):  1 thread ${fmt(np1.f64.seconds)}, all threads ${fmt(npAll.f64.seconds)}; f32: ${fmt(np1.f32?.seconds ?? NaN)} / ${fmt(npAll.f32?.seconds ?? NaN)}`);
  console.log(`Eckart–Young optimum (relative Frobenius error): ${optimal.toFixed(6)}`);
  const matrix = tf.tensor2d(data, [rows, cols]);
  const runs: [string, Parameters<typeof factorizeMatrix>[1]][] = [
    ['ours exact (QR + Jacobi, f64)', { rank, svd: 'exact' }],
    ['ours randomized q=4 (default)', { rank, svd: 'randomized' }],
    ['ours randomized q=2', { rank, svd: 'randomized', randomized: { powerIterations: 2 } }],
  ];
  for (const [name, options] of runs) {
    if (options.svd === 'exact' && process.argv.includes('--skip-exact')) continue;
    const started = performance.now();
    const f = await factorizeMatrix(matrix, options);
    const seconds = (performance.now() - started) / 1000;
    const excess = (f.error.relative / optimal - 1) * 100;
    console.log(
      `${name.padEnd(32)} ${fmt(seconds).padStart(9)}  vs NumPy f64 1 thread ${ratio(seconds, np1.f64.seconds).padStart(7)}, all threads ${ratio(seconds, npAll.f64.seconds).padStart(7)}` +
        `  rel.error ${f.error.relative.toFixed(6)} (${excess >= 0 ? '+' : ''}${excess.toFixed(3)}% vs optimum)`,
    );
    tf.dispose([f.u, f.v]);
  }
  matrix.dispose();
}

async function benchModel(dir: string, modelDir: string): Promise<void> {
  const gamma = Number(flag('gamma', '2'));
  const model = await loadModel(modelDir);
  try {
    // The same weights for NumPy, dumped as raw float32 matrices.
    const probe = await factorizeModel(model, { gamma, svd: 'randomized', randomized: { powerIterations: 0 } });
    const layers = probe.plan.layers.map((l, i) => {
      const w = model.weights.get(l.spec.weightKey) as tf.Tensor;
      const rows = w.shape[0];
      const cols = w.size / rows;
      const path = nodePath.join(dir, `w${i}.f32`);
      writeFileSync(path, Buffer.from((w.dataSync() as Float32Array).buffer));
      return [path, rows, cols, l.rank];
    });
    probe.lowRank.dispose();
    const np1 = numpy({ kind: 'model', layers }, '1');
    console.log(`\nmodel ${modelDir} (${model.modelType}, ${layers.length} layers factored at gamma ${gamma}): NumPy gesdd f64 1 thread ${fmt(np1.f64.seconds)}`);
    for (const svd of ['exact', 'randomized'] as const) {
      if (svd === 'exact' && process.argv.includes('--skip-exact')) continue;
      const started = performance.now();
      const { lowRank, layers: report } = await factorizeModel(model, { gamma, svd });
      const seconds = (performance.now() - started) / 1000;
      const worst = Math.max(...report.map((l) => (l.optimalRelError === null ? NaN : l.relError / l.optimalRelError - 1)));
      console.log(`ours ${svd.padEnd(10)} ${fmt(seconds).padStart(9)}  vs NumPy ${ratio(seconds, np1.f64.seconds)}${Number.isNaN(worst) ? '' : `  worst excess over optimum ${(worst * 100).toFixed(4)}%`}`);
      lowRank.dispose();
    }
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const backend = flag('backend', 'wasm') as 'wasm' | 'cpu' | 'auto';
  const info = await initBackend({ backend });
  const dir = mkdtempSync(nodePath.join(tmpdir(), 'compress-bench-'));
  try {
    const modelDir = flag('model');
    if (modelDir !== undefined) await benchModel(dir, modelDir);
    else await benchMatrix(dir, `${info.name} (${info.device})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
