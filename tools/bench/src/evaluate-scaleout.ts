// Evaluation throughput with 1 and 2 worker replicas on real NATS, same run, same job.
//   npx tsx tools/bench/src/evaluate-scaleout.ts [--docs 360] [--hidden 128] [--layers 4]
// Each replica is `patchwork serve --only evaluate` in its own process; this process hosts the API
// only. Needs a nats-server with JetStream (NATS_URL, default nats://127.0.0.1:4222).
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EvaluateClient, JobsClient, JobState, SubmitEvaluationRequest } from '@patchwork/contracts';
import { createModel, RawConfig } from '@patchwork/models';
import { callUnary, createGrpcClient, deleteNatsNamespace, readPlatformConfig, serve } from '@patchwork/platform';
import { evaluateServiceModule } from '@patchwork/service-evaluate';
import { tf, writeSafetensors } from '@patchwork/tensor';

const repo = path.resolve(__dirname, '../../..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

/** A random ViT for 8x8 digits, big enough that evaluation is compute-bound. */
async function writeVit(dir: string, hidden: number, layers: number): Promise<void> {
  const config: RawConfig = {
    model_type: 'vit', architectures: ['ViTForImageClassification'], hidden_size: hidden, num_hidden_layers: layers,
    num_attention_heads: 4, intermediate_size: 4 * hidden, image_size: 8, patch_size: 2, num_channels: 1, num_labels: 10,
  };
  const shapes: [string, number[]][] = [
    ['vit.embeddings.cls_token', [1, 1, hidden]],
    ['vit.embeddings.position_embeddings', [1, 17, hidden]],
    ['vit.embeddings.patch_embeddings.projection.weight', [hidden, 1, 2, 2]],
    ['vit.embeddings.patch_embeddings.projection.bias', [hidden]],
    ['vit.layernorm.weight', [hidden]], ['vit.layernorm.bias', [hidden]],
    ['classifier.weight', [10, hidden]], ['classifier.bias', [10]],
  ];
  for (let l = 0; l < layers; l++) {
    const p = `vit.encoder.layer.${l}`;
    for (const m of ['attention.attention.query', 'attention.attention.key', 'attention.attention.value', 'attention.output.dense']) shapes.push([`${p}.${m}.weight`, [hidden, hidden]], [`${p}.${m}.bias`, [hidden]]);
    shapes.push([`${p}.intermediate.dense.weight`, [4 * hidden, hidden]], [`${p}.intermediate.dense.bias`, [4 * hidden]]);
    shapes.push([`${p}.output.dense.weight`, [hidden, 4 * hidden]], [`${p}.output.dense.bias`, [hidden]]);
    for (const n of ['layernorm_before', 'layernorm_after']) shapes.push([`${p}.${n}.weight`, [hidden]], [`${p}.${n}.bias`, [hidden]]);
  }
  const weights = new Map(shapes.map(([k, s], i) => [k, tf.randomNormal(s, 0, 0.05, 'float32', i)]));
  const model = createModel(config, weights);
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of model.weights) tensors[k] = { dtype: 'F32', shape: t.shape, data: t.dataSync() as Float32Array };
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  model.dispose();
}

function replica(env: NodeJS.ProcessEnv, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(repo, 'tools/cli/bin/patchwork.js'), 'serve', '--only', 'evaluate', '--port', '0', '--data-dir', dataDir], {
    env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d) => String(d).includes('serving') && resolve(child));
    child.once('exit', (code) => reject(new Error(`replica exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const docs = arg('docs', 179);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-eval-'));
  const model = path.join(root, 'vit');
  await writeVit(model, arg('hidden', 128), arg('layers', 4));
  const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
  const rows: { replicas: number; seconds: number }[] = [];
  for (const replicas of [1, 2]) {
    const prefix = `bench_${randomUUID().slice(0, 8)}_`;
    const env = { ...process.env, NATS_URL: natsUrl, PATCHWORK_NATS_PREFIX: prefix, PATCHWORK_MODEL_PATH_ROOTS: root, PATCHWORK_LOG_LEVEL: 'error' };
    const config = readPlatformConfig({}, { natsServers: natsUrl, natsPrefix: prefix, dataDir: path.join(root, `api-${replicas}`), grpcPort: '0', services: 'evaluate', workers: 'false', modelPathRoots: root, logLevel: 'error' });
    const api = await serve({ config, modules: [evaluateServiceModule] });
    const children = await Promise.all(Array.from({ length: replicas }, (_, i) => replica(env, path.join(root, `r${replicas}-${i}`))));
    const address = `127.0.0.1:${api.port}`;
    const evaluate = createGrpcClient(EvaluateClient, { address });
    const jobs = createGrpcClient(JobsClient, { address });
    try {
      const started = performance.now();
      const { job } = await callUnary(evaluate, 'submitEvaluation', SubmitEvaluationRequest.fromPartial({
        requestId: randomUUID(), model: { source: { $case: 'path', value: model } }, task: 'digits', batchSize: 8, shardSize: 16, limit: docs,
      }));
      for (;;) {
        const state = (await callUnary(jobs, 'getJob', { jobId: job!.id })).state;
        if (state === JobState.JOB_STATE_SUCCEEDED) break;
        if (state === JobState.JOB_STATE_FAILED) throw new Error('evaluation failed');
        await new Promise((r) => setTimeout(r, 50));
      }
      rows.push({ replicas, seconds: (performance.now() - started) / 1000 });
    } finally {
      evaluate.close();
      jobs.close();
      for (const c of children) c.kill('SIGKILL');
      await api.close();
      await deleteNatsNamespace({ servers: natsUrl }, prefix);
    }
  }
  console.log(`evaluation of ${docs} digits documents, random ViT, shards of 16, on ${os.cpus().length} CPU(s)`);
  for (const r of rows) console.log(`  ${r.replicas} replica(s): ${r.seconds.toFixed(2)} s, ${(docs / r.seconds).toFixed(1)} docs/s`);
  console.log(`  speed-up with 2 replicas: ${(rows[0].seconds / rows[1].seconds).toFixed(2)}x (goal >= 1.6x)`);
  await fs.rm(root, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
