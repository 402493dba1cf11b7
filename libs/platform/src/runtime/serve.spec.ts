import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ArtifactsClient, JobsClient } from '@patchwork/contracts';
import { readPlatformConfig } from '../config';
import { callUnary, checkHealth, clientStream, createGrpcClient, serverStream, unary } from '../grpc';
import { ECHO_SERVICE_NAME, loadEcho, type EchoRequest } from '../grpc/testing/echo';
import { testCert } from '../grpc/testing/harness';
import { promSample } from '../observability/testing/prom-sample';
import type { ServiceModule } from './runtime';
import { serve, type RunningPlatform } from './serve';

jest.setTimeout(20_000);

const TOKEN = 'serve-spec-token';
const TRACE_ID = '5c1f0d3a8e2b4f6a9d7c3b1e0f2a4c6e';
const PARENT_SPAN_ID = '1a2b3c4d5e6f7a8b';
const certDir = path.join(__dirname, '..', 'grpc', 'testing', 'certs');

/** A service whose RPC submits a job, and whose job handler reports the trace it runs in. */
function probeModule(seen: Array<string | undefined>): ServiceModule {
  const echo = loadEcho();
  return {
    name: 'probe',
    grpcName: ECHO_SERVICE_NAME,
    definition: echo.definition,
    implementation: (runtime) => {
      const say = unary(async (request: EchoRequest) => {
        const { job } = await runtime.jobs.submit({ service: 'probe', kind: 'echo', requestId: request.text, request: new TextEncoder().encode(request.text) });
        return { text: job!.id, index: 0 };
      });
      return {
        say,
        count: serverStream(async function* () {
          yield { text: 'one', index: 0 };
        }),
        collect: clientStream(async (requests: AsyncIterable<EchoRequest>) => {
          for await (const _ of requests) void _;
          return { text: '', index: 0 };
        }),
      };
    },
    handlers: () => ({
      echo: async () => {
        seen.push(trace.getSpanContext(context.active())?.traceId);
        return { outputs: [] };
      },
    }),
  };
}

describe('serve() with TLS, a token and tracing', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  const seen: Array<string | undefined> = [];
  const exporter = new InMemorySpanExporter();
  const closers: Array<() => void> = [];
  let address: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'serve-spec-'));
    const config = readPlatformConfig(
      { PATCHWORK_AUTH_TOKEN: TOKEN, PATCHWORK_TLS_CERT: path.join(certDir, 'server.crt'), PATCHWORK_TLS_KEY: path.join(certDir, 'server.key') },
      { dataDir, grpcPort: '0', logLevel: 'silent', reflection: 'false', ackWaitMs: '2000' },
    );
    platform = await serve({
      config,
      modules: [probeModule(seen)],
      backend: () => ({ backend: 'wasm', device: 'cpu', threads: 2 }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    address = `localhost:${platform.port}`;
  });
  afterAll(async () => {
    for (const close of closers) close();
    await platform.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const tls = { ca: testCert('ca.crt') };
  function client<T extends grpc.Client>(Ctor: new (address: string, credentials: grpc.ChannelCredentials, options?: Partial<grpc.ClientOptions>) => T, options: { token?: string; plaintext?: boolean } = {}): T {
    const c = createGrpcClient(Ctor, { address, tls: options.plaintext ? undefined : tls, token: options.token, deadlineMs: 5000 });
    closers.push(() => c.close());
    return c;
  }

  it('refuses plaintext, and every service call without the right token', async () => {
    await expect(callUnary(client(JobsClient, { token: TOKEN, plaintext: true }), 'getJob', { jobId: 'job-x' }, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    for (const token of [undefined, 'wrong-token']) {
      await expect(callUnary(client(JobsClient, { token }), 'getJob', { jobId: 'job-x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(callUnary(client(ArtifactsClient, { token }), 'listArtifacts', { kind: 0, baseModelDigest: '' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(callUnary(client(loadEcho().Client, { token }), 'say', { text: 'no' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    await expect(callUnary(client(JobsClient, { token: TOKEN }), 'getJob', { jobId: 'job-missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await checkHealth({ address, tls, service: ECHO_SERVICE_NAME })).toBe('SERVING');
  });

  it('names job_id when it cannot be a job id', async () => {
    for (const jobId of ['../../kv/jobs', 'job.x', 'a'.repeat(129), 'job\u0000x']) {
      const err = await callUnary(client(JobsClient, { token: TOKEN }), 'getJob', { jobId }).catch((e) => e);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', violations: [expect.objectContaining({ field: 'job_id' })] });
    }
  });

  it('carries a client\'s trace through the RPC into the job handler, with spans for both', async () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: PARENT_SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const reply = await context.with(parent, () => callUnary(client(loadEcho().Client, { token: TOKEN }), 'say', { text: 'traced-request' }));
    const jobId = reply.text;
    const deadline = Date.now() + 10_000;
    while (exporter.getFinishedSpans().filter((s) => s.name === 'job probe.echo').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([TRACE_ID]);
    const spans = exporter.getFinishedSpans();
    // Earlier calls in this file made root spans of their own; this one joined the caller's trace.
    const rpc = spans.find((s) => s.name === `${ECHO_SERVICE_NAME}/Say` && s.spanContext().traceId === TRACE_ID)!;
    const job = spans.find((s) => s.name === 'job probe.echo')!;
    expect(rpc.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(job.spanContext().traceId).toBe(TRACE_ID);
    // The job was submitted inside the RPC, so its run hangs under the RPC's span.
    expect(job.parentSpanContext?.spanId).toBe(rpc.spanContext().spanId);
    expect(job.attributes).toMatchObject({ 'patchwork.job.id': jobId, 'patchwork.job.attempt': 1 });
  });

  it('exports RPC, job, queue and backend metrics', async () => {
    const text = await platform.metrics.render();
    expect(promSample(text, 'grpc_server_handled_total', { grpc_service: 'patchwork.v1.Jobs', grpc_method: 'GetJob', grpc_code: 'UNAUTHENTICATED' })).toBe(2);
    expect(promSample(text, 'patchwork_jobs_submitted_total', { queue: 'probe', kind: 'echo' })).toBe(1);
    expect(promSample(text, 'patchwork_jobs_finished_total', { queue: 'probe', kind: 'echo', state: 'succeeded' })).toBe(1);
    expect(promSample(text, 'patchwork_jobs_queued', { queue: 'probe' })).toBe(0);
    expect(promSample(text, 'patchwork_backend_info', { backend: 'wasm', device: 'cpu' })).toBe(1);
    expect(promSample(text, 'patchwork_backend_threads', { backend: 'wasm' })).toBe(2);
  });
});
