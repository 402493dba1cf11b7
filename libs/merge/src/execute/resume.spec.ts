import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { SeededRandom, writeSafetensors } from '@patchwork/tensor';
import { ExecuteOptions, executeMerge } from '../execute';
import { parseMergeYaml } from '../config/parse-yaml';
import { planMerge } from '../plan';
import { MergeCheckpoint, MergeCursor } from './cursor';

let root: string;
const resolve = async (ref: string) => ref;
/** Six tensors of 64 floats (256 bytes); 600-byte shards hold two each: three shards. */
const NAMES = ['t0', 't1', 't2', 't3', 't4', 't5'];
const TENSOR_BYTES = 256;

async function writeModel(name: string, seed: number): Promise<void> {
  const rng = new SeededRandom(seed);
  const tensors = Object.fromEntries(NAMES.map((n) => [n, { dtype: 'F32' as const, shape: [8, 8], data: rng.fillGaussian(new Float32Array(64)) }]));
  await fs.mkdir(path.join(root, name), { recursive: true });
  await writeSafetensors(path.join(root, name, 'model.safetensors'), tensors, { format: 'pt' });
}

class MemoryCheckpoint implements MergeCheckpoint {
  cursor: MergeCursor | null = null;
  writes = 0;
  async read() {
    return this.cursor === null ? null : (JSON.parse(JSON.stringify(this.cursor)) as MergeCursor);
  }
  async write(cursor: MergeCursor) {
    this.writes++;
    this.cursor = JSON.parse(JSON.stringify(cursor)) as MergeCursor;
  }
}

const TIES = `merge_method: ties\nbase_model: base\nmodels:\n  - {model: a, parameters: {weight: 0.7, density: 0.5}}\n  - {model: b, parameters: {weight: 1.2, density: 0.4}}\nparameters: {semantics: peft}\n`;
const PCB = `merge_method: pcb\nbase_model: base\nmodels:\n  - model: a\n  - model: b\nparameters: {ratio: 0.3}\n`;

async function run(yaml: string, out: string, options: Omit<ExecuteOptions, 'outDir'> = {}) {
  const plan = await planMerge(parseMergeYaml(yaml, root), resolve);
  try {
    return await executeMerge(plan, { outDir: path.join(root, out), maxShardBytes: 600, ...options });
  } finally {
    await plan.close();
  }
}

/** Runs until `stopAfter` tensors are finished, then cancels, as a crashed worker would stop. */
async function interrupted(yaml: string, out: string, checkpoint: MergeCheckpoint, stopAfter: number) {
  const controller = new AbortController();
  const err = await run(yaml, out, {
    checkpoint,
    signal: controller.signal,
    onProgress: (p) => (p.phase === 'merge' && p.done === stopAfter ? controller.abort() : undefined),
  }).catch((e: PatchworkError) => e);
  expect(err).toMatchObject({ code: 'CANCELLED' });
}

async function outputOf(out: string): Promise<Map<string, Buffer>> {
  const files = (await fs.readdir(path.join(root, out))).filter((f) => f.startsWith('model')).sort();
  return new Map(await Promise.all(files.map(async (f) => [f, await fs.readFile(path.join(root, out, f))] as const)));
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'merge-resume-'));
  await writeModel('base', 1);
  await writeModel('a', 2);
  await writeModel('b', 3);
  await run(TIES, 'reference-ties');
  await run(PCB, 'reference-pcb');
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('resuming an interrupted merge', () => {
  it('continues from the last finished tensor, re-reads only the rest and writes the bytes of an uninterrupted run', async () => {
    const store = new MemoryCheckpoint();
    await interrupted(TIES, 'ties', store, 3);
    expect(store.cursor).toMatchObject({ done: 3, shards: [{ file: 'model-00001-of-00003.safetensors' }], partial: { file: '.model-00002-of-00003.safetensors.partial' } });
    const resumed = await run(TIES, 'ties', { checkpoint: store });
    expect(resumed.resumed).toEqual({ tensors: 3 });
    // Three tensors left, each read from three inputs once (held whole, so the top-k walks re-read nothing).
    expect(resumed.bytesRead).toBe(3 * 3 * TENSOR_BYTES);
    expect(resumed.bytesWritten).toBe(3 * TENSOR_BYTES);
    expect(await outputOf('ties')).toEqual(await outputOf('reference-ties'));
    expect((await fs.readdir(path.join(root, 'ties'))).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(store.cursor?.done).toBe(6);
  });

  it('resumes at a shard boundary and after a tensor that ended a shard', async () => {
    const store = new MemoryCheckpoint();
    await interrupted(TIES, 'ties-boundary', store, 4);
    expect(store.cursor?.partial).toBeUndefined();
    expect(store.cursor?.shards).toHaveLength(2);
    const resumed = await run(TIES, 'ties-boundary', { checkpoint: store });
    expect(resumed.resumed).toEqual({ tensors: 4 });
    expect(await outputOf('ties-boundary')).toEqual(await outputOf('reference-ties'));
  });

  it('falls back to the last output that verifies when a recorded file was changed', async () => {
    const store = new MemoryCheckpoint();
    await interrupted(TIES, 'ties-corrupt', store, 3);
    const partial = path.join(root, 'ties-corrupt', '.model-00002-of-00003.safetensors.partial');
    const bytes = await fs.readFile(partial);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(partial, bytes);
    const resumed = await run(TIES, 'ties-corrupt', { checkpoint: store });
    expect(resumed.resumed).toEqual({ tensors: 2, discarded: expect.stringMatching(/partial shard .* changed since it was recorded/) });
    expect(await outputOf('ties-corrupt')).toEqual(await outputOf('reference-ties'));

    await interrupted(TIES, 'ties-corrupt-shard', store, 5);
    const shard = path.join(root, 'ties-corrupt-shard', 'model-00001-of-00003.safetensors');
    const shardBytes = await fs.readFile(shard);
    shardBytes[shardBytes.length - 5] ^= 0x01;
    await fs.writeFile(shard, shardBytes);
    const again = await run(TIES, 'ties-corrupt-shard', { checkpoint: store });
    expect(again.resumed).toEqual({ tensors: 0, discarded: expect.stringMatching(/model-00001-of-00003\.safetensors changed/) });
    expect(await outputOf('ties-corrupt-shard')).toEqual(await outputOf('reference-ties'));
  });

  it('ignores a cursor of another plan', async () => {
    const store = new MemoryCheckpoint();
    await interrupted(TIES, 'other-plan', store, 3);
    const changed = TIES.replace('weight: 0.7', 'weight: 0.75');
    const summary = await run(changed, 'other-plan', { checkpoint: store });
    expect(summary.resumed).toEqual({ tensors: 0, discarded: expect.stringMatching(/another plan/) });
    await run(changed, 'other-plan-reference');
    expect(await outputOf('other-plan')).toEqual(await outputOf('other-plan-reference'));
    store.cursor = { version: 99 } as unknown as MergeCursor;
    expect((await run(TIES, 'malformed', { checkpoint: store })).resumed).toEqual({ tensors: 0, discarded: expect.stringMatching(/malformed/) });
  });

  it('redoes a whole-model method\'s statistics walks, then continues the merge pass', async () => {
    const store = new MemoryCheckpoint();
    await interrupted(PCB, 'pcb', store, 2);
    const resumed = await run(PCB, 'pcb', { checkpoint: store });
    expect(resumed.resumed).toEqual({ tensors: 2 });
    expect(resumed.statisticsWalks).toBe(4);
    expect(await outputOf('pcb')).toEqual(await outputOf('reference-pcb'));
  });
});
