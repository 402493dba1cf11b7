import * as grpc from '@grpc/grpc-js';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { callClientStream, callServerStream, callUnary } from './client';
import type { CallContext } from './context';
import { clientStream, serverStream, unary } from './handlers';
import { STATUS_DETAILS_KEY, decodeStatusDetails } from './status-details';
import type { CountRequest, EchoReply, EchoRequest } from './testing/echo';
import { type EchoHarness, rejection, startEcho } from './testing/harness';

/** Resolves with the abort reason once `signal` aborts. */
function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

jest.setTimeout(10_000);

describe('handler adapters', () => {
  let h: EchoHarness;
  let lastCtx: CallContext | undefined;
  let onSay: (request: EchoRequest, ctx: CallContext) => Promise<EchoReply>;
  let onCount: (request: CountRequest, ctx: CallContext) => AsyncIterable<EchoReply>;
  let onCollect: (requests: AsyncIterable<EchoRequest>, ctx: CallContext) => Promise<EchoReply>;

  beforeAll(async () => {
    h = await startEcho({
      say: unary((request: EchoRequest, ctx) => ((lastCtx = ctx), onSay(request, ctx))),
      count: serverStream((request: CountRequest, ctx) => ((lastCtx = ctx), onCount(request, ctx))),
      collect: clientStream((requests: AsyncIterable<EchoRequest>, ctx) => ((lastCtx = ctx), onCollect(requests, ctx))),
    });
  });
  afterAll(() => h.close());

  describe('unary', () => {
    it('answers with the returned value and gives the handler its context', async () => {
      onSay = async (request) => ({ text: request.text.toUpperCase(), index: 7 });
      const client = h.client();
      expect(await callUnary(client, 'say', { text: 'abc' }, { metadata: { 'x-request-id': 'req-1' } })).toMatchObject({ text: 'ABC', index: 7 });
      expect(lastCtx).toMatchObject({ method: '/patchwork.testing.Echo/Say', deadline: undefined });
      expect(lastCtx!.peer).toMatch(/127\.0\.0\.1/);
      expect(lastCtx!.metadata.get('x-request-id')).toEqual(['req-1']);
      expect(lastCtx!.signal.aborted).toBe(false);
    });

    it('sends PatchworkError violations as code 3 with BadRequest details', async () => {
      onSay = async () => {
        const v = new ViolationCollector();
        v.add('text', 'must not be empty');
        v.add('adapters[2].rank', 'must be positive');
        v.throwIfAny();
        throw new Error('unreachable');
      };
      const client = h.client();
      // Raw grpc-js view: what a non-Patchwork client sees.
      const raw = await new Promise<grpc.ServiceError>((resolve) => client.say({ text: '' }, (err) => resolve(err!)));
      expect(raw.code).toBe(3);
      expect(raw.details).toBe('text: must not be empty; adapters[2].rank: must be positive');
      const details = decodeStatusDetails(raw.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
      expect(details.violations).toEqual([
        { field: 'text', description: 'must not be empty' },
        { field: 'adapters[2].rank', description: 'must be positive' },
      ]);
      // Helper view: the same PatchworkError back.
      const err = await rejection(callUnary(client, 'say', { text: '' }));
      expect(err).toBeInstanceOf(PatchworkError);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.violations).toEqual(details.violations);
    });

    it('turns an unknown throw into INTERNAL without leaking its message, and logs it', async () => {
      onSay = async () => {
        throw new RangeError('offset 9000 beyond /var/lib/patchwork/blob');
      };
      const err = await rejection(callUnary(h.client(), 'say', { text: 'x' }));
      expect(err.code).toBe('INTERNAL');
      expect((err.cause as grpc.ServiceError).code).toBe(grpc.status.INTERNAL);
      expect(err.message).not.toMatch(/offset|patchwork\/blob/);
      const logged = h.logs.find('internal error in RPC handler').at(-1)!;
      expect(logged).toMatchObject({ method: '/patchwork.testing.Echo/Say', err: { message: 'offset 9000 beyond /var/lib/patchwork/blob' } });
      expect(err.message).toContain(String(logged.errorRef));
    });

    it('aborts ctx.signal with CANCELLED when the client cancels', async () => {
      const reason = deferred<unknown>();
      const started = deferred();
      onSay = async (_request, ctx) => {
        started.resolve();
        reason.resolve(await aborted(ctx.signal));
        return { text: 'late', index: 0 };
      };
      const controller = new AbortController();
      const pending = callUnary(h.client(), 'say', { text: 'x' }, { signal: controller.signal });
      await started.promise;
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await reason.promise).toMatchObject({ code: 'CANCELLED' });
    });
  });

  describe('server stream', () => {
    it('streams every yielded message in order', async () => {
      onCount = async function* (request) {
        for (let i = 0; i < request.n; i++) yield { text: `m${i}`, index: i };
      };
      const got: number[] = [];
      for await (const reply of callServerStream(h.client(), 'count', { n: 50 })) got.push(reply.index);
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it('delivers messages yielded before an error, then the mapped error', async () => {
      onCount = async function* () {
        yield { text: 'first', index: 0 };
        throw new PatchworkError('NOT_FOUND', 'no job j-7');
      };
      const got: string[] = [];
      const err = await (async () => {
        for await (const reply of callServerStream(h.client(), 'count', { n: 1 })) got.push(reply.text);
      })().catch((e: PatchworkError) => e);
      expect(got).toEqual(['first']);
      expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'no job j-7' });
    });

    it('lets a slow client hold the generator back (backpressure)', async () => {
      const total = 128;
      let produced = 0;
      onCount = async function* (request) {
        for (let i = 0; i < request.n; i++) {
          produced = i + 1;
          yield { text: '', index: i, pad: Buffer.alloc(request.padBytes ?? 0) };
        }
      };
      let consumed = 0;
      let producedAtPause = 0;
      for await (const reply of callServerStream(h.client(), 'count', { n: total, padBytes: 64 * 1024 })) {
        consumed++;
        expect(reply.pad!.length).toBe(64 * 1024);
        if (consumed === 2) {
          await new Promise((r) => setTimeout(r, 300));
          producedAtPause = produced;
        }
      }
      expect(consumed).toBe(total);
      // 8 MiB requested; while the client paused, only the two 16-message stream buffers (server
      // write side, client read side) and the HTTP/2 window filled up.
      expect(producedAtPause).toBeLessThanOrEqual(40);
    });

    it('aborts ctx.signal and closes the generator when the client cancels', async () => {
      const reason = deferred<unknown>();
      const closed = deferred();
      onCount = async function* (_request, ctx) {
        try {
          yield { text: 'one', index: 0 };
          reason.resolve(await aborted(ctx.signal));
          yield { text: 'never read', index: 1 };
        } finally {
          closed.resolve();
        }
      };
      for await (const reply of callServerStream(h.client(), 'count', { n: 2 })) {
        expect(reply.text).toBe('one');
        break; // leaving the loop cancels the call
      }
      expect(await reason.promise).toMatchObject({ code: 'CANCELLED' });
      await closed.promise;
    });
  });

  describe('client stream', () => {
    it('reads every request and answers once', async () => {
      onCollect = async (requests) => {
        const texts: string[] = [];
        for await (const r of requests) texts.push(r.text);
        return { text: texts.join(','), index: texts.length };
      };
      const requests = (function* () {
        for (let i = 0; i < 100; i++) yield { text: String(i) };
      })();
      const reply = await callClientStream(h.client(), 'collect', requests);
      expect(reply.index).toBe(100);
      expect(reply.text.split(',').at(-1)).toBe('99');
    });

    it('stops the upload when the handler fails early', async () => {
      onCollect = async (requests) => {
        for await (const r of requests) if (r.text === 'bad') throw new PatchworkError('DATA_LOSS', 'digest mismatch');
        return { text: 'ok', index: 0 };
      };
      let sent = 0;
      async function* requests() {
        yield { text: 'bad' };
        for (;;) {
          sent++;
          yield { text: 'x'.repeat(1024) };
          await new Promise((r) => setImmediate(r));
        }
      }
      await expect(callClientStream(h.client(), 'collect', requests())).rejects.toMatchObject({ code: 'DATA_LOSS' });
      expect(sent).toBeLessThan(10_000);
    });

    it('makes the request iteration throw CANCELLED when the client cancels', async () => {
      const failure = deferred<unknown>();
      const firstReceived = deferred();
      onCollect = async (requests, ctx) => {
        try {
          for await (const _r of requests) firstReceived.resolve();
        } catch (err) {
          failure.resolve(err);
          throw err;
        }
        return { text: String(ctx.signal.aborted), index: 0 };
      };
      const controller = new AbortController();
      async function* requests() {
        yield { text: 'a' };
        await firstReceived.promise;
        controller.abort();
        await aborted(controller.signal);
        yield { text: 'b' };
      }
      await expect(callClientStream(h.client(), 'collect', requests(), { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await failure.promise).toMatchObject({ code: 'CANCELLED' });
    });

    it('reports a failing request source as its own error', async () => {
      onCollect = async (requests) => {
        for await (const _r of requests) void _r;
        return { text: '', index: 0 };
      };
      async function* requests() {
        yield { text: 'a' };
        throw new PatchworkError('INVALID_ARGUMENT', 'local file unreadable');
      }
      await expect(callClientStream(h.client(), 'collect', requests())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'local file unreadable' });
    });
  });
});
