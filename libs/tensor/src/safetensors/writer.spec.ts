import fc from 'fast-check';
import { readFile, readdir, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { withTempDir } from '../testing/temp-dir';
import { DTYPES, DType, dtypeByteSize } from './dtype';
import { SafetensorsFile } from './reader';
import { writeSafetensors } from './write-file';
import { SafetensorsWriter } from './writer';

const spec = (name: string, dtype: DType, shape: number[]) => ({ name, dtype, shape });

const tensorArb = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * dtypeByteSize(dtype);
    return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((data) => ({ dtype, shape, data }));
  });

describe('SafetensorsWriter', () => {
  it('round-trips arbitrary bytes of every dtype, in order, with metadata', async () => {
    await withTempDir(async (dir) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__metadata__'), tensorArb, { maxKeys: 5 }),
          fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
          async (tensors, metadata) => {
            const path = nodePath.join(dir, `r${run++}.safetensors`);
            await writeSafetensors(path, tensors, metadata);
            const file = await SafetensorsFile.open(path);
            try {
              expect(file.tensors.map((t) => t.name)).toEqual(Object.keys(tensors));
              expect(file.metadata).toEqual(metadata);
              for (const [name, t] of Object.entries(tensors)) {
                expect(file.info(name)).toMatchObject({ dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength });
                expect(await file.readRaw(name)).toEqual(t.data);
              }
            } finally {
              await file.close();
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  it('writes the reference layout: length prefix, space-padded header aligned to 8, data in spec order', async () => {
    await withTempDir(async (dir) => {
      const path = nodePath.join(dir, 'm.safetensors');
      await writeSafetensors(path, { z: { dtype: 'U8', shape: [1], data: new Uint8Array([7]) }, a: { dtype: 'U8', shape: [2], data: new Uint8Array([8, 9]) } }, { format: 'pt' });
      const bytes = await readFile(path);
      const n = Number(bytes.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const text = bytes.subarray(8, 8 + n).toString('utf8');
      expect(text.trimEnd()).toBe('{"__metadata__":{"format":"pt"},"z":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}');
      expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
      expect([...bytes.subarray(8 + n)]).toEqual([7, 8, 9]);
    });
  });

  it('converts typed arrays to the declared dtype', async () => {
    await withTempDir(async (dir) => {
      const path = nodePath.join(dir, 'v.safetensors');
      await writeSafetensors(path, {
        h: { dtype: 'F16', shape: [3], data: new Float32Array([1, 0.1, -65520]) },
        b: { dtype: 'BF16', shape: [2], data: [1.5, NaN] },
        i: { dtype: 'I64', shape: [2], data: new Int32Array([-1, 5]) },
      });
      const file = await SafetensorsFile.open(path);
      expect([...(await file.readFloat32('h'))]).toEqual([1, Math.fround(0.0999755859375), -Infinity]);
      const bf = await file.readFloat32('b');
      expect(bf[0]).toBe(1.5);
      expect(bf[1]).toBeNaN();
      expect([...(await file.readFloat32('i'))]).toEqual([-1, 5]);
      await file.close();
    });
  });

  it('publishes only on finish, enforces order and sizes, and leaves nothing on abort', async () => {
    await withTempDir(async (dir) => {
      const path = nodePath.join(dir, 'w.safetensors');
      const writer = await SafetensorsWriter.create(path, [spec('a', 'F32', [2]), spec('b', 'U8', [1])]);
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(writer.write('b', new Uint8Array(1))).rejects.toThrow('expected "a", got "b"');
      await expect(writer.write('a', new Uint8Array(4))).rejects.toThrow('tensor "a" (F32 [2]) needs 8 bytes, got 4');
      await writer.write('a', new Uint8Array(8));
      await expect(writer.finish()).rejects.toThrow('1 tensor(s) not written yet: "b"');
      await writer.abort();
      expect(await readdir(dir)).toEqual([]);
      await expect(writer.write('b', new Uint8Array(1))).rejects.toThrow('writer is already aborted');
    });
  });

  it('finishes atomically with no temp file left behind', async () => {
    await withTempDir(async (dir) => {
      const path = nodePath.join(dir, 'w.safetensors');
      const writer = await SafetensorsWriter.create(path, [spec('a', 'U8', [2])], { k: 'v' });
      await writer.write('a', new Uint8Array([1, 2]));
      await writer.finish();
      await writer.abort();
      expect(await readdir(dir)).toEqual(['w.safetensors']);
      const file = await SafetensorsFile.open(path);
      expect(file.metadata).toEqual({ k: 'v' });
      await file.close();
    });
  });

  it('rejects bad specs before creating anything', async () => {
    await withTempDir(async (dir) => {
      const path = nodePath.join(dir, 'bad.safetensors');
      await expect(SafetensorsWriter.create(path, [spec('a', 'U8', [1]), spec('a', 'U8', [1])])).rejects.toThrow('specs[1].name: duplicate tensor name "a"');
      await expect(SafetensorsWriter.create(path, [spec('__metadata__', 'U8', [1])])).rejects.toThrow('reserved');
      await expect(SafetensorsWriter.create(path, [spec('x', 'Q8' as DType, [1])])).rejects.toThrow('specs[0].dtype: unknown dtype "Q8"');
      await expect(SafetensorsWriter.create(path, [spec('x', 'U8', [-1])])).rejects.toThrow('specs[0].shape: shape[0] must be a non-negative safe integer, got -1');
      await expect(SafetensorsWriter.create(path, [], { n: 3 as unknown as string })).rejects.toThrow('metadata.n: must be a string');
      await expect(SafetensorsWriter.create(nodePath.join(dir, 'missing', 'x.safetensors'), [])).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
