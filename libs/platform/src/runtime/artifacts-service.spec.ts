import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactKind, ArtifactsClient, type UploadChunk } from '@patchwork/contracts';
import { readPlatformConfig } from '../config';
import { callClientStream, callServerStream, callUnary, createGrpcClient } from '../grpc';
import { serve, type RunningPlatform } from './serve';

jest.setTimeout(20_000);

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const MAX_UPLOAD = 4096;

/** Paths that must never name anything outside a bundle's directory, or anything ambiguous. */
const HOSTILE_PATHS = [
  '../x',
  '/etc/passwd',
  'a/../../b',
  'a/b/../../../c',
  'a\u0000b',
  '',
  '.',
  '..',
  'a//b',
  'a/./b',
  'a/',
  '/a',
  '..\\x',
  'a\\..\\..\\b',
  'C:\\Windows\\x',
  '~/x',
  '%2e%2e/x',
  'a b',
  'ünïcode',
  'x'.repeat(513),
];
const HOSTILE_DIGESTS = ['', '../x', 'A'.repeat(64), 'g'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `${'a'.repeat(64)}\n`, `${'a'.repeat(63)}\u0000`, `sha256:${'a'.repeat(64)}`];

describe('Artifacts service: names, paths and sizes', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  let artifacts: ArtifactsClient;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'artifacts-spec-'));
    const config = readPlatformConfig({ PATCHWORK_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) }, { dataDir, grpcPort: '0', logLevel: 'silent', reflection: 'false' });
    platform = await serve({ config, modules: [] });
    artifacts = createGrpcClient(ArtifactsClient, { address: `127.0.0.1:${platform.port}`, deadlineMs: 5000 });
  });
  afterAll(async () => {
    artifacts.close();
    await platform.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const upload = (chunks: UploadChunk[]) => callClientStream(artifacts, 'upload', chunks);
  const header = (size: number, digest: string): UploadChunk => ({ part: { $case: 'header', value: { size, sha256: digest } } });
  const data = (bytes: Uint8Array): UploadChunk => ({ part: { $case: 'data', value: Buffer.from(bytes) } });

  async function uploaded(text: string): Promise<{ digest: string; size: number }> {
    const bytes = new TextEncoder().encode(text);
    return upload([header(bytes.length, sha256(bytes)), data(bytes)]);
  }

  it('checks every upload before storing it, and leaves no temporary file behind', async () => {
    const bytes = new TextEncoder().encode('hello');
    for (const digest of HOSTILE_DIGESTS) {
      await expect(upload([header(bytes.length, digest), data(bytes)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('header.sha256') });
    }
    await expect(upload([data(bytes)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('header') });
    await expect(upload([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(upload([header(bytes.length, sha256(bytes)), header(bytes.length, sha256(bytes))])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(upload([header(2, sha256(bytes)), data(bytes)])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('more bytes') });
    await expect(upload([header(bytes.length, sha256(new Uint8Array(5))), data(bytes)])).rejects.toMatchObject({ code: 'DATA_LOSS' });
    const big = new Uint8Array(MAX_UPLOAD + 1);
    await expect(upload([header(big.length, sha256(big)), data(big)])).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: expect.stringContaining(`${MAX_UPLOAD}-byte upload limit`) });
    await expect(uploaded('fine')).resolves.toMatchObject({ size: 4 });
    expect(await fs.readdir(path.join(dataDir, 'uploads'))).toEqual([]);
  });

  it('refuses bundle paths that could leave the bundle directory, naming the file', async () => {
    const blob = await uploaded('content');
    for (const bad of HOSTILE_PATHS) {
      const err = await callUnary(artifacts, 'createBundle', { files: [{ path: bad, digest: blob.digest, size: blob.size }], kind: ArtifactKind.ARTIFACT_KIND_BLOB, format: 'raw', labels: {} }).catch((e) => e);
      expect({ path: bad, code: err.code, message: err.message }).toMatchObject({ path: bad, code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^files\[0\]\.path: /) });
    }
    // The materialization marker is reserved: a file of that name would be overwritten.
    await expect(callUnary(artifacts, 'createBundle', { files: [{ path: '.complete', digest: blob.digest, size: blob.size }], kind: 0, format: '', labels: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('reserved'),
    });
    for (const digest of HOSTILE_DIGESTS) {
      await expect(callUnary(artifacts, 'createBundle', { files: [{ path: 'a.bin', digest, size: 1 }], kind: 0, format: '', labels: {} })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^files\[0\]\.digest: /),
      });
    }
  });

  it('refuses digests that are not lowercase hex sha256 on every read', async () => {
    for (const digest of HOSTILE_DIGESTS) {
      await expect(callUnary(artifacts, 'getArtifact', { digest })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const download = async () => {
        for await (const _ of callServerStream(artifacts, 'download', { digest })) void _;
      };
      await expect(download()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('materializes a nested bundle inside its cache directory only', async () => {
    const blob = await uploaded('weights');
    const record = await callUnary(artifacts, 'createBundle', { files: [{ path: 'deep/er/w.bin', digest: blob.digest, size: blob.size }], kind: 0, format: 'raw', labels: {} });
    const dir = await platform.runtime.artifacts.materialize(record.digest);
    expect(dir.startsWith(path.join(dataDir, 'cache', 'artifacts') + path.sep)).toBe(true);
    expect(await fs.readFile(path.join(dir, 'deep', 'er', 'w.bin'), 'utf8')).toBe('weights');
  });
});

describe('ArtifactRegistry.putDirectory and symlinks', () => {
  let root: string;
  let platform: RunningPlatform;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'symlinks-'));
    const config = readPlatformConfig({}, { dataDir: path.join(root, 'data'), grpcPort: '0', logLevel: 'silent', reflection: 'false' });
    platform = await serve({ config, modules: [] });
  });
  afterAll(async () => {
    await platform.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('stores regular files only: links to files or directories outside are not followed', async () => {
    const outside = path.join(root, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'do not store');
    const job = path.join(root, 'job-output');
    await fs.mkdir(job);
    await fs.writeFile(path.join(job, 'model.bin'), 'model');
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(job, 'leak.txt'));
    await fs.symlink(outside, path.join(job, 'leakdir'));
    await fs.symlink('../outside/secret.txt', path.join(job, 'relative-leak.txt'));
    const record = await platform.runtime.artifacts.putDirectory(job, { kind: 0, format: 'raw' });
    expect(record.files.map((f) => f.path)).toEqual(['model.bin']);
  });
});
