import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fabricPool, type FabricHarness } from './harness';
import { collect, errorCodeOf } from './wait';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)));

/** The BlobStore port's behaviour, run against every implementation. */
export function blobStoreContract(harness: FabricHarness): void {
  describe(`BlobStore contract (${harness.name})`, () => {
    const pool = fabricPool(harness);
    let scratch: string;

    beforeEach(async () => {
      scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'pw-blob-contract-'));
    });
    afterEach(async () => {
      await fs.rm(scratch, { recursive: true, force: true });
    });

    it('stores bytes under their sha256 and reads them back; storing again is a no-op', async () => {
      const { blobs } = await pool.open();
      const bytes = new Uint8Array(randomBytes(10_000));
      const info = await blobs.putBytes(bytes);
      expect(info).toEqual({ digest: sha256(bytes), size: bytes.length });
      expect(await blobs.putBytes(bytes)).toEqual(info);
      expect(await blobs.stat(info.digest)).toEqual(info);
      expect(concat(await collect(blobs.read(info.digest)))).toEqual(Buffer.from(bytes));
      const empty = await blobs.putBytes(new Uint8Array(0));
      expect(empty).toEqual({ digest: sha256(new Uint8Array(0)), size: 0 });
      expect(await collect(blobs.read(empty.digest))).toEqual([]);
    });

    it('stores a multi-chunk file and writes it back to a file atomically', async () => {
      const { blobs } = await pool.open();
      const bytes = randomBytes(2 * 1024 * 1024 + 12_345);
      const source = path.join(scratch, 'adapter.safetensors');
      await fs.writeFile(source, bytes);
      const info = await blobs.putFile(source);
      expect(info).toEqual({ digest: sha256(bytes), size: bytes.length });
      expect(await blobs.putFile(source)).toEqual(info);
      const target = path.join(scratch, 'out', 'copy.safetensors');
      await fs.mkdir(path.dirname(target));
      expect(await blobs.getToFile(info.digest, target)).toEqual(info);
      expect((await fs.readFile(target)).equals(bytes)).toBe(true);
      expect(await fs.readdir(path.dirname(target))).toEqual(['copy.safetensors']);
    });

    it('detects corrupt stored bytes at the end of a read (DATA_LOSS) and never writes them to a file', async () => {
      const fabric = await pool.open();
      const bytes = new Uint8Array(randomBytes(300_000));
      const { digest } = await fabric.blobs.putBytes(bytes);
      await harness.corruptBlob(fabric, digest);
      expect(await errorCodeOf(collect(fabric.blobs.read(digest)))).toBe('DATA_LOSS');
      const target = path.join(scratch, 'restored.bin');
      await fs.writeFile(target, 'previous content');
      expect(await errorCodeOf(fabric.blobs.getToFile(digest, target))).toBe('DATA_LOSS');
      expect(await fs.readFile(target, 'utf8')).toBe('previous content');
      expect(await fs.readdir(scratch)).toEqual(['restored.bin']);
    });

    it('reports missing blobs, deletes idempotently and validates digests', async () => {
      const { blobs } = await pool.open();
      const missing = sha256(new Uint8Array(randomBytes(32)));
      expect(await blobs.stat(missing)).toBeNull();
      expect(await errorCodeOf(collect(blobs.read(missing)))).toBe('NOT_FOUND');
      expect(await errorCodeOf(blobs.getToFile(missing, path.join(scratch, 'x')))).toBe('NOT_FOUND');
      expect(await fs.readdir(scratch)).toEqual([]);
      const { digest } = await blobs.putBytes(new Uint8Array([1, 2, 3]));
      await blobs.delete(digest);
      await blobs.delete(digest);
      expect(await blobs.stat(digest)).toBeNull();
      expect(await errorCodeOf(blobs.stat('ABC'))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(async () => collect(blobs.read('../etc/passwd')))).toBe('INVALID_ARGUMENT');
      expect(await errorCodeOf(blobs.putFile(path.join(scratch, 'no-such-file')))).toBe('NOT_FOUND');
    });
  });
}
