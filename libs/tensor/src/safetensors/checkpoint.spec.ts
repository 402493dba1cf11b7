import * as tf from '@tensorflow/tfjs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { withTempDir } from '../testing/temp-dir';
import { Checkpoint } from './checkpoint';
import { encodeFloat32 } from './codec';
import { TensorSpec } from './layout';
import { SafetensorsFile } from './reader';
import { planShards, writeShardedCheckpoint } from './sharded-writer';
import { writeSafetensors } from './write-file';

const fixtures = nodePath.resolve(__dirname, '../../../../../shared/fixtures/peer');
const gpt2 = nodePath.join(fixtures, 'models/gpt2');

describe('peer fixtures written by transformers', () => {
  it('reads the GPT-2 checkpoint: shapes agree with config.json, every tensor decodes', async () => {
    const config = JSON.parse(await readFile(nodePath.join(gpt2, 'config.json'), 'utf8'));
    const ckpt = await Checkpoint.open(gpt2);
    try {
      expect(ckpt.metadata).toEqual({ format: 'pt' });
      expect(ckpt.info('transformer.wte.weight')).toMatchObject({ dtype: 'F32', shape: [config.vocab_size, config.n_embd], file: nodePath.join(gpt2, 'model.safetensors') });
      expect(ckpt.info('transformer.h.1.attn.c_attn.weight').shape).toEqual([config.n_embd, 3 * config.n_embd]);
      expect(ckpt.names().filter((n) => n.startsWith('transformer.h.')).length % config.n_layer).toBe(0);
      for (const name of ckpt.names()) {
        const values = await ckpt.readFloat32(name);
        expect(values.length).toBe(ckpt.info(name).shape.reduce((a, b) => a * b, 1));
        expect(values.every(Number.isFinite)).toBe(true);
      }
      const ln = await ckpt.readTensor('transformer.ln_f.weight');
      expect(ln.dtype).toBe('float32');
      expect(Array.from(ln.dataSync())).toEqual(Array.from(await ckpt.readFloat32('transformer.ln_f.weight')));
      ln.dispose();
    } finally {
      await ckpt.close();
    }
  });

  it('reads the I64 inputs of reference.safetensors as int32 tensors', async () => {
    const file = await SafetensorsFile.open(nodePath.join(gpt2, 'reference.safetensors'));
    try {
      expect(file.info('input_ids')).toMatchObject({ dtype: 'I64', shape: [2, 10] });
      const ids = await file.readTensor('input_ids');
      const mask = await file.readTensor('attention_mask');
      expect(ids.dtype).toBe('int32');
      expect((ids.dataSync() as Int32Array).every((v) => v >= 0 && v < 100)).toBe(true);
      // Row 1 is padded from position 7 (fixtures/README.md).
      expect(mask.arraySync()).toEqual([Array(10).fill(1), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]]);
      tf.dispose([ids, mask]);
      expect(file.info('logits').shape).toEqual([2, 10, 100]);
    } finally {
      await file.close();
    }
  });

  it('opens a PEFT adapter directory by file name', async () => {
    const adapter = await Checkpoint.open(nodePath.join(fixtures, 'adapters/gpt2-lora'), { fileName: 'adapter_model.safetensors' });
    expect(adapter.names().some((n) => n.includes('lora_A'))).toBe(true);
    await adapter.close();
    await expect(Checkpoint.open(nodePath.join(fixtures, 'adapters/gpt2-lora'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

function specsAndData(count: number): { specs: TensorSpec[]; data: Map<string, Uint8Array> } {
  const specs: TensorSpec[] = [];
  const data = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const name = `layer.${i}.weight`;
    const values = Float32Array.from({ length: 4 * (i + 1) }, (_, j) => i + j / 8);
    specs.push({ name, dtype: i % 2 === 0 ? 'F32' : 'BF16', shape: [i + 1, 4] });
    data.set(name, encodeFloat32(values, i % 2 === 0 ? 'F32' : 'BF16'));
  }
  return { specs, data };
}

describe('writeShardedCheckpoint', () => {
  it('groups tensors in order like transformers, an oversized tensor alone', () => {
    const s = (name: string, n: number): TensorSpec => ({ name, dtype: 'U8', shape: [n] });
    expect(planShards([s('a', 4), s('b', 4), s('c', 10), s('d', 1), s('e', 8)], 8).map((g) => g.map((x) => x.name))).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
    expect(planShards([], 8)).toEqual([[]]);
  });

  it('writes shards plus an index that Checkpoint reads back exactly, producing one tensor at a time', async () => {
    await withTempDir(async (dir) => {
      const { specs, data } = specsAndData(5);
      const produced: string[] = [];
      const result = await writeShardedCheckpoint(dir, specs, async (name) => {
        produced.push(name);
        return data.get(name) as Uint8Array;
      }, { maxShardBytes: 40 });
      expect(produced).toEqual(specs.map((s) => s.name));
      const files = (await readdir(dir)).sort();
      expect(files).toEqual(['model-00001-of-00004.safetensors', 'model-00002-of-00004.safetensors', 'model-00003-of-00004.safetensors', 'model-00004-of-00004.safetensors', 'model.safetensors.index.json']);
      expect(result.files.map((f) => nodePath.basename(f))).toEqual(files);
      const index = JSON.parse(await readFile(nodePath.join(dir, 'model.safetensors.index.json'), 'utf8'));
      expect(index.metadata.total_size).toBe([...data.values()].reduce((a, b) => a + b.byteLength, 0));
      expect(index.weight_map['layer.0.weight']).toBe('model-00001-of-00004.safetensors');
      const ckpt = await Checkpoint.open(dir);
      try {
        expect(ckpt.files).toHaveLength(4);
        expect(ckpt.files[0].metadata).toEqual({ format: 'pt' });
        expect(ckpt.metadata.total_size).toBe(String(index.metadata.total_size));
        for (const s of specs) {
          expect(await ckpt.readRaw(s.name)).toEqual(data.get(s.name));
          expect(ckpt.info(s.name)).toMatchObject({ dtype: s.dtype, shape: s.shape });
        }
        expect(() => ckpt.info('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
      } finally {
        await ckpt.close();
      }
    });
  });

  it('writes a single model.safetensors when everything fits and clears a stale sharded save', async () => {
    await withTempDir(async (dir) => {
      const { specs, data } = specsAndData(3);
      await writeShardedCheckpoint(dir, specs, (name) => data.get(name) as Uint8Array, { maxShardBytes: 16 });
      const { files } = await writeShardedCheckpoint(dir, specs, (name) => data.get(name) as Uint8Array, { maxShardBytes: 1 << 20, baseName: 'model' });
      expect(files).toEqual([nodePath.join(dir, 'model.safetensors')]);
      expect(await readdir(dir)).toEqual(['model.safetensors']);
      const ckpt = await Checkpoint.open(dir);
      expect(ckpt.names()).toEqual(specs.map((s) => s.name));
      await ckpt.close();
    });
  });

  it('leaves no shard behind when the producer fails', async () => {
    await withTempDir(async (dir) => {
      const { specs, data } = specsAndData(4);
      const failing = async (name: string): Promise<Uint8Array> => {
        if (name === 'layer.3.weight') throw new Error('producer failed');
        return data.get(name) as Uint8Array;
      };
      await expect(writeShardedCheckpoint(dir, specs, failing, { maxShardBytes: 40 })).rejects.toThrow('producer failed');
      expect(await readdir(dir)).toEqual([]);
      await expect(writeShardedCheckpoint(dir, specs, failing, { maxShardBytes: 0 })).rejects.toThrow('maxShardBytes must be a positive integer');
      await expect(writeShardedCheckpoint(dir, specs, failing, { maxShardBytes: 8, baseName: '../x' })).rejects.toThrow('baseName must be a plain file stem');
    });
  });
});

describe('Checkpoint index validation', () => {
  async function withIndex(index: unknown, fn: (dir: string) => Promise<void>): Promise<void> {
    await withTempDir(async (dir) => {
      await writeSafetensors(nodePath.join(dir, 'a.safetensors'), { x: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } });
      await writeFile(nodePath.join(dir, 'model.safetensors.index.json'), typeof index === 'string' ? index : JSON.stringify(index));
      await fn(dir);
    });
  }

  it.each([
    ['not JSON', '{', 'not valid JSON'],
    ['no weight_map', { metadata: {} }, 'weight_map must be an object'],
    ['a path outside the directory', { weight_map: { x: '../a.safetensors' } }, 'weight_map.x must be a file name in the index\'s directory, got "../a.safetensors"'],
    ['a tensor its shard lacks', { weight_map: { x: 'a.safetensors', y: 'a.safetensors' } }, 'weight_map says "y" is in a.safetensors, but that shard has no such tensor'],
  ])('rejects an index with %s', async (_kind, index, message) => {
    await withIndex(index, async (dir) => {
      await expect(Checkpoint.open(dir)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(Checkpoint.open(dir)).rejects.toThrow(message);
    });
  });

  it('reports a missing shard as NOT_FOUND and opens an index path directly', async () => {
    await withIndex({ weight_map: { x: 'a.safetensors', z: 'gone.safetensors' } }, async (dir) => {
      await expect(Checkpoint.open(dir)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
    await withIndex({ metadata: { total_size: 1 }, weight_map: { x: 'a.safetensors' } }, async (dir) => {
      const ckpt = await Checkpoint.open(nodePath.join(dir, 'model.safetensors.index.json'));
      expect(ckpt.metadata).toEqual({ total_size: '1' });
      expect([...(await ckpt.readRaw('x'))]).toEqual([1]);
      await ckpt.close();
    });
    await expect(Checkpoint.open('/nonexistent/ckpt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
