import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { SeededRandom, writeSafetensors } from '@patchwork/tensor';
import { V8_GC_SLACK_BYTES } from '../execute';

/**
 * Peak memory of a real merge, measured in a child process that does nothing else (Jest's own
 * heap would drown the figures). Four inputs of 24 MiB each (one 1536x4096 float32 tensor) under
 * a 24 MiB budget: inputs total 4x the budget.
 */
const REPO = path.resolve(__dirname, '../../../..');
const SCRIPT = path.join(__dirname, '../testing/rss-merge.ts');
const MiB = 1024 * 1024;
const ROWS = 1536;
const COLS = 4096;
const BUDGET = 24 * MiB;

interface Figures {
  startupRss: number;
  baselineRssBytes: number;
  peakRssBytes: number;
  peakTensorBytes: number;
  chunkedTensors: number;
}

let root: string;

async function measure(budget: number | 'none'): Promise<Figures> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-r', 'tsx/cjs', SCRIPT, path.join(root, 'recipe.yaml'), path.join(root, `out-${budget}`), String(budget)], {
    cwd: REPO,
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Figures;
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-rss-'));
  for (const [i, name] of ['base', 'a', 'b', 'c'].entries()) {
    // A random row repeated (native copies): the data only has to be real floats, not varied.
    const row = new SeededRandom(i + 1).fillGaussian(new Float32Array(COLS));
    const values = new Float32Array(ROWS * COLS);
    for (let r = 0; r < ROWS; r++) values.set(row, r * COLS);
    await fs.mkdir(path.join(root, name));
    await writeSafetensors(path.join(root, name, 'model.safetensors'), { 'layers.0.w': { dtype: 'F32', shape: [ROWS, COLS], data: values } });
  }
  const models = ['a', 'b', 'c'].map((m, i) => `  - {model: ${m}, parameters: {weight: ${0.5 + i / 4}}}`).join('\n');
  await fs.writeFile(path.join(root, 'recipe.yaml'), `merge_method: task_arithmetic\nbase_model: base\nmodels:\n${models}\n`);
}, 60_000);
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('peak memory of a merge whose inputs total 4x the budget', () => {
  it('stays under the budget plus the fixed runtime overhead, where an unbounded merge does not', async () => {
    const bounded = await measure(BUDGET);
    const unbounded = await measure('none');
    const mib = (x: number) => `${(x / MiB).toFixed(1)} MiB`;
    process.stdout.write(
      `memory budget ${mib(BUDGET)}, inputs ${mib(4 * ROWS * COLS * 4)}: baseline RSS ${mib(bounded.baselineRssBytes)}, ` +
        `peak RSS ${mib(bounded.peakRssBytes)} (+${mib(bounded.peakRssBytes - bounded.baselineRssBytes)}); ` +
        `unbounded peak +${mib(unbounded.peakRssBytes - unbounded.baselineRssBytes)}\n`,
    );
    expect(bounded.chunkedTensors).toBe(1);
    expect(bounded.peakTensorBytes).toBeLessThanOrEqual(BUDGET);
    expect(bounded.peakRssBytes - bounded.baselineRssBytes).toBeLessThanOrEqual(BUDGET + V8_GC_SLACK_BYTES);
    // The check can fail: the same merge held whole needs several times as much.
    expect(unbounded.peakRssBytes - unbounded.baselineRssBytes).toBeGreaterThan(BUDGET + V8_GC_SLACK_BYTES);
  }, 120_000);
});
