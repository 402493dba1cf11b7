import * as grpc from '@grpc/grpc-js';
import { callUnary } from './client';
import { clientStream, unary } from './handlers';
import { checkHealth } from './health-client';
import { decodeStatusDetails, STATUS_DETAILS_KEY } from './status-details';
import type { EchoRequest } from './testing/echo';
import { startEcho, type EchoHarness } from './testing/harness';

jest.setTimeout(10_000);

const identity = (b: Buffer) => b;

/** A unary call sending `bytes` as the request message, whatever they are. */
function rawUnary(address: string, path: string, bytes: Buffer, metadata = new grpc.Metadata()): Promise<grpc.StatusObject> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, bytes, metadata, { deadline: Date.now() + 5000 }, (err) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details, metadata: err.metadata } : { code: grpc.status.OK, details: '', metadata: new grpc.Metadata() });
    });
  });
}

// Field 2 (unknown) with wire type 2 and a length past the end.
const TRUNCATED = Buffer.from([0x12, 0x05]);
// Wire type 7 does not exist.
const BAD_WIRE_TYPE = Buffer.from([0x0f]);

describe('requests that do not decode', () => {
  let h: EchoHarness;
  let calls = 0;
  const token = 'fuzz-token';

  beforeAll(async () => {
    const say = unary(async (request: EchoRequest) => {
      calls++;
      return { text: request.text, index: 0 };
    });
    const collect = clientStream(async (requests: AsyncIterable<EchoRequest>) => {
      for await (const _ of requests) calls++;
      return { text: '', index: 0 };
    });
    h = await startEcho({ say, count: say, collect }, { auth: { token }, maxReceiveMessageBytes: 64 * 1024 });
  });
  afterAll(() => h.close());

  const authorized = () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };

  it('get INVALID_ARGUMENT naming the request, not INTERNAL, and never reach the handler', async () => {
    for (const bytes of [TRUNCATED, BAD_WIRE_TYPE]) {
      const status = await rawUnary(h.server.address, '/patchwork.testing.Echo/Say', bytes, authorized());
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.details).toMatch(/^request: not a valid encoding of the request message/);
      const details = decodeStatusDetails(status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
      expect(details.violations).toEqual([expect.objectContaining({ field: 'request' })]);
    }
    expect(calls).toBe(0);
    const finished = h.logs.find('rpc finished').filter((r) => r.grpc_method === 'Say');
    expect(finished.map((r) => r.grpc_code)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
  });

  it('answer UNAUTHENTICATED first when the token is missing', async () => {
    expect((await rawUnary(h.server.address, '/patchwork.testing.Echo/Say', TRUNCATED)).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('get INVALID_ARGUMENT from health too, which stays SERVING', async () => {
    expect((await rawUnary(h.server.address, '/grpc.health.v1.Health/Check', BAD_WIRE_TYPE)).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await checkHealth({ address: h.server.address })).toBe('SERVING');
  });

  it('stop a client stream at the first bad message', async () => {
    const client = new grpc.Client(h.server.address, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest('/patchwork.testing.Echo/Collect', identity, identity, authorized(), { deadline: Date.now() + 5000 }, (err) => resolve(err));
      call.write(BAD_WIRE_TYPE);
      call.write(Buffer.from([0x0a, 0x01, 0x41]));
      call.end();
    });
    client.close();
    expect(status?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(calls).toBe(0);
  });

  it('refuse messages over the size limit with RESOURCE_EXHAUSTED', async () => {
    const big = 'x'.repeat(70 * 1024);
    await expect(callUnary(h.client({ token }), 'say', { text: big })).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    await expect(callUnary(h.client({ token }), 'say', { text: 'small' })).resolves.toMatchObject({ text: 'small' });
  });
});
