import type { KvChange } from '../../ports';
import { fabricPool, type FabricHarness } from './harness';
import { errorCodeOf, text, untext } from './wait';

/** Reads `count` changes from a watch, failing instead of hanging when they do not come. */
async function take(iterator: AsyncIterator<KvChange>, count: number, timeoutMs = 10_000): Promise<KvChange[]> {
  const out: KvChange[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`watch produced ${out.length} of ${count} changes`)), Math.max(1, deadline - Date.now()));
    });
    try {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`watch ended after ${out.length} of ${count} changes`);
      out.push(next.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return out;
}

const show = (c: KvChange) => `${c.key}=${c.value === null ? '<deleted>' : untext(c.value)}`;

/** The KeyValueStore port's behaviour, run against every implementation. */
export function keyValueContract(harness: FabricHarness): void {
  describe(`KeyValueStore contract (${harness.name})`, () => {
    const pool = fabricPool(harness);

    it('creates, reads, updates with CAS and puts, with increasing revisions', async () => {
      const { kv } = await pool.open();
      const jobs = await kv.bucket('jobs');
      expect(await jobs.get('job.1')).toBeNull();
      const r1 = await jobs.create('job.1', text('queued'));
      expect(await jobs.get('job.1')).toEqual({ key: 'job.1', value: text('queued'), revision: r1 });
      expect(await errorCodeOf(jobs.create('job.1', text('again')))).toBe('ALREADY_EXISTS');
      const r2 = await jobs.update('job.1', text('running'), r1);
      expect(r2).toBeGreaterThan(r1);
      expect(await errorCodeOf(jobs.update('job.1', text('stale'), r1))).toBe('ABORTED');
      const r3 = await jobs.put('job.1', text('done'));
      expect(r3).toBeGreaterThan(r2);
      expect(untext((await jobs.get('job.1'))!.value)).toBe('done');
      expect(await errorCodeOf(jobs.update('job.2', text('x'), 1))).toBe('ABORTED');
    });

    it('lets exactly one of two racing compare-and-sets win', async () => {
      const { kv } = await pool.open();
      const b = await kv.bucket('race');
      const r = await b.create('counter', text('0'));
      const results = await Promise.allSettled([b.update('counter', text('a'), r), b.update('counter', text('b'), r)]);
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason.code).toBe('ABORTED');
    });

    it('deletes keys, lists keys by prefix and allows re-creating a deleted key', async () => {
      const { kv } = await pool.open();
      const b = await kv.bucket('lineage');
      for (const k of ['adapter.b', 'adapter.a', 'base.x', 'adapter.c']) await b.put(k, text(k));
      await b.delete('adapter.c');
      await b.delete('never-existed');
      expect(await b.get('adapter.c')).toBeNull();
      expect(await b.keys('adapter.')).toEqual(['adapter.a', 'adapter.b']);
      expect(await b.keys()).toEqual(['adapter.a', 'adapter.b', 'base.x']);
      const r = await b.create('adapter.c', text('reborn'));
      expect(await b.get('adapter.c')).toEqual({ key: 'adapter.c', value: text('reborn'), revision: r });
      const other = await kv.bucket('other');
      expect(await other.get('adapter.a')).toBeNull();
    });

    it('watch yields the current value first, then matching changes in order, until aborted', async () => {
      const { kv } = await pool.open();
      const b = await kv.bucket('watched');
      await b.put('jobs.a', text('1'));
      await b.put('jobs.gone', text('x'));
      await b.delete('jobs.gone');
      const controller = new AbortController();
      const iterator = b.watch('jobs.*', controller.signal)[Symbol.asyncIterator]();
      const [current] = await take(iterator, 1);
      expect(show(current)).toBe('jobs.a=1');

      const rb = await b.put('jobs.b', text('2'));
      await b.update('jobs.a', text('3'), current.revision);
      await b.put('other.x', text('ignored'));
      await b.put('jobs.a.deep', text('ignored'));
      await b.delete('jobs.b');
      await b.put('jobs.c', text('4'));
      const changes = await take(iterator, 4);
      expect(changes.map(show)).toEqual(['jobs.b=2', 'jobs.a=3', 'jobs.b=<deleted>', 'jobs.c=4']);
      expect(changes[0].revision).toBe(rb);
      const revisions = changes.map((c) => c.revision);
      expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);

      controller.abort();
      await expect(iterator.next()).resolves.toMatchObject({ done: true });
    });

    it('watch on a full wildcard sees every key', async () => {
      const { kv } = await pool.open();
      const b = await kv.bucket('all');
      await b.put('a', text('1'));
      await b.put('b.c', text('2'));
      const controller = new AbortController();
      const iterator = b.watch('>', controller.signal)[Symbol.asyncIterator]();
      expect((await take(iterator, 2)).map(show)).toEqual(['a=1', 'b.c=2']);
      await b.put('d.e.f', text('3'));
      expect((await take(iterator, 1)).map(show)).toEqual(['d.e.f=3']);
      controller.abort();
      await expect(iterator.next()).resolves.toMatchObject({ done: true });
    });

    it('keeps values across a restart', async () => {
      const fabric = await pool.open();
      const r = await (await fabric.kv.bucket('durable')).put('k', text('v'));
      const again = await pool.reopen(fabric);
      expect(await (await again.kv.bucket('durable')).get('k')).toEqual({ key: 'k', value: text('v'), revision: r });
    });

    it('rejects bad bucket names, keys and patterns', async () => {
      const { kv } = await pool.open();
      expect(await errorCodeOf(kv.bucket('no.dots'))).toBe('INVALID_ARGUMENT');
      const b = await kv.bucket('valid');
      expect(await errorCodeOf(b.put('.leading', text('x')))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(b.put('has space', text('x')))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(b.get('a*'))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(b.update('k', text('x'), 0))).toBe('INVALID_ARGUMENT');
      const it = b.watch('a.>.b', new AbortController().signal)[Symbol.asyncIterator]();
      expect(await errorCodeOf(it.next())).toBe('INVALID_ARGUMENT');
    });
  });
}
