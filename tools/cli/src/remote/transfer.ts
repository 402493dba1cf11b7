import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ArtifactKind, ArtifactRecord, ArtifactRef, DownloadChunk, UploadChunk } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { fromServiceError, resolveInside } from '@patchwork/platform';
import { callUnary, Remote } from './connection';

const CHUNK = 1 << 20;

async function sha256Of(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

/** Streams one file to the store: header (size, sha256), then 1 MiB chunks with backpressure. */
export async function uploadFile(remote: Remote, file: string): Promise<ArtifactRef> {
  const { digest, size } = await sha256Of(file);
  return new Promise<ArtifactRef>((resolve, reject) => {
    const call = remote.artifacts.upload(remote.metadata(), (err, response) => (err ? reject(fromServiceError(err)) : resolve(response)));
    const send = async () => {
      const write = (chunk: UploadChunk) => new Promise<void>((ok) => (call.write(chunk) ? ok() : call.once('drain', ok)));
      await write({ part: { $case: 'header', value: { size, sha256: digest } } });
      for await (const data of createReadStream(file, { highWaterMark: CHUNK })) await write({ part: { $case: 'data', value: data as Buffer } });
      call.end();
    };
    send().catch((err) => {
      call.cancel();
      reject(err);
    });
  });
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
  return callUnary(remote, remote.artifacts.createBundle.bind(remote.artifacts), { files, kind, format, labels: {} });
}

async function downloadBlob(remote: Remote, digest: string, destination: string): Promise<void> {
  const temp = `${destination}.${randomUUID()}.part`;
  const handle = await fs.open(temp, 'wx');
  const hash = createHash('sha256');
  try {
    const stream = remote.artifacts.download({ digest }, remote.metadata());
    let header: { size: number; sha256: string } | undefined;
    let received = 0;
    try {
      for await (const chunk of stream as AsyncIterable<DownloadChunk>) {
        const part = chunk.part;
        if (part?.$case === 'header') header = part.value;
        else if (part?.$case === 'data') {
          hash.update(part.value);
          received += part.value.length;
          await handle.write(part.value);
        }
      }
    } catch (err) {
      throw fromServiceError(err);
    }
    const actual = hash.digest('hex');
    if (!header || received !== header.size || actual !== digest) {
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
  const record = await callUnary(remote, remote.artifacts.getArtifact.bind(remote.artifacts), { digest });
  await fs.mkdir(outDir, { recursive: true });
  for (const file of record.files) {
    const destination = resolveInside(outDir, file.path);
    await fs.mkdir(path.dirname(destination), { recursive: true });
    await downloadBlob(remote, file.digest, destination);
  }
  return record;
}
