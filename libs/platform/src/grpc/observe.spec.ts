import { invalidArgument } from '@patchwork/errors';
import { createMetrics } from '../observability/metrics';
import { startMetricsServer } from '../observability/metrics-server';
import { promSample } from '../observability/testing/prom-sample';
import { callServerStream, callUnary } from './client';
import { serverStream, unary } from './handlers';
import { checkHealth } from './health-client';
import type { CountRequest, EchoRequest } from './testing/echo';
import { startEcho } from './testing/harness';

jest.setTimeout(10_000);

describe('call metrics and logs', () => {
  it('counts every call by service, method, type and code and serves them on /metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const say = unary(async (request: EchoRequest, ctx) => {
      if (request.text === 'bad') throw invalidArgument('text', 'must not be "bad"');
      if (request.text === 'slow') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return { text: request.text, index: 0 };
    });
    const count = serverStream(async function* (request: CountRequest) {
      for (let i = 0; i < request.n; i++) yield { text: '', index: i };
    });
    const h = await startEcho({ say, count, collect: say }, { metrics, auth: { token: 't0ken' } });
    const metricsServer = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics });
    try {
      const client = h.client({ token: 't0ken' });
      await callUnary(client, 'say', { text: 'a' });
      await callUnary(client, 'say', { text: 'b' });
      await callUnary(client, 'say', { text: 'bad' }).catch(() => undefined);
      await callUnary(client, 'say', { text: 'slow' }, { timeoutMs: 100 }).catch(() => undefined);
      await callUnary(h.client(), 'say', { text: 'no token' }).catch(() => undefined);
      for await (const _ of callServerStream(client, 'count', { n: 3 })) void _;
      await checkHealth({ address: h.server.address });
      // The server records a deadline when its timer fires, which can be after the client gave up.
      const scrape = async () => (await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`)).text();
      let text = await scrape();
      for (let i = 0; i < 50 && promSample(text, 'grpc_server_handling_seconds_count', { grpc_method: 'Say', grpc_code: 'DEADLINE_EXCEEDED' }) === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20));
        text = await scrape();
      }
      const handled = (method: string, code: string) =>
        promSample(text, 'grpc_server_handled_total', { grpc_service: 'patchwork.testing.Echo', grpc_method: method, grpc_code: code });
      expect(handled('Say', 'OK')).toBe(2);
      expect(handled('Say', 'INVALID_ARGUMENT')).toBe(1);
      expect(handled('Say', 'DEADLINE_EXCEEDED')).toBe(1);
      expect(handled('Say', 'UNAUTHENTICATED')).toBe(1);
      expect(promSample(text, 'grpc_server_handled_total', { grpc_method: 'Count', grpc_type: 'server_stream', grpc_code: 'OK' })).toBe(1);
      expect(promSample(text, 'grpc_server_handled_total', { grpc_service: 'grpc.health.v1.Health', grpc_method: 'Check', grpc_code: 'OK' })).toBe(1);
      expect(promSample(text, 'grpc_server_handling_seconds_count', { grpc_method: 'Say', grpc_type: 'unary', grpc_code: 'OK' })).toBe(2);
      expect(promSample(text, 'grpc_server_handling_seconds_bucket', { grpc_method: 'Say', grpc_code: 'DEADLINE_EXCEEDED', le: '0.01' })).toBe(0);

      const finished = h.logs.find('rpc finished');
      const levelOf = (code: string, method = 'Say') => finished.find((r) => r.grpc_code === code && r.grpc_method === method)?.level;
      expect(levelOf('OK')).toBe('info');
      expect(levelOf('INVALID_ARGUMENT')).toBe('info');
      expect(levelOf('DEADLINE_EXCEEDED')).toBe('warn');
      expect(levelOf('OK', 'Check')).toBe('debug');
      expect(finished.find((r) => r.grpc_code === 'INVALID_ARGUMENT')).toMatchObject({ details: 'text: must not be "bad"', grpc_type: 'unary' });
      expect(typeof finished[0].durationMs).toBe('number');
    } finally {
      await metricsServer.close();
      await h.close();
    }
  });
});
