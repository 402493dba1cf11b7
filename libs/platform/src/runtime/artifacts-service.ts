import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  ArtifactKind,
  ArtifactRecord,
  ArtifactRef,
  ArtifactsService,
  CreateBundleRequest,
  DownloadChunk,
  DownloadRequest,
  GetArtifactRequest,
  ListArtifactsRequest,
  ListArtifactsResponse,
  UploadChunk,
} from '@patchwork/contracts';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { validateDigest } from '../artifacts';
import { clientStream, serverStream, unary } from '../grpc';
import type { Runtime } from './runtime';

/** Chunks stay far below the 4 MiB message limit. */
export const TRANSFER_CHUNK_BYTES = 1 << 20;

export interface ArtifactsServiceOptions {
  /** Largest blob one upload may carry. */
  maxUploadBytes?: number;
}

/** Receives one blob: header (size, sha256) first, then data; verified before it is stored. */
async function receiveUpload(runtime: Runtime, chunks: AsyncIterable<UploadChunk>, maxBytes: number): Promise<ArtifactRef> {
  const dir = path.join(runtime.config.dataDir, 'uploads');
  await fs.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `${randomUUID()}.part`);
  const handle = await fs.open(temp, 'wx');
  const hash = createHash('sha256');
  let header: { size: number; sha256: string } | undefined;
  let received = 0;
  try {
    for await (const chunk of chunks) {
      const part = chunk.part;
      if (!part) throw invalidArgument('part', 'each chunk carries a header or data');
      if (part.$case === 'header') {
        if (header) throw invalidArgument('header', 'sent twice');
        header = { size: part.value.size, sha256: validateDigest(part.value.sha256, 'header.sha256') };
        if (header.size > maxBytes) throw new PatchworkError('RESOURCE_EXHAUSTED', `header.size: ${header.size} bytes is over the ${maxBytes}-byte upload limit`);
        continue;
      }
      if (!header) throw invalidArgument('header', 'must come before data');
      received += part.value.length;
      if (received > header.size) throw invalidArgument('data', `more bytes than the announced ${header.size}`);
      hash.update(part.value);
      await handle.write(part.value);
    }
    if (!header) throw invalidArgument('header', 'missing: the upload was empty');
    if (received !== header.size) throw invalidArgument('data', `received ${received} bytes, header announced ${header.size}`);
    const digest = hash.digest('hex');
    if (digest !== header.sha256) throw new PatchworkError('DATA_LOSS', `upload digest ${digest} does not match header.sha256 ${header.sha256}`);
    await handle.close();
    const stored = await runtime.fabric.blobs.putFile(temp);
    return { digest: stored.digest, size: stored.size };
  } finally {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
  }
}

async function* sendBlob(runtime: Runtime, digest: string): AsyncGenerator<DownloadChunk> {
  const info = await runtime.fabric.blobs.stat(validateDigest(digest));
  if (!info) throw new PatchworkError('NOT_FOUND', `no blob ${digest}`);
  yield { part: { $case: 'header', value: { size: info.size, sha256: info.digest } } };
  for await (const bytes of runtime.fabric.blobs.read(digest)) {
    for (let offset = 0; offset < bytes.length; offset += TRANSFER_CHUNK_BYTES) {
      yield { part: { $case: 'data', value: Buffer.from(bytes.subarray(offset, offset + TRANSFER_CHUNK_BYTES)) } };
    }
  }
}

export function artifactsServiceImplementation(runtime: Runtime, options: ArtifactsServiceOptions = {}) {
  const maxUploadBytes = options.maxUploadBytes ?? 64 * 1024 ** 3;
  return {
    upload: clientStream((chunks: AsyncIterable<UploadChunk>) => receiveUpload(runtime, chunks, maxUploadBytes)),
    download: serverStream((request: DownloadRequest) => sendBlob(runtime, request.digest)),
    createBundle: unary((request: CreateBundleRequest): Promise<ArtifactRecord> =>
      runtime.artifacts.createBundle(request.files, {
        kind: request.kind === ArtifactKind.ARTIFACT_KIND_UNSPECIFIED ? ArtifactKind.ARTIFACT_KIND_BLOB : request.kind,
        format: request.format,
        labels: request.labels,
      }),
    ),
    getArtifact: unary((request: GetArtifactRequest) => runtime.artifacts.get(request.digest)),
    listArtifacts: unary(async (request: ListArtifactsRequest): Promise<ListArtifactsResponse> => ({
      artifacts: await runtime.artifacts.list({ kind: request.kind || undefined, baseModelDigest: request.baseModelDigest || undefined }),
    })),
  };
}

export const ARTIFACTS_GRPC_NAME = 'patchwork.v1.Artifacts';
export { ArtifactsService };
