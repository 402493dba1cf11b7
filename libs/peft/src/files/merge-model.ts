import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { type Model, loadModel } from '@patchwork/models';
import { Checkpoint, type DType, encodeValues, writeShardedCheckpoint } from '@patchwork/tensor';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { loadAdapter } from '../io/load-adapter';

export interface MergeAdapterOptions {
  modelDir: string;
  adapterDir: string;
  /** Must not exist or be empty; the merged model appears there whole or not at all. */
  outDir: string;
  /** Largest shard in bytes; default 5 GB, transformers' `max_shard_size="5GB"`. */
  maxShardBytes?: number;
}

export interface MergeAdapterResult {
  modelType: string;
  peftType: string;
  mergedModules: string[];
  files: string[];
}

const WEIGHT_FILE = /\.(safetensors|bin|pt|pth|h5|msgpack|ckpt)$|\.safetensors\.index\.json$|\.bin\.index\.json$/;

/** Each canonical parameter's dtype in the base checkpoint, so the merged model keeps it. */
async function sourceDtypes(dir: string, model: Model): Promise<Map<string, DType>> {
  const checkpoint = await Checkpoint.open(dir);
  try {
    const out = new Map<string, DType>();
    const prefix = model.architecture.basePrefix;
    for (const name of checkpoint.names()) {
      const plain = name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      const key = [plain, prefix + plain].map((k) => model.canonicalKey(k)).find((k) => model.weights.has(k));
      if (key !== undefined && !out.has(key)) out.set(key, checkpoint.info(name).dtype);
    }
    return out;
  } finally {
    await checkpoint.close();
  }
}

async function assertUsableOutDir(dir: string): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory() || (await readdir(dir)).length > 0) {
      throw new PatchworkError('ALREADY_EXISTS', `output ${dir} already exists and is not an empty directory`, { violations: [{ field: 'outDir', description: 'already exists' }] });
    }
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
  }
}

/**
 * Merges an adapter into its base model and writes a full Hugging Face model directory (behind
 * `patchwork adapter merge`): safetensors (sharded past `maxShardBytes`) with every parameter in
 * the base checkpoint's dtype, under the canonical keys, plus config.json and the base
 * directory's other non-weight files (tokenizer, generation config). Streams tensor by tensor.
 */
export async function mergeAdapterIntoModel(options: MergeAdapterOptions): Promise<MergeAdapterResult> {
  for (const key of ['modelDir', 'adapterDir', 'outDir'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') throw invalidArgument(key, 'is required');
  }
  const outDir = nodePath.resolve(options.outDir);
  await assertUsableOutDir(outDir);
  const model = await loadModel(options.modelDir);
  try {
    const adapter = await loadAdapter(options.adapterDir, model);
    const staging = `${outDir}.partial-${randomBytes(6).toString('hex')}`;
    try {
      const dtypes = await sourceDtypes(options.modelDir, model);
      const specs = [...model.weights].map(([name, t]) => ({ name, dtype: dtypes.get(name) ?? 'F32', shape: [...t.shape] }));
      await mkdir(nodePath.dirname(outDir), { recursive: true });
      const { files } = await writeShardedCheckpoint(
        staging,
        specs,
        (name, spec) => {
          const t = adapter.mergedParameter(name, model.weights);
          try {
            return encodeValues(t.dataSync() as Float32Array, spec.dtype, `merged ${name}`);
          } finally {
            t.dispose();
          }
        },
        { maxShardBytes: options.maxShardBytes ?? 5_000_000_000, metadata: { format: 'pt' } },
      );
      for (const entry of await readdir(options.modelDir, { withFileTypes: true })) {
        if (entry.isFile() && !WEIGHT_FILE.test(entry.name)) await copyFile(nodePath.join(options.modelDir, entry.name), nodePath.join(staging, entry.name));
      }
      await rm(outDir, { recursive: true, force: true });
      await rename(staging, outDir);
      return {
        modelType: model.modelType,
        peftType: adapter.peftType,
        mergedModules: [...adapter.modules.keys()],
        files: files.map((f) => nodePath.join(outDir, nodePath.basename(f))),
      };
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    } finally {
      adapter.dispose();
    }
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    model.dispose();
  }
}
