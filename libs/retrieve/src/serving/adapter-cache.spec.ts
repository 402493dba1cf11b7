import fc from 'fast-check';
import { PatchworkError } from '@patchwork/errors';
import { AdapterCache } from './adapter-cache';

interface Fake {
  readonly id: string;
  readonly bytes: number;
  disposed: boolean;
  dispose(): void;
}

function fakes(sizes: Record<string, number>) {
  const loads: string[] = [];
  const made: Fake[] = [];
  const load = async (id: string): Promise<Fake> => {
    loads.push(id);
    await new Promise((r) => setImmediate(r));
    if (!(id in sizes)) throw new PatchworkError('NOT_FOUND', `no adapter ${id}`);
    const f: Fake = { id, bytes: sizes[id], disposed: false, dispose: () => (f.disposed = true) };
    made.push(f);
    return f;
  };
  return { loads, made, load, sizeOf: (f: Fake) => f.bytes };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof PatchworkError ? e.code : 'not a PatchworkError';
  }
  return undefined;
}

describe('AdapterCache', () => {
  it('evicts the least recently used adapters until the new one fits the byte budget', async () => {
    const f = fakes({ a: 40, b: 40, c: 30, d: 90 });
    const cache = new AdapterCache({ budgetBytes: 100, load: f.load, sizeOf: f.sizeOf });
    await cache.use('a', () => undefined);
    await cache.use('b', () => undefined);
    await cache.use('a', () => undefined); // a is now more recent than b
    expect(cache.keys()).toEqual(['b', 'a']);
    await cache.use('c', () => undefined); // 40 + 40 + 30 > 100: b goes
    expect(cache.keys()).toEqual(['a', 'c']);
    expect(f.made.find((x) => x.id === 'b')?.disposed).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 70, hits: 1, misses: 3, evictions: 1 });
    await cache.use('d', () => undefined); // needs 90: both go
    expect(cache.keys()).toEqual(['d']);
    expect(cache.stats().bytes).toBe(90);
    expect(f.loads).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never evicts a pinned adapter, and refuses what cannot fit', async () => {
    const f = fakes({ a: 60, b: 60, big: 101 });
    const cache = new AdapterCache({ budgetBytes: 100, load: f.load, sizeOf: f.sizeOf });
    const lease = await cache.acquire('a');
    const refused = cache.acquire('b').catch((e: PatchworkError) => e);
    const error = (await refused) as PatchworkError;
    expect([error.code, error.retryable]).toEqual(['RESOURCE_EXHAUSTED', true]);
    expect(f.made.find((x) => x.id === 'b')?.disposed).toBe(true);
    expect(cache.keys()).toEqual(['a']);
    expect(() => cache.delete('a')).toThrow(/in use/);
    lease.release();
    lease.release(); // idempotent
    await cache.use('b', () => undefined);
    expect(cache.keys()).toEqual(['b']);
    const tooBig = (await cache.acquire('big').catch((e: PatchworkError) => e)) as PatchworkError;
    expect([tooBig.code, tooBig.retryable]).toEqual(['RESOURCE_EXHAUSTED', false]);
    expect(cache.keys()).toEqual(['b']);
  });

  it('shares one load between concurrent requests and does not cache failures', async () => {
    const f = fakes({ a: 10 });
    const cache = new AdapterCache({ budgetBytes: 100, load: f.load, sizeOf: f.sizeOf });
    const [l1, l2] = await Promise.all([cache.acquire('a'), cache.acquire('a')]);
    expect(l1.adapter).toBe(l2.adapter);
    expect(f.loads).toEqual(['a']);
    l1.release();
    expect(() => cache.delete('a')).toThrow(/in use by 1/);
    l2.release();
    expect(cache.delete('a')).toBe(true);
    expect(await codeOf(cache.acquire('missing'))).toBe('NOT_FOUND');
    expect(await codeOf(cache.acquire('missing'))).toBe('NOT_FOUND');
    expect(f.loads.filter((id) => id === 'missing').length).toBe(2);
    const throwing = new AdapterCache<Fake>({
      budgetBytes: 1,
      load: () => {
        throw new PatchworkError('UNAVAILABLE', 'store down');
      },
      sizeOf: f.sizeOf,
    });
    expect(await codeOf(throwing.acquire('x'))).toBe('UNAVAILABLE');
    expect(await codeOf(throwing.acquire('x'))).toBe('UNAVAILABLE');
    expect(await codeOf(cache.acquire(''))).toBe('INVALID_ARGUMENT');
    expect(() => new AdapterCache({ budgetBytes: 0, load: f.load, sizeOf: f.sizeOf })).toThrow(/budgetBytes/);
  });

  it('keeps the held bytes within the budget and the accounting exact under any access pattern (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 6, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 30 }), async (sizes, accesses) => {
        const f = fakes(Object.fromEntries(sizes.map((s, i) => [`x${i}`, s])));
        const cache = new AdapterCache({ budgetBytes: 100, load: f.load, sizeOf: f.sizeOf });
        for (const i of accesses) {
          await cache.use(`x${i}`, (adapter) => expect(adapter.disposed).toBe(false));
          const held = cache.keys();
          expect(held[held.length - 1]).toBe(`x${i}`);
          const bytes = held.reduce((n, id) => n + sizes[Number(id.slice(1))], 0);
          expect(cache.stats().bytes).toBe(bytes);
          expect(bytes).toBeLessThanOrEqual(100);
        }
        // Exactly the adapters no longer held were disposed.
        const held = new Set(cache.keys());
        for (const id of new Set(f.made.map((a) => a.id))) {
          const instances = f.made.filter((a) => a.id === id);
          instances.slice(0, -1).forEach((a) => expect(a.disposed).toBe(true));
          expect(instances[instances.length - 1].disposed).toBe(!held.has(id));
        }
        expect(cache.clear()).toBe(0);
        expect(f.made.every((a) => a.disposed)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
