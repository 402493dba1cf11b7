import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { ArtifactCreatedEvent, ArtifactKind, ArtifactRecord, BundleFile, Evaluation } from '@patchwork/contracts';
import type { BlobStore, EventBus, KeyValueBucket } from '../ports';
import { resolveInside, validateBundlePath, validateDigest } from './bundle-paths';

export interface ArtifactOptions {
  kind: ArtifactKind;
  format: string;
  parents?: string[];
  baseModelDigest?: string;
  recipeJson?: string;
  jobId?: string;
  labels?: Record<string, string>;
}

export interface ArtifactFilter {
  kind?: ArtifactKind;
  baseModelDigest?: string;
}

const recordKey = (digest: string) => `art.${digest}`;

/** Written next to a bundle's files once it is fully materialized (see `materialize`). */
const COMPLETE_MARKER = '.complete';

/** The bundle's identity: the sha256 of its file list, canonical (sorted, fixed key order). */
export function manifestBytes(files: BundleFile[]): Uint8Array {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const canonical = sorted.map((f) => ({ path: f.path, digest: f.digest, size: Number(f.size) }));
  return new TextEncoder().encode(JSON.stringify({ files: canonical }));
}

/**
 * Artifacts are bundles of content-addressed blobs with a lineage record. The same content always
 * gets the same digest, so a job that runs twice (a redelivery after a crash) still leaves exactly
 * one artifact.
 */
export class ArtifactRegistry {
  constructor(
    private readonly records: KeyValueBucket,
    private readonly blobs: BlobStore,
    private readonly bus: EventBus,
    /** Where bundles are materialized for local use, one directory per digest. */
    private readonly cacheDir: string,
  ) {}

  /** Stores every regular file under `dir` (recursively) as one bundle. */
  async putDirectory(dir: string, options: ArtifactOptions): Promise<ArtifactRecord> {
    const files: BundleFile[] = [];
    for (const relative of await listFiles(dir)) {
      const info = await this.blobs.putFile(path.join(dir, ...relative.split('/')));
      files.push({ path: relative, digest: info.digest, size: info.size });
    }
    if (files.length === 0) throw new PatchworkError('INVALID_ARGUMENT', `${dir} holds no files to store`);
    return this.createBundle(files, options);
  }

  /** Records a bundle of blobs that are already stored (uploaded by a client, say). */
  async createBundle(files: BundleFile[], options: ArtifactOptions): Promise<ArtifactRecord> {
    if (files.length === 0) throw new PatchworkError('INVALID_ARGUMENT', 'files: a bundle needs at least one file');
    const seen = new Set<string>();
    for (const [i, file] of files.entries()) {
      validateBundlePath(file.path, `files[${i}].path`);
      // The marker would overwrite this file when the bundle is materialized.
      if (file.path === COMPLETE_MARKER) throw new PatchworkError('INVALID_ARGUMENT', `files[${i}].path: ${COMPLETE_MARKER} is reserved`);
      validateDigest(file.digest, `files[${i}].digest`);
      if (seen.has(file.path)) throw new PatchworkError('INVALID_ARGUMENT', `files[${i}].path: duplicate ${file.path}`);
      seen.add(file.path);
      const stat = await this.blobs.stat(file.digest);
      if (!stat) throw new PatchworkError('FAILED_PRECONDITION', `files[${i}]: blob ${file.digest} was not uploaded`);
      if (stat.size !== Number(file.size)) {
        throw new PatchworkError('INVALID_ARGUMENT', `files[${i}].size: ${file.size} but the stored blob has ${stat.size} bytes`);
      }
    }
    const manifest = await this.blobs.putBytes(manifestBytes(files));
    const record = ArtifactRecord.fromPartial({
      digest: manifest.digest,
      kind: options.kind,
      format: options.format,
      size: files.reduce((sum, f) => sum + Number(f.size), 0),
      files: [...files].sort((a, b) => (a.path < b.path ? -1 : 1)),
      parents: options.parents ?? [],
      baseModelDigest: options.baseModelDigest ?? '',
      recipeJson: options.recipeJson ?? '',
      jobId: options.jobId ?? '',
      createdAtMs: Date.now(),
      labels: options.labels ?? {},
    });
    try {
      await this.records.create(recordKey(record.digest), ArtifactRecord.encode(record).finish());
    } catch (err) {
      if (err instanceof PatchworkError && err.code === 'ALREADY_EXISTS') return this.get(record.digest);
      throw err;
    }
    await this.announce(record);
    return record;
  }

  async get(digest: string): Promise<ArtifactRecord> {
    validateDigest(digest);
    const entry = await this.records.get(recordKey(digest));
    if (!entry) throw new PatchworkError('NOT_FOUND', `no artifact ${digest}`);
    return ArtifactRecord.decode(entry.value);
  }

  async list(filter: ArtifactFilter = {}): Promise<ArtifactRecord[]> {
    const out: ArtifactRecord[] = [];
    for (const key of await this.records.keys('art.')) {
      const entry = await this.records.get(key);
      if (!entry) continue;
      const record = ArtifactRecord.decode(entry.value);
      if (filter.kind && record.kind !== filter.kind) continue;
      if (filter.baseModelDigest && record.baseModelDigest !== filter.baseModelDigest) continue;
      out.push(record);
    }
    return out.sort((a, b) => a.createdAtMs - b.createdAtMs || (a.digest < b.digest ? -1 : 1));
  }

  async addEvaluation(digest: string, evaluation: Evaluation): Promise<ArtifactRecord> {
    return this.modify(digest, (record) => void record.evaluations.push(evaluation));
  }

  /** Sets labels (a promotion decision, say) on an existing record. */
  async setLabels(digest: string, labels: Record<string, string>): Promise<ArtifactRecord> {
    return this.modify(digest, (record) => void Object.assign(record.labels, labels));
  }

  /** Read-modify-write of a record with retries on concurrent updates. */
  private async modify(digest: string, change: (record: ArtifactRecord) => void): Promise<ArtifactRecord> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const entry = await this.records.get(recordKey(validateDigest(digest)));
      if (!entry) throw new PatchworkError('NOT_FOUND', `no artifact ${digest}`);
      const record = ArtifactRecord.decode(entry.value);
      change(record);
      try {
        await this.records.update(recordKey(digest), ArtifactRecord.encode(record).finish(), entry.revision);
        return record;
      } catch (err) {
        if (!(err instanceof PatchworkError) || err.code !== 'ABORTED') throw err;
      }
    }
    throw new PatchworkError('ABORTED', `artifact ${digest} is being updated concurrently; retry`);
  }

  /**
   * A local directory with the bundle's files, downloaded once and reused. Built in a temporary
   * directory and renamed into place, so a crash never leaves a half-filled cache entry.
   */
  async materialize(digest: string): Promise<string> {
    const record = await this.get(digest);
    const target = path.join(this.cacheDir, digest);
    if (await exists(path.join(target, COMPLETE_MARKER))) return target;
    const staging = path.join(this.cacheDir, `.staging-${digest}-${randomUUID()}`);
    await fs.mkdir(staging, { recursive: true });
    try {
      for (const file of record.files) {
        const destination = resolveInside(staging, file.path);
        await fs.mkdir(path.dirname(destination), { recursive: true });
        await this.blobs.getToFile(file.digest, destination);
      }
      await fs.writeFile(path.join(staging, COMPLETE_MARKER), digest);
      try {
        await fs.rename(staging, target);
      } catch (err) {
        // Another materialization of the same digest won the race; its copy is identical.
        if (!(await exists(path.join(target, COMPLETE_MARKER)))) throw err;
        await fs.rm(staging, { recursive: true, force: true });
      }
      return target;
    } catch (err) {
      await fs.rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  private async announce(record: ArtifactRecord): Promise<void> {
    try {
      const event = ArtifactCreatedEvent.encode({ artifact: record, atMs: Date.now() }).finish();
      await this.bus.publish('patchwork.artifacts.artifact.created', event, { 'patchwork-artifact': record.digest });
    } catch {
      // Events are advisory; the record in KV is what counts.
    }
  }
}

/** Sha256 of a file, streamed. */
export async function sha256File(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } finally {
    await handle.close();
  }
  return { digest: hash.digest('hex'), size };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Regular files under `dir`, as sorted '/'-separated relative paths; hidden files are skipped. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(path.join(dir, prefix), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, relative)));
    else if (entry.isFile()) out.push(relative);
  }
  return out;
}
