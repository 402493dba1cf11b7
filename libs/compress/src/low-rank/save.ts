import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { type DType, type TensorSpec, encodeValues, tf, writeShardedCheckpoint } from '@patchwork/tensor';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { storedFactorShapes } from '../factorize/matrix-view';
import { FACTOR_U_SUFFIX, FACTOR_V_SUFFIX } from './low-rank-config';
import type { LowRankModel } from './low-rank-model';

export interface SaveLowRankOptions {
  /** Largest shard in bytes; default 5 GB (transformers' `max_shard_size="5GB"`). */
  readonly maxShardBytes?: number;
  /**
   * On-disk dtype per dense parameter key (the source checkpoint's, say); factors take their
   * module weight's dtype. Default F32 everywhere.
   */
  readonly dtypes?: ReadonlyMap<string, DType>;
  /** Copy this directory's non-weight files (tokenizer, generation config) beside the model. */
  readonly copyFilesFrom?: string;
}

export interface SaveLowRankResult {
  readonly dir: string;
  /** Weight files written (shards, then the index if sharded), and config.json last. */
  readonly files: string[];
}

const WEIGHT_FILE = /\.(safetensors|bin|pt|pth|h5|msgpack|ckpt)$|\.safetensors\.index\.json$|\.bin\.index\.json$/;

/** `dir` must not exist or be an empty directory, so an existing model is never overwritten. */
export async function assertUsableOutDir(dir: string, field = 'outDir'): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory() || (await readdir(dir)).length > 0) {
      throw new PatchworkError('ALREADY_EXISTS', `output ${dir} already exists and is not an empty directory`, { violations: [{ field, description: 'already exists' }] });
    }
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw PatchworkError.from(e);
  }
}

/** A tensor's values as float32, in the given dtype's bytes. Disposes `t`. */
function encodeAndDispose(t: tf.Tensor, dtype: DType, what: string): Uint8Array {
  try {
    return encodeValues(t.dataSync() as Float32Array, dtype, what);
  } finally {
    t.dispose();
  }
}

/**
 * Writes a low-rank model in the Hugging Face layout: config.json with the `patchwork_low_rank`
 * entry, and safetensors (sharded past `maxShardBytes`) holding every real parameter under its
 * canonical key, each factored module's `<module>.weight_u` / `<module>.weight_v` in place of its
 * weight (see LOW_RANK_CONFIG_KEY for the layout). Streams tensor by tensor into a staging
 * directory that is renamed into place at the end, so `outDir` appears whole or not at all.
 */
export async function saveLowRankModel(lowRank: LowRankModel, outDir: string, options: SaveLowRankOptions = {}): Promise<SaveLowRankResult> {
  if (typeof outDir !== 'string' || outDir === '') throw invalidArgument('outDir', 'is required');
  const dir = nodePath.resolve(outDir);
  await assertUsableOutDir(dir);
  const dtypeOf = (key: string): DType => options.dtypes?.get(key) ?? 'F32';
  const specs: TensorSpec[] = [];
  const produce = new Map<string, () => Uint8Array>();
  const model = lowRank.model;
  for (const [key, shape] of model.parameterShapes) {
    if (!lowRank.isFactoredWeight(key)) {
      specs.push({ name: key, dtype: dtypeOf(key), shape: [...shape] });
      produce.set(key, () => encodeValues(model.weights.get(key)?.dataSync() as Float32Array, dtypeOf(key), key));
      continue;
    }
    const module = key.slice(0, -'.weight'.length);
    const factor = lowRank.factors.get(module);
    if (factor === undefined) throw new PatchworkError('INTERNAL', `${key} is marked factored but has no factors`);
    const shapes = storedFactorShapes(shape, factor.rank);
    // Both stored factors come from one computation; each is handed out once, so the pair is
    // computed once per module whichever order the writer asks for them in.
    let pending: { u?: tf.Tensor; v?: tf.Tensor } | undefined;
    for (const [suffix, part, partShape] of [[FACTOR_U_SUFFIX, 'u', shapes.u], [FACTOR_V_SUFFIX, 'v', shapes.v]] as const) {
      const name = module + suffix;
      specs.push({ name, dtype: dtypeOf(key), shape: partShape });
      produce.set(name, () => {
        pending ??= lowRank.storedFactors(module);
        const keep = pending[part] as tf.Tensor;
        pending[part] = undefined;
        if (pending.u === undefined && pending.v === undefined) pending = undefined;
        return encodeAndDispose(keep, dtypeOf(key), name);
      });
    }
  }
  const staging = `${dir}.partial-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(nodePath.dirname(dir), { recursive: true });
    const { files } = await writeShardedCheckpoint(staging, specs, (name) => (produce.get(name) as () => Uint8Array)(), {
      maxShardBytes: options.maxShardBytes ?? 5_000_000_000,
      metadata: { format: 'pt' },
    });
    if (options.copyFilesFrom !== undefined) {
      for (const entry of await readdir(options.copyFilesFrom, { withFileTypes: true })) {
        if (entry.isFile() && entry.name !== 'config.json' && !WEIGHT_FILE.test(entry.name)) {
          await copyFile(nodePath.join(options.copyFilesFrom, entry.name), nodePath.join(staging, entry.name));
        }
      }
    }
    await writeFile(nodePath.join(staging, 'config.json'), `${JSON.stringify(lowRank.config, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return { dir, files: [...files.map((f) => nodePath.join(dir, nodePath.basename(f))), nodePath.join(dir, 'config.json')] };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw PatchworkError.from(e);
  }
}
