import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { Checkpoint, writeSafetensors } from '@patchwork/tensor';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/adapter-dir';
import { mergeMosAdapter, mosMomentumMerge } from './mos-merge';

const vec = (n: number) => fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -10, max: 10 });

describe('mosMomentumMerge', () => {
  it('is (1 − β)θ + β·mean(earlier), and leaves its inputs alone', () => {
    const current = new Map([['down', Float32Array.of(1, 2)]]);
    const previous = [new Map([['down', Float32Array.of(3, 0)]]), new Map([['down', Float32Array.of(5, 4)]])];
    const out = mosMomentumMerge(current, previous, 0.1);
    expect(Array.from(out.get('down')!)).toEqual([0.9 * 1 + 0.1 * 4, 0.9 * 2 + 0.1 * 2].map(Math.fround));
    expect(Array.from(current.get('down')!)).toEqual([1, 2]);
  });

  it('task 0 (no earlier adapters) and β = 0 return the adapter; β = 1 returns the mean (property)', () => {
    fc.assert(
      fc.property(vec(5), vec(5), vec(5), (theta, p1, p2) => {
        const current = new Map([['w', theta]]);
        expect(Array.from(mosMomentumMerge(current, []).get('w')!)).toEqual(Array.from(theta));
        // + 0 folds -0 into 0: (1 - 0)·(-0) + 0·x is +0.
        expect(Array.from(mosMomentumMerge(current, [new Map([['w', p1]])], 0).get('w')!, (x) => x + 0)).toEqual(Array.from(theta, (x) => x + 0));
        const mean = mosMomentumMerge(current, [new Map([['w', p1]]), new Map([['w', p2]])], 1).get('w')!;
        mean.forEach((v, j) => expect(Math.abs(v - (p1[j] + p2[j]) / 2)).toBeLessThanOrEqual(1e-5));
      }),
    );
  });

  it('refuses a bad momentum and mismatched adapters', () => {
    expect(() => mosMomentumMerge(new Map(), [], 1.5)).toThrow(/momentum/);
    expect(() => mosMomentumMerge(new Map([['w', Float32Array.of(1)]]), [new Map()])).toThrow(/no tensor w/);
  });
});

describe('mergeMosAdapter', () => {
  it('writes a merged copy with the current adapter\'s names, dtypes and config', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'mos-'));
    try {
      const write = async (name: string, down: number[], step: bigint) => {
        const dir = path.join(root, name);
        await fs.mkdir(dir);
        await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), {
          'adapter.0.down.weight': { dtype: 'BF16', shape: [2, 2], data: Float32Array.from(down) },
          'adapter.0.steps': { dtype: 'I64', shape: [1], data: new BigInt64Array([step]) },
        });
        await fs.writeFile(path.join(dir, ADAPTER_CONFIG), JSON.stringify({ peft_type: 'MOS', name }));
        return dir;
      };
      const a0 = await write('a0', [0, 0, 0, 0], 1n);
      const a1 = await write('a1', [2, 2, 2, 2], 2n);
      const current = await write('cur', [1, 2, 3, 4], 3n);
      const result = await mergeMosAdapter({ current, previous: [a0, a1], momentum: 0.5, outDir: path.join(root, 'out') });
      expect(result).toMatchObject({ tensors: 1, previous: 2 });
      const out = await Checkpoint.open(path.join(root, 'out'), { fileName: ADAPTER_WEIGHTS });
      expect(out.info('adapter.0.down.weight').dtype).toBe('BF16');
      expect(Array.from(await out.readFloat32('adapter.0.down.weight'))).toEqual([1, 1.5, 2, 2.5]);
      expect(Array.from(new BigInt64Array((await out.readRaw('adapter.0.steps')).slice().buffer))).toEqual([3n]);
      await out.close();
      expect(JSON.parse(await fs.readFile(path.join(root, 'out', ADAPTER_CONFIG), 'utf8')).name).toBe('cur');
      // The current adapter itself is untouched.
      const original = await Checkpoint.open(current, { fileName: ADAPTER_WEIGHTS });
      expect(Array.from(await original.readFloat32('adapter.0.down.weight'))).toEqual([1, 2, 3, 4]);
      await original.close();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
