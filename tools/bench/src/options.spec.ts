import { PatchworkError } from '@patchwork/errors';
import { parseOptions } from './options';

describe('parseOptions', () => {
  it('has defaults that match the documented benchmark plan', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({
      suites: ['matmul', 'svd'],
      backends: ['cpu', 'wasm'],
      sizes: [256, 1024, 2048],
      svdShape: [1024, 4096],
      svdK: 64,
      svdOversamples: 10,
      svdPowerIterations: 2,
      exactShape: [256, 1024],
      numpy: true,
      numpyThreads: undefined,
    });
  });

  it('parses every flag', () => {
    const o = parseOptions([
      '--suite', 'svd', '--backends', 'wasm', '--sizes', '64,128', '--repeats', '2', '--min-seconds', '0.5',
      '--budget-seconds', '3', '--wasm-threads', '2', '--svd-shape', '100x300', '--svd-k', '8',
      '--svd-oversamples', '4', '--svd-power-iterations', '1', '--exact-shape', '20x30', '--python', 'py', '--no-numpy', '--numpy-threads', '1',
    ]);
    expect(o).toEqual({
      suites: ['svd'], backends: ['wasm'], sizes: [64, 128], repeats: 2, minSeconds: 0.5, budgetSeconds: 3, wasmThreads: 2,
      svdShape: [100, 300], svdK: 8, svdOversamples: 4, svdPowerIterations: 1, exactShape: [20, 30], python: 'py', numpy: false, numpyThreads: 1,
    });
    expect(parseOptions(['--help'])).toBe('help');
  });

  it('names the flag of a bad value', () => {
    const message = (argv: string[]): string => {
      try {
        parseOptions(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(PatchworkError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(message(['--sizes', '256,abc'])).toMatch(/--sizes/);
    expect(message(['--backends', 'webgl'])).toMatch(/--backends: unknown value "webgl"/);
    expect(message(['--svd-shape', '1024*4096'])).toMatch(/--svd-shape/);
    expect(message(['--svd-shape', '10x20', '--svd-k', '11'])).toMatch(/--svd-k/);
    expect(message(['--min-seconds', '0'])).toMatch(/--min-seconds/);
    expect(message(['--colour'])).toMatch(/Unknown option '--colour'/);
  });
});
