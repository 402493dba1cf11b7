import { PatchworkError } from '@patchwork/errors';
import { DIGITS_COUNT, digitFeatures, loadDigits, parseDigitsCsv } from '../sources/digits';
import { intersect, labelShares } from '../testing';
import { getTask, listTasks, loadTask, loadTaskSequence } from './registry';
import type { ImageTaskSplits } from './types';

const SPLITS = ['train', 'validation', 'test'] as const;

function image(name: string, options = {}): ImageTaskSplits {
  const task = loadTask(name, options);
  if (task.inputKind !== 'image') throw new Error(`${name} is not an image task`);
  return task;
}

describe('digits source', () => {
  it('holds the 1797 images of 8x8 pixels in 0..16 with the known class sizes', () => {
    const data = loadDigits();
    expect(data.count).toBe(DIGITS_COUNT);
    expect(data.pixels).toHaveLength(1797 * 64);
    expect(Math.max(...data.pixels)).toBe(16);
    const sizes = new Array<number>(10).fill(0);
    data.labels.forEach((y) => sizes[y]++);
    expect(sizes).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    const scaled = digitFeatures(data, 0);
    expect(scaled).toHaveLength(64);
    expect(Math.max(...scaled)).toBeLessThanOrEqual(1);
    expect(digitFeatures(data, 0, true)[10]).toBe(data.pixels[10]);
  });

  it('rejects a corrupt file with DATA_LOSS', () => {
    expect(() => parseDigitsCsv('1,2,3\n', 'x.csv')).toThrow(PatchworkError);
    const row = `${new Array(64).fill('17').join(',')},3`;
    const rows = Array.from({ length: DIGITS_COUNT }, () => row).join('\n');
    try {
      parseDigitsCsv(rows, 'x.csv');
      throw new Error('expected a failure');
    } catch (error) {
      expect((error as PatchworkError).code).toBe('DATA_LOSS');
      expect((error as PatchworkError).message).toMatch(/row 1 column 1: 17/);
    }
    expect(() => loadDigits({ file: '/nonexistent/digits.csv.gz' })).toThrow(/cannot read/);
  });
});

describe('digit tasks', () => {
  it('split all 1797 images disjointly, stratified by digit', () => {
    const task = image('digits');
    const ids = SPLITS.flatMap((s) => task[s].ids);
    expect(new Set(ids).size).toBe(1797);
    expect(intersect(task.train.ids, task.test.ids)).toEqual([]);
    expect(intersect(task.validation.ids, task.test.ids)).toEqual([]);
    // Rounded per class: 17.4 of the 174 eights rounds to 17, the other classes to 18.
    expect(task.test.ids).toHaveLength(179);
    const overall = labelShares({ ids: [], inputs: [], labels: Int32Array.from(loadDigits().labels) }, 10);
    for (const s of SPLITS) {
      labelShares(task[s], 10).forEach((share, y) => expect(Math.abs(share - overall[y])).toBeLessThan(0.01));
      expect(task[s].inputs.every((x) => x.length === 64)).toBe(true);
    }
    expect(task.imageShape).toEqual([8, 8]);
  });

  it('is deterministic in the seed and changes with it', () => {
    expect(image('digits', { seed: 3 }).test.ids).toEqual(image('digits', { seed: 3 }).test.ids);
    expect(image('digits', { seed: 3 }).test.ids).not.toEqual(image('digits', { seed: 4 }).test.ids);
    const custom = image('digits', { fractions: { train: 0.5, validation: 0.25, test: 0.25 } });
    expect(custom.train.ids.length).toBeGreaterThan(880);
    expect(custom.train.ids.length).toBeLessThan(920);
  });

  it('derive binary tasks from the same partition, so no test image is trained on by any of them', () => {
    const base = image('digits');
    const testIds = new Set(base.test.ids);
    for (const name of ['digits-parity', 'digits-gt4', 'digits-pair-3-8']) {
      const task = image(name);
      expect(task.test.ids.every((id) => testIds.has(id))).toBe(true);
      expect(intersect(task.train.ids, base.test.ids)).toEqual([]);
    }
    const pair = image('digits-pair-3-8');
    expect(pair.labelNames).toEqual(['3', '8']);
    expect(SPLITS.reduce((n, s) => n + pair[s].ids.length, 0)).toBe(183 + 174);
    const parity = image('digits-parity');
    const digits = loadDigits().labels;
    parity.train.ids.forEach((id, i) => expect(parity.train.labels[i]).toBe(digits[Number(id.slice(7))] % 2));
    const gt4 = image('digits-gt4');
    expect(labelShares(gt4.train, 2)[1]).toBeCloseTo(0.5, 1);
  });

  it('digits-lower and digits-upper: the two halves as 5-way tasks over disjoint images', () => {
    const digits = loadDigits().labels;
    const lower = image('digits-lower');
    const upper = image('digits-upper');
    expect(upper.labelNames).toEqual(['5', '6', '7', '8', '9']);
    for (const s of SPLITS) {
      upper[s].ids.forEach((id, i) => expect(upper[s].labels[i]).toBe(digits[Number(id.slice(7))] - 5));
      lower[s].ids.forEach((id, i) => expect(lower[s].labels[i]).toBe(digits[Number(id.slice(7))]));
    }
    const all = SPLITS.flatMap((s) => [...lower[s].ids, ...upper[s].ids]);
    expect(new Set(all).size).toBe(1797);
  });

  it('split-digits: five tasks of two digits, labelled with the digit, covering every image once', () => {
    const tasks = loadTaskSequence('split-digits');
    expect(tasks.map((t) => t.name)).toEqual(['split-digits-1', 'split-digits-2', 'split-digits-3', 'split-digits-4', 'split-digits-5']);
    tasks.forEach((t, k) => {
      const labels = new Set(SPLITS.flatMap((s) => [...t[s].labels]));
      expect([...labels].sort()).toEqual([2 * k, 2 * k + 1]);
      expect(t.labelNames).toHaveLength(10);
    });
    const all = tasks.flatMap((t) => SPLITS.flatMap((s) => t[s].ids));
    expect(new Set(all).size).toBe(1797);
  });

  it('keep raw pixels when asked', () => {
    const raw = image('digits-pair-0-1', { rawPixels: true });
    expect(Math.max(...raw.train.inputs.map((x) => Math.max(...x)))).toBe(16);
  });
});

describe('task registry', () => {
  it('lists every task once, the 45 digit pairs and the Split-Digits sequence included', () => {
    const names = listTasks().map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.startsWith('digits-pair-'))).toHaveLength(45);
    for (const required of ['spam', 'ham-hardness', 'sotu-century', 'sotu-party', 'digits', 'digits-parity', 'digits-gt4', 'split-digits']) {
      expect(names).toContain(required);
    }
    expect(getTask('split-digits')).toMatchObject({ kind: 'sequence', tasks: expect.arrayContaining(['split-digits-5']) });
    expect(getTask('spam')).toMatchObject({ kind: 'task', source: 'spam-assassin', inputKind: 'text', labelNames: ['ham', 'spam'] });
  });

  it('names the problem for unknown tasks and for the wrong loader', () => {
    expect(() => getTask('digits-pair-8-3')).toThrow(/did you mean digits-pair-3-8/);
    expect(() => loadTask('nope')).toThrow(PatchworkError);
    expect(() => loadTask('split-digits')).toThrow(/loadTaskSequence/);
    expect(() => loadTaskSequence('digits')).toThrow(/loadTask/);
    expect(() => loadTask('digits', { seed: -3 })).toThrow(/seed/);
  });
});
