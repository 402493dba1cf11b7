// Predict under load on loopback: p50/p99 latency and requests/s at concurrency 1, 8 and 32, with
// 1 and with 8 distinct adapters, through two retrieve services in this process that differ only
// in batching (continuous batching across adapters on, or every request its own forward pass),
// and the throughput ratio between them. A last block times auto routing through a MOS set.
//   npx tsx tools/bench/src/retrieve-load.ts [--seconds 4] [--backend wasm|cpu] [--concurrency 1,8,32] [--adapters 1,8]
//     [--max-batch-rows 64] [--max-wait-ms 5]
// The model has the shapes of the vit-digits backbone (8x8 images, patch 2, hidden 64, 2 blocks)
// with random weights; adapters are LoRA r=8 on query and value. Client and servers share this
// process (one event loop), so absolute figures include the client's own work; the ratio compares
// like with like.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { recipeFor, type VitRecipe } from '@patchwork/backbones';
import { ArtifactKind, type PredictRequest, RetrieveClient } from '@patchwork/contracts';
import { type RawConfig } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { callUnary, createGrpcClient, readPlatformConfig, type RunningPlatform, serve } from '@patchwork/platform';
import { DEFAULT_BATCHING, saveMosAdapterSet } from '@patchwork/retrieve';
import { FAST_MOS, learnSplitDigits, saveModelDir } from '@patchwork/retrieve/src/testing/mos-fixture';
import { TINY_VIT, tinyVit } from '@patchwork/retrieve/src/testing/tiny-vit';
import { createRetrieveServiceModule, registerMosAdapterSet } from '@patchwork/service-retrieve';
import { pixelBlob } from '@patchwork/service-retrieve/src/testing/pixel-blob';
import { initBackend, SeededRandom } from '@patchwork/tensor';
import { fixed, formatTable } from './table';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    backend: { type: 'string', default: 'wasm' },
    concurrency: { type: 'string', default: '1,8,32' },
    adapters: { type: 'string', default: '1,8' },
    'max-batch-rows': { type: 'string', default: String(DEFAULT_BATCHING.maxBatchRows) },
    'max-wait-ms': { type: 'string', default: String(DEFAULT_BATCHING.maxWaitMs) },
  },
});
const SECONDS = Number(flags.seconds);
const CONCURRENCY = (flags.concurrency as string).split(',').map(Number);
const ADAPTER_COUNTS = (flags.adapters as string).split(',').map(Number);
const MAX_BATCH_ROWS = Number(flags['max-batch-rows']);
const MAX_WAIT_MS = Number(flags['max-wait-ms']);

/** The vit-digits backbone's configuration, from its recipe (weights are random here). */
function vitDigitsConfig(): RawConfig {
  const r = recipeFor('vit-digits') as VitRecipe;
  return {
    ...TINY_VIT,
    hidden_size: r.hidden,
    num_hidden_layers: r.layers,
    num_attention_heads: r.heads,
    intermediate_size: r.intermediate,
    patch_size: r.patchSize,
    image_size: 8,
    num_channels: 1,
    id2label: Object.fromEntries(r.classes.map((c, i) => [String(i), String(c)])),
  };
}

interface Server {
  readonly name: string;
  readonly platform: RunningPlatform;
  readonly client: RetrieveClient;
  readonly base: string;
  readonly loras: string[];
}

async function startServer(name: string, root: string, batching: boolean, dirs: { base: string; loras: string[]; mos: Awaited<ReturnType<typeof saveMosAdapterSet>> }): Promise<Server> {
  const config = readPlatformConfig({}, { dataDir: path.join(root, `data-${name}`), grpcPort: '0', services: 'retrieve', logLevel: 'silent' });
  const platform = await serve({ config, modules: [createRetrieveServiceModule({ batching: { ...DEFAULT_BATCHING, enabled: batching, maxBatchRows: MAX_BATCH_ROWS, maxWaitMs: MAX_WAIT_MS } })] });
  const client = createGrpcClient(RetrieveClient, { address: `127.0.0.1:${platform.port}` });
  const artifacts = platform.runtime.artifacts;
  const base = (await artifacts.putDirectory(dirs.base, { kind: ArtifactKind.ARTIFACT_KIND_MODEL, format: 'hf-safetensors' })).digest;
  const loras: string[] = [];
  for (const dir of dirs.loras) loras.push((await artifacts.putDirectory(dir, { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: base })).digest);
  await registerMosAdapterSet(artifacts, dirs.mos, { baseModelDigest: base });
  return { name, platform, client, base, loras };
}

interface LoadResult {
  readonly latencies: number[];
  readonly seconds: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A closed loop: `concurrency` clients send back to back for `seconds`. */
async function load(client: RetrieveClient, request: (i: number) => PredictRequest, concurrency: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await callUnary(client, 'predict', request(next++));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - start) / 1000 };
}

function merged(parts: readonly LoadResult[]): { rps: number; p50: number; p99: number } {
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const seconds = parts.reduce((t, p) => t + p.seconds, 0);
  return { rps: latencies.length / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const backend = await initBackend({ backend: flags.backend as never });
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'retrieve-load-'));
  const servers: Server[] = [];
  try {
    const model = tinyVit(1, vitDigitsConfig());
    const loras: string[] = [];
    for (let i = 0; i < Math.max(...ADAPTER_COUNTS); i++) {
      const adapter = LoraAdapter.create(model, { r: 8, lora_alpha: 16, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 10 + i });
      const dir = path.join(root, `lora-${i}`);
      await adapter.save(dir);
      adapter.dispose();
      loras.push(dir);
    }
    const trainStarted = performance.now();
    const { learner, test } = await learnSplitDigits(model, { tasks: 5, perClass: 20, mos: FAST_MOS });
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    const mos = await saveMosAdapterSet(learner, path.join(root, 'mos'));
    const refinements = learner.retrieve(test.inputs).reduce((n, r) => n + r.refinements, 0) / test.inputs.length;
    learner.dispose();
    const dirs = { base: await saveModelDir(model, path.join(root, 'base')), loras, mos };
    model.dispose();
    servers.push(await startServer('batched', root, true, dirs), await startServer('unbatched', root, false, dirs));

    const rng = new SeededRandom(5);
    const images = Array.from({ length: 64 }, () => pixelBlob(1, Array.from(rng.fillUniform(new Float32Array(64), 0, 1))));
    const digits = test.inputs.slice(0, 64).map((x) => pixelBlob(1, Array.from(x)));
    for (const s of servers) {
      // Load the base, every adapter and the router, and warm the JIT on both paths, before timing.
      for (const adapterDigest of [...s.loras, '']) await callUnary(s.client, 'predict', { baseModelDigest: s.base, inputsSafetensors: images[0], adapterDigest });
      for (const c of [1, 8]) await load(s.client, (i) => ({ baseModelDigest: s.base, inputsSafetensors: images[i % images.length], adapterDigest: i % 2 ? '' : s.loras[i % s.loras.length] }), c, 1);
    }

    console.log(`retrieve Predict load, loopback, ${describe(backend)}; ${SECONDS} s per cell and server (halves in the order batched, unbatched, unbatched, batched); machine load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min), ${os.cpus().length} CPUs`);
    console.log(`model: vit-digits shapes (hidden 64, 2 blocks, 8x8 images), random weights; adapters: LoRA r=8 on query,value; one image per request; batching: at most ${MAX_BATCH_ROWS} rows, waits at most ${MAX_WAIT_MS} ms for requests already received\n`);
    const rows: string[][] = [];
    // Each server runs two half-cells in the order on, off, off, on, so that a drift in the
    // machine's load during a cell weighs on both alike.
    const cell = async (label: string, concurrency: number, request: (s: Server) => (i: number) => PredictRequest) => {
      const parts: LoadResult[][] = [[], []];
      for (const k of [0, 1, 1, 0]) parts[k].push(await load(servers[k].client, request(servers[k]), concurrency, SECONDS / 2));
      const [on, off] = parts.map(merged);
      rows.push([label, String(concurrency), fixed(on.rps, 0), fixed(on.p50, 1), fixed(on.p99, 1), fixed(off.rps, 0), fixed(off.p50, 1), fixed(off.p99, 1), `${fixed(on.rps / off.rps, 2)}x`]);
      process.stderr.write(`  ${label}, concurrency ${concurrency}: ${rows[rows.length - 1].slice(2).join(' ')}\n`);
    };
    const HEADER = ['adapters', 'conc.', 'batched req/s', 'p50 ms', 'p99 ms', 'unbatched req/s', 'p50 ms', 'p99 ms', 'throughput ratio'];
    for (const n of ADAPTER_COUNTS) {
      for (const c of CONCURRENCY) {
        await cell(`${n} LoRA`, c, (s) => (i) => ({ baseModelDigest: s.base, inputsSafetensors: images[i % images.length], adapterDigest: s.loras[i % n] }));
      }
    }
    for (const c of CONCURRENCY) {
      await cell('auto: MOS, 5 tasks', c, (s) => (i) => ({ baseModelDigest: s.base, inputsSafetensors: digits[i % digits.length], adapterDigest: '' }));
    }
    console.log(formatTable(HEADER, rows));
    console.log(`\nMOS set: 5 Split-Digits tasks learnt on the random backbone in ${trainSeconds.toFixed(1)} s (20 images per digit); ${refinements.toFixed(2)} refinements per test image.`);
    console.log(`machine load after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (1/5/15 min)`);
  } finally {
    for (const s of servers) {
      s.client.close();
      await s.platform.close();
    }
    await fs.rm(root, { recursive: true, force: true });
  }
}

function describe(b: { name: string; threads: number }): string {
  return `${b.name} backend (${b.threads} thread${b.threads === 1 ? '' : 's'})`;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
