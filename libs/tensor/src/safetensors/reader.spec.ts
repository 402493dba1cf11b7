import { writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { withTempDir } from '../testing/temp-dir';
import { SafetensorsFile } from './reader';

/** A file from a header text and a data section, optionally with a forged length prefix. */
function fileBytes(header: string | Uint8Array, dataLength: number, lengthOverride?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  for (let i = 0; i < dataLength; i++) out[8 + json.byteLength + i] = i & 0xff;
  return out;
}

const t = (dtype: string, shape: unknown, offsets: unknown): string => JSON.stringify({ dtype, shape, data_offsets: offsets });

async function openBytes(dir: string, bytes: Uint8Array): Promise<SafetensorsFile> {
  const path = nodePath.join(dir, 'x.safetensors');
  await writeFile(path, bytes);
  return SafetensorsFile.open(path);
}

async function expectCorrupt(bytes: Uint8Array, message: string): Promise<void> {
  await withTempDir(async (dir) => {
    const attempt = openBytes(dir, bytes);
    await expect(attempt).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(attempt).rejects.toThrow(`invalid safetensors file ${nodePath.join(dir, 'x.safetensors')}: ${message}`);
  });
}

describe('SafetensorsFile validation', () => {
  const good = `{"a":${t('F32', [2], [0, 8])},"b":${t('U8', [3], [8, 11])}}`;

  it('reads a valid file with padding spaces, metadata and out-of-order entries', async () => {
    const header = `{"b":${t('U8', [3], [8, 11])},"__metadata__":{"format":"pt"},"a":${t('F32', [2], [0, 8])}}    `;
    await withTempDir(async (dir) => {
      const file = await openBytes(dir, fileBytes(header, 11));
      try {
        expect(file.metadata).toEqual({ format: 'pt' });
        expect(file.tensors.map((x) => x.name)).toEqual(['a', 'b']);
        const dataStart = 8 + header.length;
        expect(file.info('b')).toEqual({ name: 'b', dtype: 'U8', shape: [3], byteOffset: dataStart + 8, byteLength: 3 });
        expect([...(await file.readRaw('b'))]).toEqual([8, 9, 10]);
        expect([...(await file.readFloat32('b'))]).toEqual([8, 9, 10]);
        expect(file.has('a')).toBe(true);
        expect(file.has('c')).toBe(false);
        expect(() => file.info('c')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
      } finally {
        await file.close();
      }
    });
  });

  it('accepts zero-sized tensors and an empty header object', async () => {
    await withTempDir(async (dir) => {
      const file = await openBytes(dir, fileBytes(`{"e":${t('F32', [0, 4], [0, 0])},"s":${t('I32', [], [0, 4])}}`, 4));
      expect((await file.readFloat32('e')).length).toBe(0);
      expect(file.info('s').shape).toEqual([]);
      await file.close();
      const empty = await openBytes(dir, fileBytes('{}', 0));
      expect(empty.tensors).toEqual([]);
      await empty.close();
    });
  });

  const cases: Array<[string, Uint8Array, string]> = [
    ['shorter than 8 bytes', new Uint8Array([1, 0, 0]), 'file is 3 bytes, shorter than the 8-byte header length prefix'],
    ['header length 0', fileBytes('', 0), 'header length is 0'],
    ['header length past the file', fileBytes(good, 11, 5000n), 'header length 5000 runs past the end of the 126-byte file'],
    ['header length over 100 MB', fileBytes(good, 11, 100_000_001n), 'header length 100000001 exceeds the 100000000-byte limit'],
    ['header length near 2^64', fileBytes(good, 11, 2n ** 64n - 1n), 'header length 18446744073709551615 exceeds'],
    ['invalid UTF-8', fileBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 0), 'header is not valid UTF-8'],
    ['invalid JSON', fileBytes('{"a":', 0), 'header is not valid JSON'],
    ['JSON array', fileBytes('[1,2]', 0), 'header must be a JSON object, got an array'],
    ['JSON null', fileBytes('null', 0), 'header must be a JSON object, got null'],
    ['tensor entry not an object', fileBytes('{"a":5}', 0), 'tensor "a" must be an object with dtype, shape and data_offsets, got 5'],
    ['unknown dtype', fileBytes(`{"a":${t('F8_E4M3', [1], [0, 1])}}`, 1), 'tensor "a" has unknown dtype "F8_E4M3"'],
    ['missing dtype', fileBytes('{"a":{"shape":[1],"data_offsets":[0,1]}}', 1), 'tensor "a" has unknown dtype undefined'],
    ['shape not an array', fileBytes(`{"a":${t('U8', 3, [0, 3])}}`, 3), 'tensor "a": shape must be an array'],
    ['negative dimension', fileBytes(`{"a":${t('U8', [2, -1], [0, 0])}}`, 0), 'tensor "a": shape[1] must be a non-negative safe integer, got -1'],
    ['fractional dimension', fileBytes(`{"a":${t('U8', [1.5], [0, 0])}}`, 0), 'tensor "a": shape[0] must be a non-negative safe integer, got 1.5'],
    ['shape overflowing 2^53', fileBytes(`{"a":${t('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 0])}}`, 0), 'tensor "a": shape has more elements than 2^53'],
    ['missing data_offsets', fileBytes('{"a":{"dtype":"U8","shape":[1]}}', 1), 'tensor "a": data_offsets must be [begin, end] with non-negative integers, got undefined'],
    ['three data_offsets', fileBytes(`{"a":${t('U8', [1], [0, 1, 2])}}`, 1), 'tensor "a": data_offsets must be [begin, end] with non-negative integers, got [0,1,2]'],
    ['string data_offsets', fileBytes(`{"a":${t('U8', [1], ['0', 1])}}`, 1), 'tensor "a": data_offsets must be [begin, end] with non-negative integers, got ["0",1]'],
    ['begin after end', fileBytes(`{"a":${t('U8', [0], [1, 0])}}`, 1), 'tensor "a": data_offsets begin 1 is after end 0'],
    ['size mismatch', fileBytes(`{"a":${t('F32', [2], [0, 4])}}`, 4), 'tensor "a": data_offsets span 4 bytes but shape [2] of F32 needs 8'],
    ['truncated data', fileBytes(good, 10), 'tensor "b" ends at data byte 11 but the data section holds only 10 bytes (truncated file?)'],
    ['overlapping ranges', fileBytes(`{"a":${t('F32', [2], [0, 8])},"b":${t('F32', [1], [4, 8])}}`, 8), 'tensor "b" at data bytes [4, 8) overlaps tensor "a" ending at 8'],
    ['hole between tensors', fileBytes(`{"a":${t('U8', [2], [0, 2])},"b":${t('U8', [1], [3, 4])}}`, 4), 'data bytes [2, 3) before tensor "b" belong to no tensor'],
    ['hole at the start', fileBytes(`{"a":${t('U8', [2], [1, 3])}}`, 3), 'data bytes [0, 1) before tensor "a" belong to no tensor'],
    ['trailing unused bytes', fileBytes(good, 12), '1 bytes after the last tensor belong to no tensor'],
    ['metadata not an object', fileBytes('{"__metadata__":["x"]}', 0), '__metadata__ must be an object of strings, got ["x"]'],
    ['metadata value not a string', fileBytes('{"__metadata__":{"epochs":3}}', 0), '__metadata__.epochs must be a string, got 3'],
    ['duplicate tensor names', fileBytes(`{"a":${t('U8', [1], [0, 1])},"a":${t('U8', [1], [1, 2])}}`, 2), 'header has a duplicate key "a"'],
    ['duplicate escaped name', fileBytes(`{"a":${t('U8', [1], [0, 1])},"\\u0061":${t('U8', [1], [1, 2])}}`, 2), 'header has a duplicate key "a"'],
    ['duplicate field in an entry', fileBytes('{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), 'header has a duplicate key "a.dtype"'],
    ['duplicate metadata key', fileBytes('{"__metadata__":{"k":"1","k":"2"}}', 0), 'header has a duplicate key "__metadata__.k"'],
  ];

  it.each(cases)('rejects %s', async (_kind, bytes, message) => {
    await expectCorrupt(bytes, message);
  });

  it('names overlap when one tensor sits inside another of equal start', async () => {
    await expectCorrupt(fileBytes(`{"a":${t('U8', [4], [0, 4])},"b":${t('U8', [2], [0, 2])}}`, 4), 'tensor "a" at data bytes [0, 4) overlaps tensor "b" ending at 2');
  });

  it('reports a missing file and a directory with their own codes', async () => {
    await withTempDir(async (dir) => {
      await expect(SafetensorsFile.open(nodePath.join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(SafetensorsFile.open(dir)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: `${dir} is not a regular file` });
    });
  });

  it('refuses reads after close', async () => {
    await withTempDir(async (dir) => {
      const file = await openBytes(dir, fileBytes(good, 11));
      await file.close();
      await file.close();
      await expect(file.readRaw('a')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    });
  });
});
