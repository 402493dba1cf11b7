import { PatchworkError } from '@patchwork/errors';
import { callUnary } from './client';
import type { CallContext } from './context';
import { unary } from './handlers';
import type { EchoRequest } from './testing/echo';
import { startEcho } from './testing/harness';

jest.setTimeout(10_000);

type Say = (request: EchoRequest, ctx: CallContext) => Promise<{ text: string; index: number }>;

function echoWith(onSay: { current: Say }) {
  const say = unary((request: EchoRequest, ctx) => onSay.current(request, ctx));
  return { say, count: say, collect: say };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('graceful shutdown', () => {
  it('runs hooks, lets the in-flight call finish, then closes and refuses new calls', async () => {
    const events: string[] = [];
    const { promise: callStarted, resolve: markStarted } = signalled();
    const onSay = {
      current: (async (request) => {
        events.push('call started');
        markStarted();
        await sleep(300);
        events.push('call finished');
        return { text: request.text, index: 0 };
      }) as Say,
    };
    const h = await startEcho(echoWith(onSay));
    h.server.onShutdown(async () => {
      events.push('hook started');
      await sleep(50);
      events.push('hook finished');
    });
    const client = h.client();
    const inFlight = callUnary(client, 'say', { text: 'in flight' });
    await callStarted;
    const closing = h.server.shutdown('test').then(() => events.push('closed'));
    expect(h.server.shutdown('again')).toBe(h.server.shutdown()); // idempotent
    await expect(inFlight).resolves.toMatchObject({ text: 'in flight' });
    await closing;
    expect(events).toEqual(['call started', 'hook started', 'hook finished', 'call finished', 'closed']);
    await expect(callUnary(client, 'say', { text: 'late' }, { timeoutMs: 1000 })).rejects.toBeInstanceOf(PatchworkError);
    expect(() => h.server.onShutdown(async () => undefined)).toThrow(/already shutting down/);
    await h.close();
  });

  it('forces the shutdown after the grace period, cancelling calls that do not finish', async () => {
    let reason: unknown;
    const { promise: callStarted, resolve: markStarted } = signalled();
    const onSay = {
      current: (async (_request, ctx) => {
        markStarted();
        reason = await new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason)));
        return { text: '', index: 0 };
      }) as Say,
    };
    const h = await startEcho(echoWith(onSay), { shutdown: { handleSignals: false, graceMs: 200 } });
    const stuck = callUnary(h.client(), 'say', { text: 'stuck' }).catch((e: PatchworkError) => e);
    await callStarted;
    const started = Date.now();
    await h.server.shutdown('test');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1500);
    expect(await stuck).toMatchObject({ code: expect.stringMatching(/UNAVAILABLE|CANCELLED|INTERNAL/) });
    await sleep(20);
    expect(reason).toMatchObject({ code: 'CANCELLED' });
    expect(h.logs.find('forcing gRPC server shutdown; in-flight calls are cancelled')).toHaveLength(1);
    await h.close();
  });

  it('bounds slow hooks by the same grace period and logs failing ones', async () => {
    const onSay = { current: (async () => ({ text: '', index: 0 })) as Say };
    const h = await startEcho(echoWith(onSay), { shutdown: { handleSignals: false, graceMs: 150 } });
    h.server.onShutdown(() => new Promise<void>(() => undefined));
    h.server.onShutdown(async () => {
      throw new Error('consumer drain failed');
    });
    const started = Date.now();
    await h.server.shutdown('test');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(h.logs.find('shutdown hook failed')[0]).toMatchObject({ err: { message: 'consumer drain failed' } });
    await h.close();
  });

  it('shuts down on the configured signal, forces on a second one, and removes its handlers', async () => {
    const onSay = { current: (async () => ({ text: '', index: 0 })) as Say };
    const listenersBefore = process.listenerCount('SIGUSR2');
    const h = await startEcho(echoWith(onSay), { shutdown: { signals: ['SIGUSR2'], graceMs: 5000 } });
    expect(process.listenerCount('SIGUSR2')).toBe(listenersBefore + 1);
    h.server.onShutdown(() => new Promise<void>(() => undefined)); // would hold the whole grace period
    const started = Date.now();
    process.emit('SIGUSR2', 'SIGUSR2');
    await sleep(50);
    process.emit('SIGUSR2', 'SIGUSR2');
    await h.server.closed;
    expect(Date.now() - started).toBeLessThan(1500);
    expect(process.listenerCount('SIGUSR2')).toBe(listenersBefore);
    expect(h.logs.find('gRPC server shutting down')[0]).toMatchObject({ reason: 'SIGUSR2' });
    expect(h.logs.find('forcing gRPC server shutdown; in-flight calls are cancelled')[0]).toMatchObject({ why: 'second SIGUSR2' });
    await h.close();
  });
});
