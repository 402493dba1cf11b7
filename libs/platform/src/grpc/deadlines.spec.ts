import * as http2 from 'node:http2';
import { PatchworkError } from '@patchwork/errors';
import { callServerStream, callUnary } from './client';
import { callDeadline, remainingMs, type CallContext } from './context';
import { serverStream, unary } from './handlers';
import type { CountRequest, EchoRequest } from './testing/echo';
import { type EchoHarness, rejection, startEcho } from './testing/harness';

jest.setTimeout(10_000);

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

/** A hand-made gRPC request, to send a `grpc-timeout` no grpc-js client would send. */
function rawCall(address: string, path: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status: Record<string, unknown> = {};
    req.on('response', (h) => (status = { ...h }));
    req.on('trailers', (t) => (status = { ...status, ...t }));
    req.on('end', () => {
      session.close();
      resolve(status);
    });
    req.resume();
    // One empty EchoRequest: uncompressed flag + zero length.
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe('deadlines', () => {
  let h: EchoHarness;
  let calls = 0;
  let onSay: (request: EchoRequest, ctx: CallContext) => Promise<{ text: string; index: number }>;
  let onCount: (request: CountRequest, ctx: CallContext) => AsyncIterable<{ text: string; index: number }>;

  beforeAll(async () => {
    h = await startEcho({
      say: unary((request: EchoRequest, ctx) => (calls++, onSay(request, ctx))),
      count: serverStream((request: CountRequest, ctx) => onCount(request, ctx)),
      collect: unary(async () => ({})),
    });
  });
  afterAll(() => h.close());

  it('exposes the deadline and aborts ctx.signal with DEADLINE_EXCEEDED when it passes', async () => {
    let seen: { deadline: Date | undefined; reason: unknown } | undefined;
    onSay = async (_request, ctx) => {
      seen = { deadline: ctx.deadline, reason: undefined };
      seen.reason = await aborted(ctx.signal);
      return { text: 'too late', index: 0 };
    };
    const before = Date.now();
    const err = await rejection(callUnary(h.client(), 'say', { text: 'x' }, { timeoutMs: 250 }));
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen!.deadline!.getTime()).toBeGreaterThanOrEqual(before + 200);
    expect(seen!.deadline!.getTime()).toBeLessThanOrEqual(Date.now() + 50);
    expect(seen!.reason).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('ends a server stream at its deadline', async () => {
    onCount = async function* (_request, ctx) {
      yield { text: 'first', index: 0 };
      await aborted(ctx.signal);
    };
    const got: string[] = [];
    const err = await (async () => {
      for await (const reply of callServerStream(h.client(), 'count', { n: 2 }, { timeoutMs: 250 })) got.push(reply.text);
    })().catch((e: PatchworkError) => e);
    expect(got).toEqual(['first']);
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('rejects a call whose deadline is already spent without running the handler', async () => {
    onSay = async () => ({ text: 'ran', index: 0 });
    const before = calls;
    const status = await rawCall(h.server.address, '/patchwork.testing.Echo/Say', { 'grpc-timeout': '0m' });
    expect(status['grpc-status']).toBe('4');
    expect(calls).toBe(before);
    // The same request with time to spare runs.
    const ok = await rawCall(h.server.address, '/patchwork.testing.Echo/Say', { 'grpc-timeout': '5S' });
    expect(ok['grpc-status']).toBe('0');
    expect(calls).toBe(before + 1);
  });

  it("applies the client's default deadline unless a call opts out with Infinity", async () => {
    let deadline: Date | undefined;
    onSay = async (_request, ctx) => ((deadline = ctx.deadline), { text: '', index: 0 });
    const client = h.client({ deadlineMs: 5_000 });
    await callUnary(client, 'say', { text: '' });
    expect(remainingMs(deadline)).toBeGreaterThan(3_000);
    expect(remainingMs(deadline)).toBeLessThanOrEqual(5_000);
    await callUnary(client, 'say', { text: '' }, { deadline: Infinity });
    expect(deadline).toBeUndefined();
  });
});

describe('callDeadline / remainingMs', () => {
  it('reads Date, number and Infinity deadlines', () => {
    expect(callDeadline({ getDeadline: () => Infinity })).toBeUndefined();
    expect(callDeadline({ getDeadline: () => 1234 })).toEqual(new Date(1234));
    expect(callDeadline({ getDeadline: () => new Date(99) })).toEqual(new Date(99));
    expect(remainingMs(undefined)).toBe(Infinity);
    expect(remainingMs(new Date(1000), 400)).toBe(600);
  });
});
