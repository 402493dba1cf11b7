import { createMetrics } from './metrics';
import { startMetricsServer } from './metrics-server';
import { promSample as sample } from './testing/prom-sample';

describe('startMetricsServer', () => {
  it('serves /metrics and /healthz and closes promptly', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.jobs.redelivered('train', 'train');
    const server = await startMetricsServer({ port: 0, host: '127.0.0.1', metrics });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(sample(await res.text(), 'patchwork_job_redeliveries_total', { queue: 'train', kind: 'train' })).toBe(1);
      expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('rejects a bad port', async () => {
    await expect(startMetricsServer({ port: 70000, metrics: createMetrics({ defaultMetrics: false }) })).rejects.toThrow(/metrics port/);
  });
});
