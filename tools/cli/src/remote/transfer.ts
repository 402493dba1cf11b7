import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, ArtifactRecord, ArtifactRef, UploadChunk } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { callClientStream, callServerStream, callUnary, resolveInside } from '@patchwork/platform';
import { Remote } from './connection';

const CHUNK = 1 << 20;
/** Transfers stream for as long as they need; progress, not a deadline, bounds them. */
const NO_DEADLINE = { deadline: Infinity };

async function sha256Of(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

async function* uploadChunks(file: string, digest: string, size: number): AsyncGenerator<UploadChunk> {
  yield { part: { $case: 'header', value: { size, sha256: digest } } };
  for await (const data of createReadStream(file, { highWaterMark: CHUNK })) yield { part: { $case: 'data', value: data as Buffer } };
}

/** Streams one file to the store: header (size, sha256), then 1 MiB chunks with backpressure. */
export async function uploadFile(remote: Remote, file: string): Promise<ArtifactRef> {
  const { digest, size } = await sha256Of(file);
  return callClientStream(remote.artifacts, 'upload', uploadChunks(file, digest, size), NO_DEADLINE);
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await fs.readdir(path.join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/** Uploads a directory (a Hugging Face model, say) as one bundle artifact. */
export async function uploadDirectory(remote: Remote, dir: string, kind: ArtifactKind, format: string): Promise<ArtifactRecord> {
  const files = [];
  for (const rel of await listFiles(dir)) {
    const ref = await uploadFile(remote, path.join(dir, ...rel.split('/')));
    files.push({ path: rel, digest: ref.digest, size: ref.size });
  }
  if (files.length === 0) throw new PatchworkError('INVALID_ARGUMENT', `${dir} holds no files`);
  return callUnary(remote.artifacts, 'createBundle', { files, kind, format, labels: {} });
}

/** Writes one blob to `destination` atomically, verifying size and sha256. */
async function downloadBlob(remote: Remote, digest: string, destination: string): Promise<void> {
  const temp = `${destination}.${randomUUID()}.part`;
  const handle = await fs.open(temp, 'wx');
  const hash = createHash('sha256');
  try {
    let announced: number | undefined;
    let received = 0;
    for await (const chunk of callServerStream(remote.artifacts, 'download', { digest }, NO_DEADLINE)) {
      const part = chunk.part;
      if (part?.$case === 'header') announced = part.value.size;
      else if (part?.$case === 'data') {
        hash.update(part.value);
        received += part.value.length;
        await handle.write(part.value);
      }
    }
    const actual = hash.digest('hex');
    if (received !== announced || actual !== digest) {
      throw new PatchworkError('DATA_LOSS', `download of ${digest} is corrupt (got ${received} bytes with sha256 ${actual})`);
    }
    await handle.sync();
    await handle.close();
    await fs.rename(temp, destination);
  } finally {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
  }
}

/** Writes a bundle's files under `outDir`, each verified against its digest. */
export async function downloadBundle(remote: Remote, digest: string, outDir: string): Promise<ArtifactRecord> {
  const record = await callUnary(remote.artifacts, 'getArtifact', { digest });
  await fs.mkdir(outDir, { recursive: true });
  for (const file of record.files) {
    const destination = resolveInside(outDir, file.path);
    await fs.mkdir(path.dirname(destination), { recursive: true });
    await downloadBlob(remote, file.digest, destination);
  }
  return record;
}
