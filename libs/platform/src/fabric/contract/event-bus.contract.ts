import type { BusMessage } from '../../ports';
import { fabricPool, type FabricHarness } from './harness';
import { errorCodeOf, eventually, text, untext } from './wait';

/** The EventBus port's behaviour, run against every implementation. */
export function eventBusContract(harness: FabricHarness): void {
  describe(`EventBus contract (${harness.name})`, () => {
    const pool = fabricPool(harness);

    it('routes by NATS wildcards: * is one token, > is the rest', async () => {
      const { bus } = await pool.open();
      const seen: Record<string, string[]> = { star: [], tail: [], exact: [] };
      const record = (name: string) => (m: BusMessage) => seen[name].push(m.subject);
      await bus.subscribe('patchwork.*.job.completed', record('star'));
      await bus.subscribe('patchwork.merge.>', record('tail'));
      await bus.subscribe('patchwork.merge.job.started', record('exact'));
      const subjects = [
        'patchwork.merge.job.completed',
        'patchwork.train.job.completed',
        'patchwork.merge.job.started',
        'patchwork.merge',
        'patchwork.train.job.completed.extra',
        'patchwork.merge.artifact.created',
      ];
      for (const s of subjects) await bus.publish(s, text(s));
      // A sentinel every subscription matches: once it has arrived everywhere, so has the rest.
      await bus.publish('patchwork.merge.job.completed', text('sentinel'));
      await bus.publish('patchwork.merge.job.started', text('sentinel'));
      await eventually(() => {
        expect(seen.star.length).toBeGreaterThanOrEqual(3);
        expect(seen.exact.length).toBeGreaterThanOrEqual(2);
        expect(seen.tail.length).toBeGreaterThanOrEqual(5);
      });
      expect(seen.star).toEqual(['patchwork.merge.job.completed', 'patchwork.train.job.completed', 'patchwork.merge.job.completed']);
      expect(seen.exact).toEqual(['patchwork.merge.job.started', 'patchwork.merge.job.started']);
      expect(seen.tail).toEqual([
        'patchwork.merge.job.completed',
        'patchwork.merge.job.started',
        'patchwork.merge.artifact.created',
        'patchwork.merge.job.completed',
        'patchwork.merge.job.started',
      ]);
    });

    it('carries data and headers, and stops delivering after unsubscribe', async () => {
      const { bus } = await pool.open();
      const got: BusMessage[] = [];
      const sub = await bus.subscribe('patchwork.evaluate.>', (m) => got.push(m));
      const tail: string[] = [];
      await bus.subscribe('patchwork.evaluate.job.progress', (m) => tail.push(untext(m.data)));
      await bus.publish('patchwork.evaluate.job.progress', text('{"done":3}'), { 'x-job-id': 'j-1' });
      await eventually(() => expect(got).toHaveLength(1));
      expect(got[0]).toEqual({ subject: 'patchwork.evaluate.job.progress', data: text('{"done":3}'), headers: { 'x-job-id': 'j-1' } });
      await sub.unsubscribe();
      await bus.publish('patchwork.evaluate.job.progress', text('after'));
      await eventually(() => expect(tail).toEqual(['{"done":3}', 'after']));
      expect(got).toHaveLength(1);
    });

    it('rejects wildcard publishes and malformed patterns', async () => {
      const { bus } = await pool.open();
      expect(await errorCodeOf(bus.publish('patchwork.*.x', text('x')))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(bus.publish('', text('x')))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(bus.subscribe('a.>.b', () => undefined))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(bus.subscribe('a..b', () => undefined))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(bus.publish('a.b', text('x'), { 'bad header': 'v' }))).toBe('INVALID_ARGUMENT');
    });
  });
}
