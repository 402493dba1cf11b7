// Benchmarks as functions, so other tools (CI reports, notebooks) can run them without the CLI.
export type { BenchBackend, BenchOptions, Suite } from './options';
export { parseOptions, USAGE } from './options';
export type { MatmulRow } from './matmul-bench';
export { formatMatmul, runMatmulBench } from './matmul-bench';
export type { SvdReport, SvdRow } from './svd-bench';
export { formatSvd, runSvdBench, spectralTestMatrix } from './svd-bench';
export type { NumpyInfo, NumpyProbe } from './numpy';
export { probeNumpy, runNumpy } from './numpy';
export type { Timing } from './timing';
export { gflops, measure } from './timing';
