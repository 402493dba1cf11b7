import { ResourceCache } from './resource-cache';

/** A resource that records its disposal, so leaks and double frees show. */
class Thing {
  disposed = 0;
  constructor(readonly name: string) {}
  dispose(): void {
    this.disposed++;
  }
}

function loader() {
  const loads: string[] = [];
  const made = new Map<string, Thing>();
  const load = (name: string) => async () => {
    loads.push(name);
    const thing = new Thing(name);
    made.set(name, thing);
    return thing;
  };
  return { loads, made, load };
}

describe('ResourceCache', () => {
  it('loads a key once, evicts the least recently used beyond maxEntries and disposes it once', async () => {
    const cache = new ResourceCache<Thing>({ maxEntries: 2 });
    const { loads, made, load } = loader();
    for (const key of ['a', 'b', 'a', 'c', 'a', 'b']) await cache.use(key, load(key), () => undefined);
    // a, b loaded; a hit; c evicts b (a was used more recently); a hit; b reloaded, evicting c.
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
    expect(cache.keys()).toEqual(['a', 'b']);
    expect(cache.stats()).toEqual({ entries: 2, pinned: 0, hits: 2, misses: 4, evictions: 2 });
    expect([...made.values()].map((t) => [t.name, t.disposed])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 1],
    ]);
    cache.clear();
    expect([...made.values()].every((t) => t.disposed === 1)).toBe(true);
  });

  it('never disposes a value in use: it may exceed maxEntries until the lease is released', async () => {
    const cache = new ResourceCache<Thing>({ maxEntries: 1 });
    const { made, load } = loader();
    const a = await cache.acquire('a', load('a'));
    const b = await cache.acquire('b', load('b'));
    expect(cache.stats().entries).toBe(2);
    expect(made.get('a')!.disposed).toBe(0);
    a.release();
    a.release();
    expect(made.get('a')!.disposed).toBe(1);
    expect(cache.keys()).toEqual(['b']);
    cache.clear();
    expect(made.get('b')!.disposed).toBe(0);
    b.release();
    expect(made.get('b')!.disposed).toBe(1);
  });

  it('shares one load among concurrent callers and does not cache a failed load', async () => {
    const cache = new ResourceCache<Thing>({ maxEntries: 2 });
    let calls = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const slow = async () => {
      calls++;
      await gate;
      return new Thing('x');
    };
    const both = Promise.all([cache.acquire('x', slow), cache.acquire('x', slow)]);
    open();
    const [first, second] = await both;
    expect(calls).toBe(1);
    expect(first.value).toBe(second.value);
    expect([first.hit, second.hit]).toEqual([false, true]);
    expect(cache.stats().pinned).toBe(1);
    first.release();
    second.release();

    let tries = 0;
    const flaky = async () => {
      if (++tries === 1) throw new Error('disk gone');
      return new Thing('y');
    };
    await expect(cache.acquire('y', flaky)).rejects.toThrow('disk gone');
    expect(cache.keys()).toEqual(['x']);
    expect((await cache.acquire('y', flaky)).value.name).toBe('y');
    const throwsAtOnce = (): Promise<Thing> => {
      throw new Error('sync');
    };
    await expect(cache.acquire('z', throwsAtOnce)).rejects.toThrow('sync');
    expect((await cache.acquire('z', async () => new Thing('z'))).hit).toBe(false);
  });

  it('evicts values left unused for idleMs', async () => {
    let now = 1000;
    const cache = new ResourceCache<Thing>({ maxEntries: 4, idleMs: 500, now: () => now });
    const { made, load } = loader();
    await cache.use('old', load('old'), () => undefined);
    now = 1300;
    const held = await cache.acquire('held', load('held'));
    await cache.use('recent', load('recent'), () => undefined);
    now = 1600;
    expect(cache.evictIdle()).toBe(1);
    expect(made.get('old')!.disposed).toBe(1);
    now = 5000;
    expect(cache.evictIdle()).toBe(1);
    expect(cache.keys()).toEqual(['held']);
    held.release();
    cache.clear();
  });

  it('sweeps idle values on a timer that does not hold the process open', async () => {
    jest.useFakeTimers();
    try {
      const cache = new ResourceCache<Thing>({ maxEntries: 2, idleMs: 1000 });
      const { made, load } = loader();
      await cache.use('a', load('a'), () => undefined);
      jest.advanceTimersByTime(999);
      expect(made.get('a')!.disposed).toBe(0);
      jest.advanceTimersByTime(2);
      expect(made.get('a')!.disposed).toBe(1);
      expect(cache.stats().entries).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses bad options and keys naming the field', async () => {
    expect(() => new ResourceCache({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new ResourceCache({ maxEntries: 1, idleMs: -1 })).toThrow(/idleMs/);
    await expect(new ResourceCache({ maxEntries: 1 }).acquire('', async () => 1)).rejects.toThrow(/key/);
  });
});
