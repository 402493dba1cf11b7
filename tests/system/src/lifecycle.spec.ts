import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, JobState } from '@patchwork/contracts';
import { callUnary } from '@patchwork/platform';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { connectLifecycle, type FaultRecord, type LifecycleClients, type LifecycleResult, renderReport, runLifecycle } from '@patchwork/cli';
import { freePort, NatsServer, ServiceProcess } from './processes';

const SERVICES = ['train', 'compress', 'merge', 'evaluate', 'retrieve'] as const;
type Service = (typeof SERVICES)[number];

let root: string;
let nats: NatsServer;
let clients: LifecycleClients;
const processes = new Map<Service, ServiceProcess>();
const faults: FaultRecord[] = [];
let result: LifecycleResult;

const record = (injected: string, observed: string) => faults.push({ at: new Date().toISOString(), injected, observed });

async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills the train replica once the job is a few steps in, starts a new one, and notes what followed. */
async function killTrainerMidJob(jobId: string): Promise<void> {
  const running = await pollUntil('the train job to pass step 5', async () => {
    const job = await callUnary(clients.jobs, 'getJob', { jobId });
    return job.state === JobState.JOB_STATE_RUNNING && job.progress?.stage === 'train' && Number(job.progress.done) >= 5 ? job : undefined;
  });
  const trainer = processes.get('train') as ServiceProcess;
  const pid = trainer.pid;
  await trainer.kill();
  record(`SIGKILL the train replica (pid ${pid}) at step ${running.progress?.done} of job ${jobId}`, 'pending');
  await trainer.start();
  const done = await pollUntil('the killed job to finish', async () => {
    const job = await callUnary(clients.jobs, 'getJob', { jobId });
    return job.state === JobState.JOB_STATE_SUCCEEDED || job.state === JobState.JOB_STATE_FAILED ? job : undefined;
  });
  faults[faults.length - 1] = {
    ...faults[faults.length - 1],
    observed: `a new replica took the redelivered job (attempt ${done.attempts}), resumed from its last checkpoint and ended ${JobState[done.state]}`,
  };
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'patchwork-system-'));
  nats = new NatsServer(await freePort(), path.join(root, 'nats'));
  await nats.start();
  const prefix = `sys${randomUUID().slice(0, 8)}_`;
  for (const service of SERVICES) {
    const env = {
      ...process.env,
      NATS_URL: nats.url,
      PATCHWORK_NATS_PREFIX: prefix,
      PATCHWORK_DATA_DIR: path.join(root, service),
      PATCHWORK_BACKEND: 'wasm',
      PATCHWORK_LOG_LEVEL: 'warn',
      // A killed worker's job comes back after this long.
      PATCHWORK_ACK_WAIT_MS: '5000',
    };
    processes.set(service, new ServiceProcess(service, await freePort(), env));
  }
  await Promise.all([...processes.values()].map((p) => p.start()));
  clients = connectLifecycle(Object.fromEntries([...processes].map(([s, p]) => [s, `127.0.0.1:${p.port}`])) as Record<Service, string>);
  const pending: Promise<void>[] = [];
  result = await runLifecycle(clients, {
    runId: `system-${randomUUID().slice(0, 8)}`,
    workDir: path.join(root, 'work'),
    fabric: 'nats (5 service processes)',
    trainSteps: 40,
    routedPerTask: 8,
    faults: () => faults,
    onJobSubmitted: async (step, jobId) => {
      if (step === 'train digits-lower') pending.push(killTrainerMidJob(jobId));
      if (step === 'merge task_arithmetic') {
        // Mid-lifecycle, between two jobs' submissions and while this one runs.
        await nats.restart();
        record('restart nats-server (SIGTERM, same port and store)', 'services reconnected; the merge job in flight completed once');
      }
    },
  });
  await Promise.all(pending);
  // What was injected and what followed, in the CI log.
  process.stdout.write(`system test faults:\n${faults.map((f) => `  ${f.at} ${f.injected} -> ${f.observed}`).join('\n')}\n`);
});

afterAll(async () => {
  clients?.close();
  await Promise.all([...processes.values()].map((p) => p.stop()));
  await nats?.stop();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the whole lifecycle over gRPC, five service processes on NATS, with faults', () => {
  it('ends with two trained adapters, a gated merge, a compatibility report and routed predictions', () => {
    expect(result.training.map((t) => t.task)).toEqual(['digits-lower', 'digits-upper']);
    for (const t of result.training) expect(t.metrics.test_accuracy).toBeGreaterThan(0.4);
    expect(result.compress.paramsAfter).toBeLessThan(result.compress.paramsBefore);
    expect(result.merge.rows.map((r) => r.method)).toEqual(['pcb', 'task_arithmetic']);
    expect(['promoted', 'rejected']).toContain(result.evaluation.gate.decision);
    expect(result.evaluation.gate.reasons.length).toBe(2);
    expect(result.evaluation.compatibility.samples).toBeGreaterThan(0);
    expect(result.retrieval.inputs).toBe(16);
  });

  it('survived a SIGKILLed train worker and a NATS restart, and records both', () => {
    expect(faults.map((f) => f.injected)).toEqual([expect.stringMatching(/^SIGKILL the train replica/), expect.stringMatching(/^restart nats-server/)]);
    expect(faults[0].observed).toMatch(/attempt [2-9].*SUCCEEDED/);
    expect(result.faults).toHaveLength(2);
  });

  it('stored each artifact exactly once, with its lineage', async () => {
    const list = async (kind: ArtifactKind) => (await callUnary(clients.artifacts, 'listArtifacts', { kind, baseModelDigest: '' })).artifacts;
    const adapters = await list(ArtifactKind.ARTIFACT_KIND_ADAPTER);
    const models = await list(ArtifactKind.ARTIFACT_KIND_MODEL);
    const all = [...adapters, ...models];
    expect(new Set(all.map((a) => a.digest)).size).toBe(all.length);
    // Two adapters, whatever the redeliveries: a rerun writes the same content, hence the same record.
    const trained = adapters.filter((a) => a.labels['producer'] === 'train');
    expect(trained.map((a) => a.digest).sort()).toEqual(result.training.map((t) => t.digest).sort());
    for (const a of trained) expect(a.baseModelDigest).toBe(result.backbone.digest);
    const merged = models.find((m) => m.digest === result.merge.digest);
    expect(merged?.parents).toEqual(expect.arrayContaining([result.backbone.digest, ...result.training.map((t) => t.digest)]));
    const compressed = models.find((m) => m.digest === result.compress.digest);
    expect(compressed?.parents).toEqual([result.backbone.digest]);
  });

  it('ran no job twice to completion and lost none', async () => {
    for (const id of [result.backbone.jobId, result.compress.jobId, ...result.training.map((t) => t.jobId), result.merge.jobId, result.evaluation.jobId]) {
      const job = await callUnary(clients.jobs, 'getJob', { jobId: id });
      expect(job.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      expect(job.outputs).toHaveLength(1);
    }
    const killed = await callUnary(clients.jobs, 'getJob', { jobId: result.training[0].jobId });
    expect(killed.attempts).toBeGreaterThanOrEqual(2);
  });

  it('renders the report of this run, every figure present in headless Chromium', async () => {
    const chromiumPath = '/usr/bin/chromium';
    if (!existsSync(chromiumPath) && process.env.CI !== 'true') {
      process.stderr.write(`system test: report check skipped, ${chromiumPath} not found\n`);
      return;
    }
    const report = await renderReport(result, path.join(root, 'report'));
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(report.html).href, { waitUntil: 'load' });
      const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.getAttribute('src'), width: (i as unknown as { naturalWidth: number }).naturalWidth })));
      expect(images.length).toBe(report.figures.length);
      for (const image of images) expect(image.width).toBeGreaterThan(0);
      expect(await page.textContent('body')).toContain(result.merge.digest.slice(0, 12));
    } finally {
      await browser.close();
    }
  });
});
