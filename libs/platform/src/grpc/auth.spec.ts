import * as grpc from '@grpc/grpc-js';
import { PatchworkError } from '@patchwork/errors';
import { callUnary } from './client';
import { unary } from './handlers';
import { checkHealth } from './health-client';
import { ECHO_SERVICE_NAME, type EchoRequest } from './testing/echo';
import { type EchoHarness, rejection, startEcho } from './testing/harness';

const TOKEN = 's3cr3t-token-value';

describe('bearer-token auth', () => {
  let h: EchoHarness;
  const seen: grpc.Metadata[] = [];

  beforeAll(async () => {
    const say = unary(async (request: EchoRequest, ctx) => {
      seen.push(ctx.metadata);
      return { text: request.text, index: 1 };
    });
    h = await startEcho({ say, count: say, collect: say }, { auth: { token: TOKEN } });
  });
  afterAll(() => h.close());

  it('accepts the right token and hides it from handlers', async () => {
    await expect(callUnary(h.client({ token: TOKEN }), 'say', { text: 'ok' })).resolves.toMatchObject({ text: 'ok' });
    expect(seen.at(-1)!.get('authorization')).toEqual([]);
  });

  it('answers UNAUTHENTICATED to a missing, wrong or malformed token without running the handler', async () => {
    const before = seen.length;
    const withAuthorization = (value: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', value);
      return metadata;
    };
    const attempts: Array<[string, grpc.Metadata | undefined]> = [
      ['missing', undefined],
      ['wrong', withAuthorization('Bearer not-the-token')],
      ['no scheme', withAuthorization(TOKEN)],
      ['other scheme', withAuthorization(`Basic ${TOKEN}`)],
    ];
    for (const [label, metadata] of attempts) {
      const err = await rejection(callUnary(h.client(), 'say', { text: label }, { metadata }));
      expect(err).toBeInstanceOf(PatchworkError);
      expect(err.code).toBe('UNAUTHENTICATED');
      expect((err.cause as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    }
    await expect(callUnary(h.client({ token: 'almost-' + TOKEN }), 'say', { text: 'x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'invalid bearer token' });
    expect(seen.length).toBe(before);
  });

  it('keeps health open for probes that carry no token', async () => {
    expect(await checkHealth({ address: h.server.address })).toBe('SERVING');
    expect(await checkHealth({ address: h.server.address, service: ECHO_SERVICE_NAME })).toBe('SERVING');
  });

  it('never logs the token', async () => {
    await callUnary(h.client({ token: TOKEN }), 'say', { text: 'log me' });
    await callUnary(h.client({ token: 'wrong-token' }), 'say', { text: 'x' }).catch(() => undefined);
    const text = h.logs.raw.join('');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('wrong-token');
    const rejected = h.logs.find('rpc finished').filter((r) => r.grpc_code === 'UNAUTHENTICATED' && (r.metadata as Record<string, string>).authorization);
    expect(rejected.length).toBeGreaterThan(0);
    for (const record of rejected) expect(record).toMatchObject({ grpc_method: 'Say', metadata: { authorization: '[redacted]' } });
  });
});
