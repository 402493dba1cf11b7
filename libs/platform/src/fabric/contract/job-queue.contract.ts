import type { Delivery } from '../../ports';
import { MAX_DELIVERIES_REASON } from '../settings';
import { fabricPool, type FabricHarness } from './harness';
import { errorCodeOf, eventually, gate, sleep, text, untext } from './wait';

interface Seen {
  body: string;
  deliveryCount: number;
  at: number;
}

/** The JobQueue port's behaviour, run against every implementation. */
export function jobQueueContract(harness: FabricHarness): void {
  describe(`JobQueue contract (${harness.name})`, () => {
    const pool = fabricPool(harness);
    const A = harness.ackWaitMs;

    it('delivers payload and headers, and an ack removes the job', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A } });
      expect(await queue.enqueue('work', text('job-1'), { msgId: 'm1', headers: { 'x-trace': 'abc' } })).toEqual({ duplicate: false });
      expect(await queue.pending('work')).toBe(1);
      const got: Delivery[] = [];
      const consumer = await queue.consume('work', async (d) => {
        got.push(d);
        await d.ack();
      });
      await eventually(async () => expect(await queue.pending('work')).toBe(0));
      await consumer.stop();
      expect(got).toHaveLength(1);
      expect(untext(got[0].data)).toBe('job-1');
      expect(got[0].headers).toEqual({ 'x-trace': 'abc' });
      expect(got[0].deliveryCount).toBe(1);
    });

    it('drops a second enqueue with the same msgId and delivers in order', async () => {
      const { queue } = await pool.open();
      expect(await queue.enqueue('work', text('a'), { msgId: 'same' })).toEqual({ duplicate: false });
      expect(await queue.enqueue('work', text('a-again'), { msgId: 'same' })).toEqual({ duplicate: true });
      expect(await queue.enqueue('work', text('b'), { msgId: 'other' })).toEqual({ duplicate: false });
      expect(await queue.pending('work')).toBe(2);
      const bodies: string[] = [];
      const consumer = await queue.consume('work', async (d) => {
        bodies.push(untext(d.data));
        await d.ack();
      });
      await eventually(() => expect(bodies).toHaveLength(2));
      await consumer.stop();
      expect(bodies).toEqual(['a', 'b']);
      expect(await queue.pending('work')).toBe(0);
    });

    it('redelivers a job that is not settled within ackWait, with deliveryCount incremented', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A, maxDeliver: 5 } });
      await queue.enqueue('work', text('slow'), { msgId: 'r1' });
      const seen: Seen[] = [];
      const hold = pool.gate();
      const consumer = await queue.consume(
        'work',
        async (d) => {
          seen.push({ body: untext(d.data), deliveryCount: d.deliveryCount, at: Date.now() });
          if (d.deliveryCount === 1) return hold.promise; // a stuck worker: never settles in time
          await d.ack();
        },
        { concurrency: 2 },
      );
      await eventually(() => expect(seen).toHaveLength(2), 10 * A);
      hold.open();
      await eventually(async () => expect(await queue.pending('work')).toBe(0));
      await sleep(A * 1.5);
      await consumer.stop();
      expect(seen.map((s) => s.deliveryCount)).toEqual([1, 2]);
      expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(A * 0.9);
    });

    it('working() extends the ack deadline of a long delivery', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A, maxDeliver: 5 } });
      await queue.enqueue('work', text('long'), { msgId: 'w1' });
      const counts: number[] = [];
      const consumer = await queue.consume(
        'work',
        async (d) => {
          counts.push(d.deliveryCount);
          const until = Date.now() + A * 2.5;
          while (Date.now() < until) {
            d.working();
            await sleep(A / 5);
          }
          await d.ack();
        },
        { concurrency: 2 },
      );
      await eventually(async () => expect(await queue.pending('work')).toBe(0), 10 * A);
      await sleep(A * 1.5);
      await consumer.stop();
      expect(counts).toEqual([1]);
    });

    it('nak(delay) redelivers after the delay; a throwing handler is retried at once', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A * 4, maxDeliver: 5 } });
      const delay = Math.max(200, Math.round(A / 2));
      await queue.enqueue('work', text('nak'), { msgId: 'n1' });
      await queue.enqueue('work', text('throw'), { msgId: 'n2' });
      const seen: Seen[] = [];
      const consumer = await queue.consume(
        'work',
        async (d) => {
          const body = untext(d.data);
          seen.push({ body, deliveryCount: d.deliveryCount, at: Date.now() });
          if (d.deliveryCount > 1) return d.ack();
          if (body === 'nak') return d.nak(delay);
          throw new Error('transient failure');
        },
        { concurrency: 2 },
      );
      await eventually(async () => expect(await queue.pending('work')).toBe(0), 10 * A);
      await consumer.stop();
      const nak = seen.filter((s) => s.body === 'nak');
      const thrown = seen.filter((s) => s.body === 'throw');
      expect(nak.map((s) => s.deliveryCount)).toEqual([1, 2]);
      expect(thrown.map((s) => s.deliveryCount)).toEqual([1, 2]);
      expect(nak[1].at - nak[0].at).toBeGreaterThanOrEqual(delay * 0.9);
      // Retried by the nak, well before the (4 x A) ack deadline would have fired.
      expect(thrown[1].at - thrown[0].at).toBeLessThan(A * 3);
    });

    it('deadLetter(reason) keeps payload, headers and reason, and removes the job', async () => {
      const { queue } = await pool.open();
      const t0 = Date.now();
      await queue.enqueue('work', text('poison'), { msgId: 'd1', headers: { 'x-tenant': 't1' } });
      await queue.enqueue('other', text('fine'), { msgId: 'd2' });
      const consumer = await queue.consume('work', (d) => d.deadLetter('unsupported schema v9'));
      await eventually(async () => expect(await queue.deadLetters('work')).toHaveLength(1));
      await consumer.stop();
      const [dead] = await queue.deadLetters('work');
      expect(untext(dead.data)).toBe('poison');
      expect(dead).toMatchObject({ queue: 'work', headers: { 'x-tenant': 't1' }, reason: 'unsupported schema v9', deliveryCount: 1 });
      expect(dead.at).toBeGreaterThanOrEqual(t0 - 1000);
      expect(dead.at).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await queue.pending('work')).toBe(0);
      expect(await queue.deadLetters('other')).toEqual([]);
      expect(await queue.pending('other')).toBe(1);
    });

    it('dead-letters a job that keeps failing after maxDeliver deliveries', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A, maxDeliver: 3 } });
      await queue.enqueue('work', text('always-fails'), { msgId: 'x1', headers: { 'x-k': 'v' } });
      const counts: number[] = [];
      const consumer = await queue.consume('work', async (d) => {
        counts.push(d.deliveryCount);
        throw new Error('deterministic failure');
      });
      await eventually(async () => expect(await queue.deadLetters('work')).toHaveLength(1), 10 * A);
      await sleep(A);
      await consumer.stop();
      expect(counts).toEqual([1, 2, 3]);
      const [dead] = await queue.deadLetters('work');
      expect(dead).toMatchObject({ reason: MAX_DELIVERIES_REASON, deliveryCount: 3, headers: { 'x-k': 'v' } });
      expect(untext(dead.data)).toBe('always-fails');
      expect(await queue.pending('work')).toBe(0);
    });

    it('dead-letters a job whose deliveries are never settled (a worker killed each time)', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A, maxDeliver: 2 } });
      await queue.enqueue('work', text('kills-workers'), { msgId: 'k1' });
      const counts: number[] = [];
      const hold = pool.gate();
      const consumer = await queue.consume(
        'work',
        async (d) => {
          counts.push(d.deliveryCount);
          await hold.promise;
        },
        { concurrency: 3 },
      );
      await eventually(async () => expect(await queue.deadLetters('work')).toHaveLength(1), 10 * A);
      hold.open();
      await consumer.stop();
      expect(counts).toEqual([1, 2]);
      const [dead] = await queue.deadLetters('work');
      expect(dead).toMatchObject({ reason: MAX_DELIVERIES_REASON, deliveryCount: 2 });
      expect(await queue.pending('work')).toBe(0);
    });

    it('runs at most `concurrency` handlers at once, and competing consumers split the work', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A * 4 } });
      for (let i = 0; i < 8; i++) await queue.enqueue('work', text(`job-${i}`), { msgId: `c${i}` });
      let active = 0;
      let peak = 0;
      const handled: string[] = [];
      const handler = async (d: Delivery) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(150);
        handled.push(untext(d.data));
        active--;
        await d.ack();
      };
      const first = await queue.consume('work', handler, { concurrency: 3 });
      await eventually(() => expect(peak).toBe(3));
      const second = await queue.consume('work', handler, { concurrency: 1 });
      await eventually(() => expect(handled).toHaveLength(8), 10_000);
      await Promise.all([first.stop(), second.stop()]);
      expect(peak).toBeLessThanOrEqual(4);
      expect([...handled].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `job-${i}`).sort());
      expect(await queue.pending('work')).toBe(0);
    });

    it('stop() waits for in-flight handlers and pulls nothing more; an aborted signal stops too', async () => {
      const { queue } = await pool.open({ queue: { ackWaitMs: A * 4 } });
      await queue.enqueue('work', text('in-flight'), { msgId: 's1' });
      const started = gate();
      let finished = false;
      const handled: string[] = [];
      const consumer = await queue.consume('work', async (d) => {
        handled.push(untext(d.data));
        started.open();
        await sleep(300);
        finished = true;
        await d.ack();
      });
      await started.promise;
      await consumer.stop();
      expect(finished).toBe(true);
      await queue.enqueue('work', text('after-stop'), { msgId: 's2' });
      await sleep(300);
      expect(handled).toEqual(['in-flight']);
      expect(await queue.pending('work')).toBe(1);

      const controller = new AbortController();
      const viaSignal = await queue.consume(
        'work',
        async (d) => {
          handled.push(untext(d.data));
          await d.ack();
          controller.abort();
        },
        { signal: controller.signal },
      );
      await eventually(() => expect(handled).toEqual(['in-flight', 'after-stop']));
      await queue.enqueue('work', text('after-abort'), { msgId: 's3' });
      await sleep(300);
      await viaSignal.stop();
      expect(handled).toHaveLength(2);
      expect(await queue.pending('work')).toBe(1);
    });

    it('keeps queued jobs and dead letters across a restart', async () => {
      const fabric = await pool.open({ queue: { ackWaitMs: A } });
      await fabric.queue.enqueue('work', text('doomed'), { msgId: 'p1' });
      const consumer = await fabric.queue.consume('work', (d) => d.deadLetter('bad input'));
      await eventually(async () => expect(await fabric.queue.deadLetters('work')).toHaveLength(1));
      await consumer.stop();
      await fabric.queue.enqueue('work', text('survivor'), { msgId: 'p2' });
      const again = await pool.reopen(fabric, { queue: { ackWaitMs: A } });
      expect(await again.queue.pending('work')).toBe(1);
      expect((await again.queue.deadLetters('work')).map((d) => d.reason)).toEqual(['bad input']);
      expect(await again.queue.enqueue('work', text('survivor'), { msgId: 'p2' })).toEqual({ duplicate: true });
      const bodies: string[] = [];
      const c2 = await again.queue.consume('work', async (d) => {
        bodies.push(untext(d.data));
        await d.ack();
      });
      await eventually(() => expect(bodies).toEqual(['survivor']));
      await c2.stop();
    });

    it('rejects bad queue names, headers and oversized payloads with clear codes', async () => {
      const { queue } = await pool.open();
      expect(await errorCodeOf(queue.enqueue('jobs.merge', text('x'), { msgId: 'v1' }))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(queue.enqueue('work', text('x'), { msgId: '' }))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(queue.enqueue('work', text('x'), { msgId: 'v2', headers: { 'Nats-Msg-Id': 'x' } }))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(queue.enqueue('work', new Uint8Array(2 * 1024 * 1024), { msgId: 'v3' }))).toBe('RESOURCE_EXHAUSTED');
      expect(await errorCodeOf(queue.consume('work', async () => undefined, { concurrency: 0 }))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(queue.pending('bad queue'))).toBe('INVALID_ARGUMENT');
      expect(await queue.pending('work')).toBe(0);
    });
  });
}
