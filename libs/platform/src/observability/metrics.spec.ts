import { createMetrics } from './metrics';
import { promSample as sample } from './testing/prom-sample';

describe('createMetrics', () => {
  it('tracks running jobs, durations per outcome and redeliveries', async () => {
    const m = createMetrics({ defaultMetrics: false });
    const a = m.jobs.start('merge');
    const b = m.jobs.start('merge');
    let text = await m.render();
    expect(sample(text, 'patchwork_jobs_running', { queue: 'merge' })).toBe(2);
    a.end('completed');
    a.end('failed'); // idempotent: the first outcome stands
    b.end('failed');
    m.jobs.redelivered('merge');
    m.jobs.setQueued('merge', 7);
    text = await m.render();
    expect(sample(text, 'patchwork_jobs_running', { queue: 'merge' })).toBe(0);
    expect(sample(text, 'patchwork_job_duration_seconds_count', { queue: 'merge', outcome: 'completed' })).toBe(1);
    expect(sample(text, 'patchwork_job_duration_seconds_count', { queue: 'merge', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'patchwork_job_redeliveries_total', { queue: 'merge' })).toBe(1);
    expect(sample(text, 'patchwork_jobs_queued', { queue: 'merge' })).toBe(7);
    expect(() => m.jobs.setQueued('merge', -1)).toThrow(/non-negative/);
  });

  it('keeps a single backend_info series', async () => {
    const m = createMetrics({ defaultMetrics: false, prefix: 'pw_' });
    m.setBackendInfo('wasm', 'cpu');
    m.setBackendInfo('webgpu', 'gpu');
    const text = await m.render();
    expect(sample(text, 'pw_backend_info', { backend: 'webgpu', device: 'gpu' })).toBe(1);
    expect(sample(text, 'pw_backend_info', { backend: 'wasm' })).toBeUndefined();
  });

  it('uses one registry per instance and can add process metrics', async () => {
    const a = createMetrics({ defaultMetrics: true });
    const b = createMetrics({ defaultMetrics: false });
    a.jobs.redelivered('x');
    expect(await a.render()).toContain('process_cpu_user_seconds_total');
    const textB = await b.render();
    expect(textB).not.toContain('process_cpu_user_seconds_total');
    expect(sample(textB, 'patchwork_job_redeliveries_total', { queue: 'x' })).toBeUndefined();
  });

  it('rejects an invalid prefix', () => {
    expect(() => createMetrics({ prefix: '9bad-' })).toThrow(/metrics prefix/);
  });
});
