import * as path from 'node:path';
import { PEER_FIXTURES, maxAbsDiff, readAll } from '../testing/fixtures';
import { clipRanks, pcbMerge, thresholdRank } from './pcb';

const RATIOS = [0.05, 0.1, 0.2, 0.5];

describe('pcbMerge vs the authors\' PCB_merge (fixtures/peer/merges/pcb)', () => {
  let fixture: Map<string, { shape: number[]; values: Float32Array }>;
  let tasks: Float32Array[];
  const errors: Record<string, number> = {};

  beforeAll(async () => {
    fixture = await readAll(path.join(PEER_FIXTURES, 'merges/pcb.safetensors'));
    const tv = fixture.get('task_vectors') as { shape: number[]; values: Float32Array };
    const [n, d] = tv.shape;
    tasks = Array.from({ length: n }, (_, i) => tv.values.slice(i * d, (i + 1) * d));
  });
  afterAll(() => process.stdout.write(`pcb flat max abs errors: ${JSON.stringify(errors)}\n`));

  it.each(RATIOS)('ratio %s: merged, clamped and scale', (ratio) => {
    const { merged, clamped, scale } = pcbMerge(tasks, { ratio, clip: 1e-4 });
    const get = (name: string) => (fixture.get(`${name}.r${ratio}`) as { values: Float32Array }).values;
    const flat = (rows: Float32Array[]) => Float32Array.from(rows.flatMap((r) => Array.from(r)));
    errors[`merged.r${ratio}`] = maxAbsDiff(merged, get('merged'));
    errors[`clamped.r${ratio}`] = maxAbsDiff(flat(clamped), get('clamped'));
    errors[`scale.r${ratio}`] = maxAbsDiff(flat(scale), get('scale'));
    expect(errors[`merged.r${ratio}`]).toBeLessThanOrEqual(1e-5);
    expect(errors[`clamped.r${ratio}`]).toBe(0);
    expect(errors[`scale.r${ratio}`]).toBeLessThanOrEqual(1e-5);
  });
});

describe('pcb edge cases', () => {
  it('reads the reference\'s quantile positions', () => {
    expect(clipRanks(3000, 1e-4)).toEqual([0, 2998]);
    expect(clipRanks(100000, 1e-4)).toEqual([10, 99989]); // what Python's int(d * (1 - q) - 1) gives
    expect(clipRanks(1, 1e-4)).toEqual([0, 0]);
    expect(thresholdRank(3000, 0.05)).toBe(2850);
    expect(thresholdRank(10, 1)).toBe(0);
  });

  it('a constant task and an all-dropped position give 0 where the reference divides 0/0', () => {
    const { merged, scale } = pcbMerge([new Float32Array(8).fill(0.5), new Float32Array(8).fill(0.5)], { ratio: 0.5 });
    expect(Array.from(merged).every(Number.isFinite)).toBe(true);
    expect(Array.from(scale[0]).every((s) => s === 0)).toBe(true);
  });

  it('one task with ratio 1 keeps all but its smallest-β elements, unchanged in value', () => {
    const t = Float32Array.of(0.3, -0.2, 0.1, -0.4, 0.25);
    const { merged } = pcbMerge([t], { ratio: 1, clip: 0 });
    merged.forEach((v, j) => expect(v === 0 || Math.abs(v - t[j]) < 1e-7).toBe(true));
    expect(Array.from(merged).filter((v) => v !== 0)).toHaveLength(4);
  });

  it('refuses bad options', () => {
    expect(() => pcbMerge([Float32Array.of(1)], { ratio: 0 })).toThrow(/ratio/);
    expect(() => pcbMerge([Float32Array.of(1)], { ratio: 0.5, clip: 0.5 })).toThrow(/clip/);
    expect(() => pcbMerge([Float32Array.of(1), Float32Array.of(1, 2)], { ratio: 0.5 })).toThrow(/tasks\[1\]/);
  });
});
