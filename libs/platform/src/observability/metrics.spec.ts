import { createMetrics } from './metrics';
import { promSample as sample } from './testing/prom-sample';

describe('createMetrics', () => {
  it('tracks submitted, running, finished, durations per outcome and redeliveries by queue and kind', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.jobs.submitted('merge', 'merge');
    m.jobs.submitted('merge', 'merge');
    const a = m.jobs.start('merge', 'merge');
    const b = m.jobs.start('merge', 'merge');
    const c = m.jobs.start('evaluate', 'shard');
    let text = await m.render();
    expect(sample(text, 'patchwork_jobs_running', { queue: 'merge', kind: 'merge' })).toBe(2);
    expect(sample(text, 'patchwork_jobs_running', { queue: 'evaluate', kind: 'shard' })).toBe(1);
    a.end('completed');
    a.end('failed'); // idempotent: the first outcome stands
    b.end('requeued');
    c.end('failed');
    m.jobs.finished('merge', 'merge', 'succeeded');
    m.jobs.finished('evaluate', 'shard', 'failed');
    m.jobs.redelivered('merge', 'merge');
    m.jobs.setQueued('merge', 7);
    text = await m.render();
    expect(sample(text, 'patchwork_jobs_submitted_total', { queue: 'merge', kind: 'merge' })).toBe(2);
    expect(sample(text, 'patchwork_jobs_running', { queue: 'merge', kind: 'merge' })).toBe(0);
    expect(sample(text, 'patchwork_job_duration_seconds_count', { queue: 'merge', kind: 'merge', outcome: 'completed' })).toBe(1);
    expect(sample(text, 'patchwork_job_duration_seconds_count', { queue: 'merge', kind: 'merge', outcome: 'requeued' })).toBe(1);
    expect(sample(text, 'patchwork_job_duration_seconds_count', { queue: 'merge', kind: 'merge', outcome: 'failed' })).toBeUndefined();
    expect(sample(text, 'patchwork_jobs_finished_total', { queue: 'merge', kind: 'merge', state: 'succeeded' })).toBe(1);
    expect(sample(text, 'patchwork_jobs_finished_total', { queue: 'evaluate', kind: 'shard', state: 'failed' })).toBe(1);
    expect(sample(text, 'patchwork_job_redeliveries_total', { queue: 'merge', kind: 'merge' })).toBe(1);
    expect(sample(text, 'patchwork_jobs_queued', { queue: 'merge' })).toBe(7);
    expect(() => m.jobs.setQueued('merge', -1)).toThrow(/non-negative/);
  });

  it('reads tracked queue backlogs at scrape time and keeps the last value when a read fails', async () => {
    const m = createMetrics({ defaultMetrics: false });
    let backlog: number | Error = 3;
    m.jobs.trackQueued('train', async () => {
      if (backlog instanceof Error) throw backlog;
      return backlog;
    });
    expect(sample(await m.render(), 'patchwork_jobs_queued', { queue: 'train' })).toBe(3);
    backlog = 5;
    expect(sample(await m.render(), 'patchwork_jobs_queued', { queue: 'train' })).toBe(5);
    backlog = new Error('broker away');
    expect(sample(await m.render(), 'patchwork_jobs_queued', { queue: 'train' })).toBe(5);
  });

  it('keeps a single backend_info series, with the thread count, read at every scrape', async () => {
    const m = createMetrics({ defaultMetrics: false, prefix: 'pw_' });
    m.setBackendInfo({ backend: 'wasm', device: 'cpu', threads: 4 });
    let text = await m.render();
    expect(sample(text, 'pw_backend_info', { backend: 'wasm', device: 'cpu' })).toBe(1);
    expect(sample(text, 'pw_backend_threads', { backend: 'wasm' })).toBe(4);
    let live = { backend: 'webgpu', device: 'gpu (test adapter)', threads: 1 };
    m.setBackendInfo(() => live);
    text = await m.render();
    expect(sample(text, 'pw_backend_info', { backend: 'webgpu', device: 'gpu (test adapter)' })).toBe(1);
    expect(sample(text, 'pw_backend_info', { backend: 'wasm' })).toBeUndefined();
    live = { backend: 'cpu', device: 'cpu', threads: 1 };
    text = await m.render();
    expect(sample(text, 'pw_backend_info', { backend: 'cpu', device: 'cpu' })).toBe(1);
    expect(sample(text, 'pw_backend_info', { backend: 'webgpu' })).toBeUndefined();
  });

  it('publishes no backend series until told', async () => {
    const text = await createMetrics({ defaultMetrics: false }).render();
    expect(text).not.toMatch(/^patchwork_backend_info\{/m);
    expect(text).not.toMatch(/^patchwork_backend_threads\{/m);
  });

  it('uses one registry per instance and can add process metrics', async () => {
    const a = createMetrics({ defaultMetrics: true });
    const b = createMetrics({ defaultMetrics: false });
    a.jobs.redelivered('x', 'x');
    expect(await a.render()).toContain('process_cpu_user_seconds_total');
    const textB = await b.render();
    expect(textB).not.toContain('process_cpu_user_seconds_total');
    expect(sample(textB, 'patchwork_job_redeliveries_total', { queue: 'x' })).toBeUndefined();
  });

  it('rejects an invalid prefix', () => {
    expect(() => createMetrics({ prefix: '9bad-' })).toThrow(/metrics prefix/);
  });
});
