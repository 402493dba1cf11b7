import { cpus } from 'node:os';
import { PatchworkError } from '@patchwork/errors';
import { shutdownBackends } from '@patchwork/tensor';
import { formatMatmul, runMatmulBench } from './matmul-bench';
import { probeNumpy } from './numpy';
import { parseOptions, USAGE } from './options';
import { formatSvd, runSvdBench } from './svd-bench';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }
  console.log(`Patchwork benchmarks: node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})`);
  let numpy = false;
  if (options.numpy) {
    const probe = probeNumpy(options.python);
    if (probe.ok) {
      numpy = true;
      const threads = options.numpyThreads === undefined ? 'its default threads' : `${options.numpyThreads} BLAS thread(s)`;
      console.log(`Baseline: NumPy ${probe.info.version} with ${probe.info.blas} (${threads})`);
    } else {
      console.log(`Baseline: NumPy NOT AVAILABLE via '${options.python}' (${probe.reason}); ratios are skipped`);
    }
  } else {
    console.log('Baseline: disabled (--no-numpy); ratios are skipped');
  }
  try {
    if (options.suites.includes('matmul')) {
      const started = performance.now();
      const rows = await runMatmulBench(options, numpy);
      console.log(`\nMatmul float32, C = A·B with n x n operands (median ms; ratio = tfjs GFLOP/s / NumPy GFLOP/s)`);
      console.log(formatMatmul(rows));
      console.log(`(suite took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
    if (options.suites.includes('svd')) {
      const started = performance.now();
      const report = await runSvdBench(options, numpy);
      console.log('');
      console.log(formatSvd(report, options));
      console.log(`(suite took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    // wasm pthread workers would otherwise keep the process alive.
    shutdownBackends();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = PatchworkError.from(e);
    console.error(`bench failed: ${err.code}: ${err.message}`);
    process.exit(1);
  },
);
