import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, RetrieveClient } from '@patchwork/contracts';
import { LoraAdapter } from '@patchwork/peft';
import { createGrpcClient, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { MosLearner, saveMosAdapterSet } from '@patchwork/retrieve';
import { saveModelDir } from '@patchwork/retrieve/src/testing/mos-fixture';
import { squares, tinyVit } from '@patchwork/retrieve/src/testing/tiny-vit';
import { createRetrieveServiceModule } from '../retrieve-service';
import { pixelBlob } from './pixel-blob';
import { sendCase } from './fuzz-cases';
import { registerMosAdapterSet } from '../mos-registry';

/** What the fuzzer may name: registered digests of every kind the service distinguishes. */
export interface FuzzDigests {
  /** The 8x8 one-channel ViT everything is registered for. */
  readonly base: string;
  /** A model with the same geometry and no adapters of its own. */
  readonly otherBase: string;
  readonly lora: string;
  readonly router: string;
  readonly tasks: readonly string[];
}

export interface FuzzTarget {
  readonly platform: RunningPlatform;
  readonly address: string;
  readonly client: RetrieveClient;
  readonly digests: FuzzDigests;
  close(): Promise<void>;
}

/**
 * A retrieve service on loopback (port 0) with a base model, a second base, a LoRA adapter and a
 * two-task MOS adapter set registered: every branch of Retrieve / Predict / PredictMany reachable.
 */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'retrieve-fuzz-')));
  const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', services: 'retrieve', logLevel: 'silent' });
  const platform = await serve({ config, modules: [createRetrieveServiceModule()] });
  const address = `127.0.0.1:${platform.port}`;
  const client = createGrpcClient(RetrieveClient, { address });
  const model = tinyVit(5);
  const other = tinyVit(6);
  const learner = MosLearner.create(model, { adapter: { bottleneck: 2, dropout: 0 }, training: { epochs: 2, batchSize: 16 }, alignment: { epochs: 2, samplesPerClass: 8 }, seed: 1 });
  try {
    await learner.learnTask(squares([0, 1], 8, 1));
    await learner.learnTask(squares([2, 3], 8, 2));
    const artifacts = platform.runtime.artifacts;
    const put = async (dir: string, kind: ArtifactKind, baseModelDigest?: string) =>
      (await artifacts.putDirectory(dir, { kind, format: kind === ArtifactKind.ARTIFACT_KIND_MODEL ? 'hf-safetensors' : 'peft', baseModelDigest })).digest;
    const base = await put(await saveModelDir(model, path.join(root, 'base')), ArtifactKind.ARTIFACT_KIND_MODEL);
    const otherBase = await put(await saveModelDir(other, path.join(root, 'other')), ArtifactKind.ARTIFACT_KIND_MODEL);
    const adapter = LoraAdapter.create(model, { r: 2, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 2 });
    await adapter.save(path.join(root, 'lora'));
    adapter.dispose();
    const lora = await put(path.join(root, 'lora'), ArtifactKind.ARTIFACT_KIND_ADAPTER, base);
    const set = await registerMosAdapterSet(artifacts, await saveMosAdapterSet(learner, path.join(root, 'mos')), { baseModelDigest: base });
    return {
      platform,
      address,
      client,
      digests: { base, otherBase, lora, router: set.router, tasks: set.tasks },
      close: async () => {
        client.close();
        await platform.close();
        await fs.rm(root, { recursive: true, force: true });
      },
    };
  } catch (e) {
    client.close();
    await platform.close();
    await fs.rm(root, { recursive: true, force: true });
    throw e;
  } finally {
    learner.dispose();
    model.dispose();
    other.dispose();
  }
}

/**
 * Loads everything a fuzz run can reach (both models, every adapter, the router), so that the
 * tensor count afterwards only moves on a leak. Throws if a valid request fails.
 */
export async function warmUp(target: FuzzTarget): Promise<void> {
  const { client, digests: d } = target;
  const image = pixelBlob(1, [0.1, 0.7]);
  for (const adapterDigest of ['', d.lora, ...d.tasks]) {
    const outcome = await sendCase(client, { rpc: 'predict', request: { baseModelDigest: d.base, inputsSafetensors: image, adapterDigest }, shape: 'warm-up', allowed: ['OK'] });
    if (outcome !== 'OK') throw new Error(`warm-up predict through ${adapterDigest || 'auto'} failed: ${outcome}`);
  }
  const other = await sendCase(client, { rpc: 'retrieve', request: { baseModelDigest: d.otherBase, inputsSafetensors: image, topK: 0 }, shape: 'warm-up', allowed: ['FAILED_PRECONDITION'] });
  if (other !== 'FAILED_PRECONDITION') throw new Error(`warm-up retrieve on the other base: expected FAILED_PRECONDITION, got ${other}`);
}
