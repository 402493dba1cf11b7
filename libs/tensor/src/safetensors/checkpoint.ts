import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';
import { readFile, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { TensorInfo } from './header';
import { SafetensorsFile } from './reader';

export interface CheckpointOptions {
  /** Index file name inside a directory; default `model.safetensors.index.json`. */
  indexName?: string;
  /** Single-file name inside a directory; default `model.safetensors` (PEFT: `adapter_model.safetensors`). */
  fileName?: string;
}

interface ShardIndex {
  metadata: Record<string, string>;
  weightMap: Map<string, string>;
}

async function kindOf(path: string): Promise<'file' | 'dir' | 'missing'> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

function badIndex(path: string, problem: string): PatchworkError {
  return new PatchworkError('INVALID_ARGUMENT', `invalid checkpoint index ${path}: ${problem}`, { violations: [{ field: path, description: problem }] });
}

async function readIndex(path: string): Promise<ShardIndex> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw badIndex(path, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badIndex(path, 'must be a JSON object');
  const { weight_map: weightMap, metadata } = parsed as Record<string, unknown>;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) throw badIndex(path, 'weight_map must be an object of tensor name -> file name');
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap)) {
    // Shard names are plain file names beside the index; anything else could read outside the checkpoint.
    if (typeof file !== 'string' || file === '' || file !== nodePath.basename(file) || file === '.' || file === '..') {
      throw badIndex(path, `weight_map.${name} must be a file name in the index's directory, got ${JSON.stringify(file)}`);
    }
    map.set(name, file);
  }
  const meta: Record<string, string> = {};
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object' || Array.isArray(metadata)) throw badIndex(path, 'metadata must be an object');
    // transformers stores numbers here (total_size); they are kept as their decimal text.
    for (const [key, value] of Object.entries(metadata)) meta[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { metadata: meta, weightMap: map };
}

/**
 * A Hugging Face checkpoint: one `.safetensors` file, or a directory holding either the sharded
 * layout (`*.safetensors.index.json` + shards, preferred when present) or a single file.
 * `metadata` is the single file's `__metadata__`, or the index's `metadata` for sharded ones.
 */
export class Checkpoint {
  readonly files: SafetensorsFile[];
  readonly metadata: Record<string, string>;
  private readonly owner: Map<string, SafetensorsFile>;

  private constructor(files: SafetensorsFile[], metadata: Record<string, string>, owner: Map<string, SafetensorsFile>) {
    this.files = files;
    this.metadata = metadata;
    this.owner = owner;
  }

  static async open(pathOrDir: string, options: CheckpointOptions = {}): Promise<Checkpoint> {
    const kind = await kindOf(pathOrDir);
    if (kind === 'missing') throw new PatchworkError('NOT_FOUND', `checkpoint ${pathOrDir} does not exist`);
    if (kind === 'file') {
      return pathOrDir.endsWith('.json') ? Checkpoint.openSharded(pathOrDir) : Checkpoint.openSingle(pathOrDir);
    }
    const indexPath = nodePath.join(pathOrDir, options.indexName ?? 'model.safetensors.index.json');
    if ((await kindOf(indexPath)) === 'file') return Checkpoint.openSharded(indexPath);
    const filePath = nodePath.join(pathOrDir, options.fileName ?? 'model.safetensors');
    if ((await kindOf(filePath)) === 'file') return Checkpoint.openSingle(filePath);
    throw new PatchworkError('NOT_FOUND', `checkpoint directory ${pathOrDir} has neither ${nodePath.basename(indexPath)} nor ${nodePath.basename(filePath)}`);
  }

  private static async openSingle(path: string): Promise<Checkpoint> {
    const file = await SafetensorsFile.open(path);
    return new Checkpoint([file], file.metadata, new Map(file.tensors.map((t) => [t.name, file])));
  }

  private static async openSharded(indexPath: string): Promise<Checkpoint> {
    const index = await readIndex(indexPath);
    const dir = nodePath.dirname(indexPath);
    const files: SafetensorsFile[] = [];
    const byShard = new Map<string, SafetensorsFile>();
    try {
      for (const shard of new Set(index.weightMap.values())) {
        const file = await SafetensorsFile.open(nodePath.join(dir, shard));
        files.push(file);
        byShard.set(shard, file);
      }
      const owner = new Map<string, SafetensorsFile>();
      for (const [name, shard] of index.weightMap) {
        const file = byShard.get(shard) as SafetensorsFile;
        if (!file.has(name)) throw badIndex(indexPath, `weight_map says ${JSON.stringify(name)} is in ${shard}, but that shard has no such tensor`);
        owner.set(name, file);
      }
      return new Checkpoint(files, index.metadata, owner);
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
  }

  /** Tensor names: file order for a single file, index order for shards. */
  names(): string[] {
    return [...this.owner.keys()];
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }

  info(name: string): TensorInfo & { file: string } {
    return { ...this.fileOf(name).info(name), file: this.fileOf(name).path };
  }

  readRaw(name: string): Promise<Uint8Array> {
    return this.fileOf(name).readRaw(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.fileOf(name).readFloat32(name);
  }

  readTensor(name: string): Promise<tf.Tensor> {
    return this.fileOf(name).readTensor(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private fileOf(name: string): SafetensorsFile {
    const file = this.owner.get(name);
    if (file === undefined) throw new PatchworkError('NOT_FOUND', `tensor ${JSON.stringify(name)} not found in checkpoint ${this.files.map((f) => f.path).join(', ')}`);
    return file;
  }
}
