import { tf } from '@patchwork/tensor';
import { describeBackend, useBackend } from './backends';
import { runNumpy } from './numpy';
import type { BenchOptions } from './options';
import { fixed, formatTable } from './table';
import { gflops, measure } from './timing';

export interface MatmulRow {
  backend: string;
  n: number;
  seconds?: number;
  gflops?: number;
  runs?: number;
  note?: string;
  numpyGflops?: number;
  /** The same product with NumPy pinned to one BLAS thread, next to single-threaded wasm. */
  numpyOneThreadGflops?: number;
}

/**
 * float32 C = A·B for n x n operands on each tfjs backend, next to NumPy (OpenBLAS, its default
 * threads) doing the same product in the same run. A tfjs run includes reading C back, which is
 * what a caller waits for; cpu and wasm kernels are synchronous, so the readback is a copy only.
 */
export async function runMatmulBench(options: BenchOptions, numpy: boolean): Promise<MatmulRow[]> {
  const numpyGflops = new Map<number, number>();
  const numpyOneThread = new Map<number, number>();
  if (numpy) {
    const request = { kind: 'matmul', sizes: options.sizes, repeats: options.repeats, min_seconds: options.minSeconds };
    type Reply = { results: { n: number; seconds: number }[] };
    for (const r of runNumpy<Reply>(options.python, request, options.numpyThreads).results) numpyGflops.set(r.n, gflops(2 * r.n ** 3, r.seconds));
    for (const r of runNumpy<Reply>(options.python, request, 1).results) numpyOneThread.set(r.n, gflops(2 * r.n ** 3, r.seconds));
  }
  const rows: MatmulRow[] = [];
  for (const backend of options.backends) {
    const info = await useBackend(backend, options.wasmThreads);
    const label = describeBackend(info);
    let rate = 0; // GFLOP/s of the previous size, to predict the next one
    for (const n of [...options.sizes].sort((a, b) => a - b)) {
      const flops = 2 * n ** 3;
      const estimate = rate > 0 ? flops / (rate * 1e9) : 0;
      if (estimate > options.budgetSeconds) {
        const note = `skipped: ~${estimate.toFixed(0)} s per run > --budget-seconds ${options.budgetSeconds}`;
        rows.push({ backend: label, n, note, numpyGflops: numpyGflops.get(n), numpyOneThreadGflops: numpyOneThread.get(n) });
        continue;
      }
      const a = tf.randomNormal([n, n], 0, 1, 'float32', 1) as tf.Tensor2D;
      const b = tf.randomNormal([n, n], 0, 1, 'float32', 2) as tf.Tensor2D;
      const once = async () => {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      };
      const t = await measure(once, options.repeats, options.minSeconds);
      tf.dispose([a, b]);
      rate = gflops(flops, t.seconds);
      rows.push({ backend: label, n, seconds: t.seconds, gflops: rate, runs: t.runs, numpyGflops: numpyGflops.get(n), numpyOneThreadGflops: numpyOneThread.get(n) });
    }
  }
  return rows;
}

export function formatMatmul(rows: MatmulRow[]): string {
  return formatTable(
    ['backend', 'n', 'ms', 'runs', 'GFLOP/s', 'NumPy GFLOP/s', 'ratio', 'NumPy 1 thread', 'ratio'],
    rows.map((r) => [
      r.backend,
      String(r.n),
      r.seconds === undefined ? '-' : fixed(r.seconds * 1000, 1),
      r.runs === undefined ? '-' : String(r.runs),
      r.note ?? fixed(r.gflops, 2),
      fixed(r.numpyGflops, 1),
      ratio(r.gflops, r.numpyGflops),
      fixed(r.numpyOneThreadGflops, 1),
      ratio(r.gflops, r.numpyOneThreadGflops),
    ]),
  );
}

function ratio(value: number | undefined, baseline: number | undefined): string {
  return value !== undefined && baseline !== undefined ? `${fixed(value / baseline, 3)}x` : '-';
}
