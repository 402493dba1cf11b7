import { parseArgs } from 'node:util';
import { invalidArgument } from '@patchwork/errors';

export type Suite = 'matmul' | 'svd';
export type BenchBackend = 'cpu' | 'wasm';

export interface BenchOptions {
  suites: Suite[];
  backends: BenchBackend[];
  /** Square matmul sizes n (C = A·B, all n x n). */
  sizes: number[];
  /** Upper bound on timed repetitions of one case (the median is reported). */
  repeats: number;
  /** Stop repeating a case once this much time was spent on it (seconds). */
  minSeconds: number;
  /** Skip a case whose single run is estimated to exceed this (seconds), saying so. */
  budgetSeconds: number;
  wasmThreads: number;
  svdShape: [number, number];
  svdK: number;
  svdOversamples: number;
  svdPowerIterations: number;
  exactShape: [number, number];
  python: string;
  numpy: boolean;
  /** BLAS threads of the NumPy baseline; undefined keeps NumPy's default (all cores). */
  numpyThreads?: number;
}

export const USAGE = `Usage: npm run bench -- [flags]   (or: npx tsx tools/bench/src/main.ts [flags])
  --suite matmul,svd          suites to run (default both)
  --backends cpu,wasm         tfjs backends (default cpu,wasm)
  --sizes 256,1024,2048       matmul sizes n (n x n times n x n, float32)
  --repeats 5                 at most this many timed runs per case (median reported)
  --min-seconds 1             stop repeating a case after this many seconds
  --budget-seconds 12         skip a case whose single run is estimated to take longer
  --wasm-threads 1            wasm threads (>1 uses the threaded build where it works)
  --svd-shape 1024x4096       matrix of the randomized SVD benchmark (float32)
  --svd-k 64 --svd-oversamples 10 --svd-power-iterations 2
  --exact-shape 256x1024      matrix of the exact (Jacobi) SVD benchmark (float64)
  --python python3            interpreter for the NumPy baseline
  --numpy-threads N           pin the baseline's BLAS threads (default: NumPy's own default)
  --no-numpy                  skip the NumPy baseline
  --help`;

/** Parses CLI flags into options; bad values are INVALID_ARGUMENT naming the flag. */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  let values: FlagValues;
  try {
    values = parseFlags(argv).values;
  } catch (e) {
    // node:util reports unknown flags and missing values as plain errors; keep one error type.
    throw invalidArgument('argv', (e as Error).message);
  }
  return values.help ? 'help' : validated(values);
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      suite: { type: 'string', default: 'matmul,svd' },
      backends: { type: 'string', default: 'cpu,wasm' },
      sizes: { type: 'string', default: '256,1024,2048' },
      repeats: { type: 'string', default: '5' },
      'min-seconds': { type: 'string', default: '1' },
      'budget-seconds': { type: 'string', default: '12' },
      'wasm-threads': { type: 'string', default: '1' },
      'svd-shape': { type: 'string', default: '1024x4096' },
      'svd-k': { type: 'string', default: '64' },
      'svd-oversamples': { type: 'string', default: '10' },
      'svd-power-iterations': { type: 'string', default: '2' },
      'exact-shape': { type: 'string', default: '256x1024' },
      python: { type: 'string', default: 'python3' },
      'numpy-threads': { type: 'string' },
      'no-numpy': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

type FlagValues = ReturnType<typeof parseFlags>['values'];

function validated(values: FlagValues): BenchOptions {
  const svdShape = shape(values['svd-shape'], '--svd-shape');
  const svdK = int(values['svd-k'], '--svd-k', 1);
  if (svdK > Math.min(...svdShape)) throw invalidArgument('--svd-k', `must not exceed min(${svdShape.join(', ')})`);
  return {
    suites: list(values.suite, '--suite', ['matmul', 'svd'] as const),
    backends: list(values.backends, '--backends', ['cpu', 'wasm'] as const),
    sizes: values.sizes.split(',').map((s) => int(s, '--sizes', 1)),
    repeats: int(values.repeats, '--repeats', 1),
    minSeconds: num(values['min-seconds'], '--min-seconds'),
    budgetSeconds: num(values['budget-seconds'], '--budget-seconds'),
    wasmThreads: int(values['wasm-threads'], '--wasm-threads', 1),
    svdShape,
    svdK,
    svdOversamples: int(values['svd-oversamples'], '--svd-oversamples', 0),
    svdPowerIterations: int(values['svd-power-iterations'], '--svd-power-iterations', 0),
    exactShape: shape(values['exact-shape'], '--exact-shape'),
    python: values.python,
    numpy: !values['no-numpy'],
    numpyThreads: values['numpy-threads'] === undefined ? undefined : int(values['numpy-threads'], '--numpy-threads', 1),
  };
}

function int(text: string, flag: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw invalidArgument(flag, `must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

function num(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw invalidArgument(flag, `must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function shape(text: string, flag: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(text);
  if (!match) throw invalidArgument(flag, `must look like 1024x4096, got ${JSON.stringify(text)}`);
  return [int(match[1], flag, 1), int(match[2], flag, 1)];
}

function list<T extends string>(text: string, flag: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) throw invalidArgument(flag, `unknown value ${JSON.stringify(item)}; allowed: ${allowed.join(', ')}`);
  }
  return [...new Set(items)] as T[];
}
