import { describeEachBackend, initBackend } from '@patchwork/tensor';
import type { Tokenizer } from '@patchwork/tokenizers';
import { evaluate } from '../runner/evaluate';
import { evaluateShard } from '../runner/evaluate-shard';
import type { ShardResult } from '../runner/shard-result';
import { loadTaskConfig } from '../tasks/load-task-config';
import { commaDocs } from '../testing/docs';
import { BOOT, COMMA_MC, loadBpe } from '../testing/tasks';
import { tinyGpt2, tinyVit } from '../testing/tiny-models';
import fc from 'fast-check';
import { AUTO_SHARDS, MAX_AUTO_SHARD_SIZE, autoShardSize, planShards, shardRange } from './plan';
import { reduceShards } from './reduce';

let bpe: Tokenizer;
beforeAll(async () => {
  bpe = await loadBpe();
});

const scrambled = (shards: ShardResult[]) => [shards[2], shards[0], shards[2], shards[1], shards[0]];

// wasm is the backend where padding changes float bits, so batch alignment is what makes this hold;
// the cpu backend is ~20x slower per forward and is covered by the classifier case below.
describeEachBackend(
  'sharding a language-model task',
  () => {
    it('1 shard, 2 planned shards and 3 even shards give identical results and samples (bootstrap stderr included)', async () => {
      const model = tinyGpt2(bpe.vocabSize, 64);
      const docs = commaDocs(7);
      const options = { model, task: COMMA_MC, docs, tokenizer: bpe, batchSize: 2, ...BOOT };
      const whole = await evaluate(options);
      const plan = planShards(7, 3, { batchSize: 2 });
      expect(plan.shards.map((s) => [s.start, s.end])).toEqual([
        [0, 4],
        [4, 7],
      ]);
      const shards = await Promise.all(plan.shards.map((shard) => evaluateShard({ ...options, shard })));
      // Shard results travel as JSON on the work queue.
      const wire = shards.map((s) => JSON.parse(JSON.stringify(s)) as ShardResult);
      const reduced = reduceShards([wire[1], wire[0], shards[1]], BOOT);
      expect(JSON.stringify(reduced.results)).toBe(JSON.stringify(whole.results));
      expect(JSON.stringify(reduced.samples)).toBe(JSON.stringify(whole.samples));
      expect(typeof whole.results.results.comma_mc['f1_macro_stderr,none']).toBe('number');
      // Even split by {index, count}: whole batches dealt out, the same again.
      const even = await Promise.all([0, 1, 2].map((index) => evaluateShard({ ...options, shard: { index, count: 3 } })));
      expect(even.map((s) => s.shard.end - s.shard.start)).toEqual([2, 2, 3]);
      expect(JSON.stringify(reduceShards(scrambled(even), BOOT))).toBe(JSON.stringify({ results: whole.results, samples: whole.samples }));
      model.dispose();
    });
  },
  ['wasm'],
);

describeEachBackend('sharding a classification task', () => {
  it('classification shards reduce to the unsharded run too', async () => {
    const model = tinyVit(10);
    const task = await loadTaskConfig('digits');
    const options = { model, task, limit: 30, batchSize: 4, ...BOOT };
    const whole = await evaluate(options);
    const shards = await Promise.all([0, 1, 2].map((index) => evaluateShard({ ...options, shard: shardRange(30, { index, count: 3 }, 4) })));
    expect(JSON.stringify(reduceShards(shards, BOOT))).toBe(JSON.stringify({ results: whole.results, samples: whole.samples }));
    model.dispose();
  });
});

describe('shard bookkeeping', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  it('refuses missing shards, shards of another job and unaligned ranges; a lone shard gives a partial view', async () => {
    const model = tinyVit(10);
    const task = await loadTaskConfig('digits');
    const options = { model, task, limit: 12, batchSize: 4, ...BOOT };
    const plan = planShards(12, 4);
    const shards = await Promise.all(plan.shards.map((shard) => evaluateShard({ ...options, shard })));
    expect(() => reduceShards([shards[0], shards[2]])).toThrow(/shards 1 of 3 have not been delivered/);
    const other = await evaluateShard({ ...options, batchSize: 2, shard: { index: 1, count: 3, start: 4, end: 8 } });
    expect(() => reduceShards([shards[0], other, shards[2]])).toThrow(/another evaluation/);
    await expect(evaluateShard({ ...options, shard: { index: 0, count: 2, start: 0, end: 6 } })).rejects.toThrow(/multiples of batchSize 4/);
    const partial = await evaluate({ ...options, shard: plan.shards[1] });
    expect(partial.samples.map((s) => s.doc_id)).toEqual([4, 5, 6, 7]);
    expect(partial.results['n-samples'].digits.effective).toBe(4);
    expect(partial.shard.shard).toEqual({ index: 1, count: 3, start: 4, end: 8 });
    model.dispose();
  });

  it('sizes shards automatically: whole batches, about 16 shards, none above 256 documents unless one batch is', () => {
    expect(autoShardSize(179, 8)).toBe(16);
    expect(autoShardSize(96, 16)).toBe(16);
    expect(autoShardSize(10_000, 32)).toBe(256);
    expect(autoShardSize(5, 512)).toBe(512);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 1, max: 1024 }), (numDocs, batch) => {
        const size = autoShardSize(numDocs, batch);
        expect(size % batch).toBe(0);
        expect(size).toBeGreaterThanOrEqual(batch);
        expect(size).toBeLessThanOrEqual(Math.max(batch, MAX_AUTO_SHARD_SIZE));
        const capped = size === Math.max(batch, Math.floor(MAX_AUTO_SHARD_SIZE / batch) * batch);
        const shards = (s: number) => planShards(numDocs, s, { batchSize: batch }).shards.length;
        // At most AUTO_SHARDS shards unless the size cap forces more, and the smallest such size.
        if (!capped) expect(shards(size)).toBeLessThanOrEqual(AUTO_SHARDS);
        if (size > batch && !capped) expect(shards(size - batch)).toBeGreaterThan(AUTO_SHARDS);
      }),
    );
    expect(() => autoShardSize(0, 4)).toThrow(/numDocs/);
    expect(() => autoShardSize(4, 0)).toThrow(/batchSize/);
  });

  it('plans shards aligned to batches', () => {
    expect(planShards(10, 3, { batchSize: 2 })).toEqual({
      numDocs: 10,
      shardSize: 4,
      shards: [
        { index: 0, count: 3, start: 0, end: 4 },
        { index: 1, count: 3, start: 4, end: 8 },
        { index: 2, count: 3, start: 8, end: 10 },
      ],
    });
    expect(shardRange(10, { index: 3, count: 4 }, 4)).toEqual({ index: 3, count: 4, start: 8, end: 10 });
    expect(shardRange(10, { index: 0, count: 4 }, 4)).toEqual({ index: 0, count: 4, start: 0, end: 0 });
    expect(() => planShards(0, 3)).toThrow(/numDocs/);
    expect(() => shardRange(10, { index: 4, count: 4 }, 2)).toThrow(/not below/);
  });
});
