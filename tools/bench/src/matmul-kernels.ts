/**
 * The fast BatchMatMul kernels of @patchwork/tensor against the backends' own kernels and NumPy,
 * in one run:
 *   npx tsx tools/bench/src/matmul-kernels.ts [--sizes 256,1024,2048] [--crossover-sizes ...]
 * Products are n x n x n float32; a tfjs run is the synchronous kernel call (cpu and wasm kernels
 * finish inside tf.matMul), without reading C back, so that the rows compare kernels only.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { invalidArgument, PatchworkError } from '@patchwork/errors';
import { initBackend, installFastMatMul, ONNX_MIN_MACS, shutdownBackends, tf, type FastMatMulOptions } from '@patchwork/tensor';
import { probeNumpy, runNumpy } from './numpy';
import { fixed, formatTable } from './table';
import { gflops, measure } from './timing';

interface Options {
  sizes: number[];
  crossoverSizes: number[];
  cpuCrossoverSizes: number[];
  repeats: number;
  minSeconds: number;
  budgetSeconds: number;
  python: string;
  numpy: boolean;
}

/** How a row computes: a backend, its kernels (own = the backend's, or fast kernels with options) and the transpose flags. */
interface Variant {
  label: string;
  backend: 'wasm' | 'cpu';
  fast?: FastMatMulOptions;
  ta: boolean;
  tb: boolean;
}

interface Row {
  label: string;
  n: number;
  gflops?: number;
  runs?: number;
  note?: string;
}

const OWN = undefined;
const VARIANTS: Variant[] = [
  { label: 'wasm own kernel, A·B', backend: 'wasm', fast: OWN, ta: false, tb: false },
  { label: 'wasm own kernel, Aᵀ·B (before)', backend: 'wasm', fast: OWN, ta: true, tb: false },
  { label: 'wasm own kernel, A·Bᵀ (before)', backend: 'wasm', fast: OWN, ta: false, tb: true },
  { label: 'wasm transposes materialised, Aᵀ·B', backend: 'wasm', fast: { onnx: false }, ta: true, tb: false },
  { label: 'wasm transposes materialised, A·Bᵀ', backend: 'wasm', fast: { onnx: false }, ta: false, tb: true },
  { label: 'wasm -> onnxruntime, A·B', backend: 'wasm', fast: { onnxMinMacs: 0 }, ta: false, tb: false },
  { label: 'wasm -> onnxruntime, Aᵀ·B', backend: 'wasm', fast: { onnxMinMacs: 0 }, ta: true, tb: false },
  { label: 'cpu -> onnxruntime (JS arrays), A·B', backend: 'cpu', fast: { onnxMinMacs: 0 }, ta: false, tb: false },
];

const USAGE = `Usage: npx tsx tools/bench/src/matmul-kernels.ts [flags]
  --sizes 256,1024,2048             n of the n x n x n products
  --crossover-sizes 32,64,96,128,192,256   wasm own kernel vs onnxruntime (where the threshold comes from)
  --cpu-crossover-sizes 4,8,12,16,24,32    cpu own kernel vs onnxruntime
  --repeats 5 --min-seconds 1       timed runs per case (median), stop after this many seconds
  --budget-seconds 12               skip a case whose single run is predicted to take longer
  --python python3 | --no-numpy     the NumPy baseline (1 and 2 BLAS threads)`;

function parse(argv: string[]): Options | 'help' {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        sizes: { type: 'string', default: '256,1024,2048' },
        'crossover-sizes': { type: 'string', default: '32,64,96,128,192,256' },
        'cpu-crossover-sizes': { type: 'string', default: '4,8,12,16,24,32' },
        repeats: { type: 'string', default: '5' },
        'min-seconds': { type: 'string', default: '1' },
        'budget-seconds': { type: 'string', default: '12' },
        python: { type: 'string', default: 'python3' },
        'no-numpy': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    throw invalidArgument('argv', (e as Error).message);
  }
  if (values.help) return 'help';
  const positive = (text: string, flag: string, integer: boolean): number => {
    const v = Number(text);
    if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) throw invalidArgument(flag, `must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
    return v;
  };
  const list = (text: string, flag: string) => text.split(',').map((s) => positive(s.trim(), flag, true));
  return {
    sizes: list(values.sizes, '--sizes'),
    crossoverSizes: list(values['crossover-sizes'], '--crossover-sizes'),
    cpuCrossoverSizes: list(values['cpu-crossover-sizes'], '--cpu-crossover-sizes'),
    repeats: positive(values.repeats, '--repeats', true),
    minSeconds: positive(values['min-seconds'], '--min-seconds', false),
    budgetSeconds: positive(values['budget-seconds'], '--budget-seconds', false),
    python: values.python,
    numpy: !values['no-numpy'],
  };
}

/** Switches to the variant's backend and kernels; returns what computes products. */
async function use(v: Pick<Variant, 'backend' | 'fast'>): Promise<string> {
  const info = await initBackend({ backend: v.backend, fastKernels: v.fast !== undefined });
  return v.fast === undefined ? `${v.backend} own kernel` : (installFastMatMul(v.backend, v.fast) ?? `${info.name}: fast kernels unavailable`);
}

/** Median GFLOP/s of tf.matMul on n x n operands under the current kernels. */
async function time(n: number, ta: boolean, tb: boolean, o: Pick<Options, 'repeats' | 'minSeconds'>): Promise<{ gflops: number; runs: number }> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  try {
    const t = await measure(() => tf.matMul(a, b, ta, tb).dispose(), o.repeats, o.minSeconds);
    return { gflops: gflops(2 * n ** 3, t.seconds), runs: t.runs };
  } finally {
    tf.dispose([a, b]);
  }
}

interface Measured {
  rows: Row[];
  notes: string[];
  /** NumPy GFLOP/s per BLAS thread count, per n. */
  numpy: Map<number, Map<number, number>>;
}

/**
 * Size by size, NumPy then every variant then NumPy again (the better NumPy pass is kept): the
 * load of a shared machine drifts, and ratios are only meaningful between neighbours in time.
 */
async function kernelRows(o: Options, withNumpy: boolean): Promise<Measured> {
  const rows: Row[] = [];
  const notes = new Set<string>();
  const numpy = new Map<number, Map<number, number>>(withNumpy ? [[1, new Map()], [2, new Map()]] : []);
  const rate = new Map<string, number>(); // GFLOP/s of each variant at the previous size, to predict the next
  const baseline = (n: number) => {
    for (const [threads, rates] of numpy) rates.set(n, Math.max(rates.get(n) ?? 0, numpyRate(o, n, threads)));
  };
  for (const n of [...o.sizes].sort((x, y) => x - y)) {
    baseline(n);
    for (const v of VARIANTS) {
      const previous = rate.get(v.label) ?? 0;
      const estimate = previous > 0 ? (2 * n ** 3) / (previous * 1e9) : 0;
      if (estimate > o.budgetSeconds) {
        rows.push({ label: v.label, n, note: `skipped: ~${estimate.toFixed(0)} s per run` });
        continue;
      }
      const described = await use(v);
      if (v.fast !== undefined) notes.add(`${v.label}: ${described}`);
      const t = await time(n, v.ta, v.tb, o);
      rate.set(v.label, t.gflops);
      rows.push({ label: v.label, n, gflops: t.gflops, runs: t.runs });
    }
    baseline(n);
  }
  return { rows, notes: [...notes], numpy };
}

/** The backend's own kernel and onnxruntime side by side at small sizes: two alternating passes, the better of each kept. */
async function crossover(backend: 'wasm' | 'cpu', sizes: number[], o: Options): Promise<string[][]> {
  const out: string[][] = [];
  for (const n of sizes) {
    let own = 0;
    let onnx = 0;
    for (let pass = 0; pass < 2; pass++) {
      await use({ backend, fast: OWN });
      own = Math.max(own, (await time(n, false, false, o)).gflops);
      await use({ backend, fast: { onnxMinMacs: 0 } });
      onnx = Math.max(onnx, (await time(n, false, false, o)).gflops);
    }
    out.push([backend, String(n), fixed(own, 2), fixed(onnx, 2), `${fixed(onnx / own, 2)}x`]);
  }
  return out;
}

function numpyRate(o: Options, n: number, threads: number): number {
  type Reply = { results: { n: number; seconds: number }[] };
  const reply = runNumpy<Reply>(o.python, { kind: 'matmul', sizes: [n], repeats: o.repeats, min_seconds: o.minSeconds }, threads);
  return gflops(2 * n ** 3, reply.results[0].seconds);
}

function ratio(x: number | undefined, base: number | undefined): string {
  return x === undefined || base === undefined ? '-' : `${fixed(x / base, 2)}x`;
}

async function main(argv: string[]): Promise<number> {
  let o: Options | 'help';
  try {
    o = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (o === 'help') {
    console.log(USAGE);
    return 0;
  }
  console.log(`Fast matmul kernels: node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})`);
  let withNumpy = false;
  if (o.numpy) {
    const probe = probeNumpy(o.python);
    withNumpy = probe.ok;
    console.log(
      probe.ok
        ? `Baseline: NumPy ${probe.info.version} with ${probe.info.blas}, pinned to 1 and to 2 BLAS threads, measured before and after each size`
        : `Baseline: NumPy NOT AVAILABLE via '${o.python}' (${probe.reason}); ratios are skipped`,
    );
  }
  try {
    const { rows, notes, numpy } = await kernelRows(o, withNumpy);
    const np1 = numpy.get(1);
    const np2 = numpy.get(2);
    const table = rows.map((r) => [r.label, String(r.n), r.note ?? fixed(r.gflops, 2), r.runs === undefined ? '-' : String(r.runs), ratio(r.gflops, np1?.get(r.n)), ratio(r.gflops, np2?.get(r.n))]);
    for (const n of o.sizes) {
      table.push([`NumPy (OpenBLAS), 1 thread`, String(n), fixed(np1?.get(n), 2), '-', '1.00x', ratio(np1?.get(n), np2?.get(n))]);
      table.push([`NumPy (OpenBLAS), 2 threads`, String(n), fixed(np2?.get(n), 2), '-', ratio(np2?.get(n), np1?.get(n)), '1.00x']);
    }
    console.log('\nfloat32 n x n x n products, median GFLOP/s (ratio = GFLOP/s / NumPy GFLOP/s at the same n)');
    console.log(formatTable(['kernel', 'n', 'GFLOP/s', 'runs', 'vs NumPy 1 thr', 'vs NumPy 2 thr'], table));
    for (const note of notes) console.log(`  ${note}`);
    console.log(`\nCrossover, A·B (default thresholds: wasm ${Math.round(Math.cbrt(ONNX_MIN_MACS.wasm))}³, cpu ${Math.round(Math.cbrt(ONNX_MIN_MACS.cpu))}³ multiply-adds)`);
    const cross = [...(await crossover('wasm', o.crossoverSizes, o)), ...(await crossover('cpu', o.cpuCrossoverSizes, o))];
    console.log(formatTable(['backend', 'n', 'own GFLOP/s', 'onnxruntime GFLOP/s', 'onnx / own'], cross));
  } finally {
    shutdownBackends();
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      const err = PatchworkError.from(e);
      console.error(`bench failed: ${err.code}: ${err.message}`);
      process.exit(1);
    },
  );
}
