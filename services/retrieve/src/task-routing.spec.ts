import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, RetrieveClient } from '@patchwork/contracts';
import { loadTask } from '@patchwork/datasets';
import { saveTinyVit } from '@patchwork/evaluate/src/testing/tiny-models';
import { loadModel } from '@patchwork/models';
import { createAdapter } from '@patchwork/peft';
import { callUnary, createGrpcClient, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { TaskPrototypeRouter } from '@patchwork/retrieve';
import { initBackend, safetensorsBytes } from '@patchwork/tensor';
import { retrieveServiceModule } from './index';
import { EXAMPLES_PER_TASK } from './task-routing';

const TASKS = ['digits-lower', 'digits-upper'];
let root: string;
let platform: RunningPlatform;
let client: RetrieveClient;
let base: string;
const adapters = new Map<string, string>();

function imageBlob(pixels: Float32Array): Buffer {
  return safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [1, 1, 8, 8], data: pixels } });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'retrieve-task-routing-'));
  const vit = await saveTinyVit(path.join(root, 'vit'), 5);
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'retrieve', logLevel: 'silent' });
  platform = await serve({ config, modules: [retrieveServiceModule] });
  client = createGrpcClient(RetrieveClient, { address: `127.0.0.1:${platform.port}` });
  base = (await platform.runtime.artifacts.putDirectory(vit, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  const model = await loadModel(vit);
  for (const [i, task] of TASKS.entries()) {
    const adapter = createAdapter(model, { peft_type: 'LORA', r: 2, target_modules: ['query', 'value'] }, { seed: i + 1 });
    const dir = path.join(root, task);
    await adapter.save(dir);
    adapter.dispose();
    adapters.set(task, (await platform.runtime.artifacts.putDirectory(dir, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base, labels: { task } })).digest);
  }
  model.dispose();
}, 60_000);

afterAll(async () => {
  client?.close();
  await platform?.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('routing between adapters by the task they were trained for', () => {
  it('Retrieve and an auto Predict follow the prototype classifier on the base features', async () => {
    const model = await loadModel(path.join(root, 'vit'));
    const router = TaskPrototypeRouter.build(
      model,
      TASKS.map((task) => {
        const train = loadTask(task).train;
        return { adapterId: adapters.get(task) as string, images: (train.inputs as Float32Array[]).slice(0, EXAMPLES_PER_TASK), labels: train.labels.subarray(0, EXAMPLES_PER_TASK) };
      }),
    );
    try {
      for (const task of TASKS) {
        const test = loadTask(task).test;
        for (let i = 0; i < 3; i++) {
          const image = test.inputs[i] as Float32Array;
          const blob = imageBlob(image);
          const expected = router.rank([image]).map((r) => r.adapterId);
          const retrieved = await callUnary(client, 'retrieve', { baseModelDigest: base, inputsSafetensors: blob, topK: 2 });
          expect(retrieved.adapters.map((a) => a.adapterDigest)).toEqual(expected);
          const predicted = await callUnary(client, 'predict', { baseModelDigest: base, inputsSafetensors: blob, adapterDigest: '' });
          expect(predicted.adapterDigest).toBe(expected[0]);
        }
      }
    } finally {
      model.dispose();
    }
  }, 60_000);
});
