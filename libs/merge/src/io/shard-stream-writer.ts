import { createHash, type Hash } from 'node:crypto';
import { open, readdir, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { TensorSpec, planShards } from '@patchwork/tensor';
import { LaidOutTensor, ShardLayout, layoutShard } from './safetensors-layout';

/** A shard file as the cursor records it: its name in the output directory, size and sha256. */
export interface ShardRecord {
  file: string;
  bytes: number;
  sha256: string;
}

/** Where the output stands: finished shards, and the prefix of the shard being written. */
export interface WriterPosition {
  shards: ShardRecord[];
  /** The partial file of the current shard; `bytes` covers its header and its finished tensors. */
  partial?: ShardRecord;
}

export interface ShardWriterOptions {
  maxShardBytes: number;
  metadata: Record<string, string>;
  /** Hash every byte (needed to record positions for resuming). */
  hashing: boolean;
  /** fdatasync after every tensor, so a recorded position survives a crash. */
  durable: boolean;
}

const BASE = 'model';
const OURS = /^model(?:\.safetensors|\.safetensors\.index\.json|-\d{5}-of-\d{5}\.safetensors)$/;
const OUR_PARTIALS = /^\.model(?:-\d{5}-of-\d{5})?\.safetensors\.partial$/;
const HASH_SLICE = 8 * 1024 * 1024;

async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some filesystems refuse a directory fsync; the renames stay atomic regardless.
  } finally {
    await handle?.close();
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Feeds bytes [0, length) of a file into `hash`. */
async function hashPrefix(file: string, length: number, hash: Hash): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const buffer = new Uint8Array(Math.min(HASH_SLICE, Math.max(length, 1)));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.byteLength, length - done), done);
      if (bytesRead === 0) throw new PatchworkError('DATA_LOSS', `${file} ended at byte ${done} of ${length}`);
      hash.update(buffer.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes a merged checkpoint in the Hugging Face layout (`model.safetensors`, or numbered shards
 * plus `model.safetensors.index.json`) tensor by tensor and chunk by chunk, so no tensor has to
 * be held whole. Each shard is filled in a stable partial file `.<shard>.partial` and renamed to
 * its final name once complete; with hashing on, the writer can report its position (finished
 * shards with their sha256, the partial file's verified prefix) and later resume from it.
 */
export class ShardStreamWriter {
  readonly files: string[];
  private readonly layouts: ShardLayout[];
  /** Global tensor index -> [shard, index within shard]. */
  private readonly where: [number, number][] = [];
  private readonly finished: ShardRecord[] = [];
  private shard = -1;
  private inShard = 0;
  private handle: FileHandle | undefined;
  private position = 0;
  private hash: Hash | undefined;
  private tensorEnd = 0;
  private written = 0;

  constructor(
    readonly dir: string,
    specs: readonly TensorSpec[],
    private readonly options: ShardWriterOptions,
  ) {
    const shards = planShards(specs, options.maxShardBytes);
    this.files = shards.length === 1 ? [`${BASE}.safetensors`] : shards.map((_, i) => `${BASE}-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    this.layouts = shards.map((s) => layoutShard(s, options.metadata));
    shards.forEach((s, i) => s.forEach((_, j) => this.where.push([i, j])));
  }

  /** Bytes written to shard files by this writer (resumed prefixes excluded). */
  get bytesWritten(): number {
    return this.written;
  }

  /**
   * Adopts an earlier run's output: finished shards whose size and sha256 still match, then the
   * partial file's prefix if its sha256 matches (the file is cut back to it). Returns how many
   * tensors, in spec order, are already written and why anything was discarded.
   */
  async resume(position: WriterPosition): Promise<{ tensors: number; discarded?: string }> {
    let tensors = 0;
    for (const [i, record] of position.shards.entries()) {
      if (record.file !== this.files[i] || record.bytes !== this.layouts[i].fileBytes) return { tensors, discarded: `shard ${record.file} does not belong to this plan` };
      const file = path.join(this.dir, record.file);
      if ((await sizeOf(file)) !== record.bytes) return { tensors, discarded: `shard ${record.file} is missing or has the wrong size` };
      const hash = createHash('sha256');
      await hashPrefix(file, record.bytes, hash);
      if (hash.digest('hex') !== record.sha256) return { tensors, discarded: `shard ${record.file} changed since it was written (sha256 differs)` };
      this.finished.push(record);
      tensors += this.layouts[i].tensors.length;
    }
    const partial = position.partial;
    if (!partial) return { tensors };
    const index = this.finished.length;
    const layout = this.layouts[index];
    const expected = this.partialName(index);
    const done = layout?.tensors.findIndex((t) => t.start + t.byteLength === partial.bytes);
    const headerOnly = partial.bytes === layout?.header.byteLength;
    if (!layout || partial.file !== expected || (done === -1 && !headerOnly)) return { tensors, discarded: `partial shard ${partial.file} does not belong to this plan` };
    const file = path.join(this.dir, partial.file);
    const size = await sizeOf(file);
    if (size === undefined || size < partial.bytes) return { tensors, discarded: `partial shard ${partial.file} is missing or shorter than recorded` };
    const hash = createHash('sha256');
    await hashPrefix(file, partial.bytes, hash);
    if (hash.copy().digest('hex') !== partial.sha256) return { tensors, discarded: `partial shard ${partial.file} changed since it was recorded (sha256 differs)` };
    const handle = await open(file, 'r+');
    await handle.truncate(partial.bytes);
    this.shard = index;
    this.handle = handle;
    this.hash = hash;
    this.position = partial.bytes;
    this.inShard = headerOnly ? 0 : done + 1;
    return { tensors: tensors + this.inShard };
  }

  /** Starts the tensor of global index `index` (tensors come in spec order). */
  async beginTensor(index: number): Promise<LaidOutTensor> {
    const [shard, inShard] = this.where[index];
    if (shard !== this.shard) {
      if (this.handle) throw new PatchworkError('INTERNAL', `shard ${this.files[this.shard]} was left unfinished`);
      await this.openShard(shard);
    }
    if (inShard !== this.inShard) throw new PatchworkError('INTERNAL', `tensor ${index} written out of order`);
    const tensor = this.layouts[shard].tensors[inShard];
    if (this.position !== tensor.start) throw new PatchworkError('INTERNAL', `${this.files[shard]}: at byte ${this.position}, tensor ${tensor.name} starts at ${tensor.start}`);
    this.tensorEnd = tensor.start + tensor.byteLength;
    return tensor;
  }

  /** The next bytes of the current tensor. */
  async write(bytes: Uint8Array): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new PatchworkError('INTERNAL', 'write outside a tensor');
    if (this.position + bytes.byteLength > this.tensorEnd) throw new PatchworkError('INTERNAL', `${this.files[this.shard]}: chunk runs past the tensor's end`);
    await this.append(handle, bytes);
    this.written += bytes.byteLength;
  }

  private async append(handle: FileHandle, bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, this.position + done);
      done += bytesWritten;
    }
    this.hash?.update(bytes);
    this.position += bytes.byteLength;
  }

  /** Closes the current tensor; the shard is published when it was its last. */
  async endTensor(): Promise<void> {
    if (this.position !== this.tensorEnd) throw new PatchworkError('INTERNAL', `${this.files[this.shard]}: tensor ended at byte ${this.position}, expected ${this.tensorEnd}`);
    this.inShard++;
    if (this.inShard === this.layouts[this.shard].tensors.length) await this.closeShard();
    else if (this.options.durable) await this.handle?.datasync();
  }

  /** The position to record after `endTensor` (needs hashing). */
  current(): WriterPosition {
    if (!this.options.hashing) throw new PatchworkError('INTERNAL', 'positions need hashing');
    const shards = [...this.finished];
    if (!this.handle || !this.hash) return { shards };
    return { shards, partial: { file: this.partialName(this.shard), bytes: this.position, sha256: this.hash.copy().digest('hex') } };
  }

  /** Writes the index (several shards), removes files of earlier saves, returns every path. */
  async finish(): Promise<string[]> {
    // A checkpoint without tensors is one header-only file.
    while (!this.handle && this.finished.length < this.files.length && this.layouts[this.finished.length].tensors.length === 0) {
      await this.openShard(this.finished.length);
      await this.closeShard();
    }
    if (this.handle || this.finished.length !== this.files.length) throw new PatchworkError('INTERNAL', 'finish before every tensor was written');
    const written = this.files.map((f) => path.join(this.dir, f));
    if (this.files.length > 1) {
      const weightMap: Record<string, string> = {};
      let total = 0;
      this.layouts.forEach((layout, i) =>
        layout.tensors.forEach((t) => {
          weightMap[t.name] = this.files[i];
          total += t.byteLength;
        }),
      );
      const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
      const indexPath = path.join(this.dir, `${BASE}.safetensors.index.json`);
      const temp = `${indexPath}.${process.pid}.tmp`;
      await writeFile(temp, `${JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2)}\n`);
      await rename(temp, indexPath);
      written.push(indexPath);
    }
    const keep = new Set(written.map((p) => path.basename(p)));
    for (const entry of await readdir(this.dir)) {
      if ((OURS.test(entry) && !keep.has(entry)) || OUR_PARTIALS.test(entry)) await unlink(path.join(this.dir, entry)).catch(() => undefined);
    }
    await syncDirectory(this.dir);
    return written;
  }

  /** Stops writing; `keep` leaves the shards and the partial file for a later resume. */
  async abort(keep: boolean): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close().catch(() => undefined);
    if (keep) return;
    const names = [...this.finished.map((r) => r.file), ...(this.shard >= 0 ? [this.partialName(this.shard)] : [])];
    await Promise.all(names.map((n) => unlink(path.join(this.dir, n)).catch(() => undefined)));
  }

  private partialName(shard: number): string {
    return `.${this.files[shard]}.partial`;
  }

  private async openShard(shard: number): Promise<void> {
    if (shard !== this.finished.length) throw new PatchworkError('INTERNAL', `shard ${shard} opened before shard ${this.finished.length} finished`);
    const handle = await open(path.join(this.dir, this.partialName(shard)), 'w');
    this.shard = shard;
    this.handle = handle;
    this.inShard = 0;
    this.position = 0;
    this.hash = this.options.hashing ? createHash('sha256') : undefined;
    await this.append(handle, this.layouts[shard].header);
  }

  private async closeShard(): Promise<void> {
    const handle = this.handle as FileHandle;
    const layout = this.layouts[this.shard];
    if (this.position !== layout.fileBytes) throw new PatchworkError('INTERNAL', `${this.files[this.shard]}: ${this.position} of ${layout.fileBytes} bytes written`);
    await handle.sync();
    await handle.close();
    this.handle = undefined;
    const file = this.files[this.shard];
    await rename(path.join(this.dir, this.partialName(this.shard)), path.join(this.dir, file));
    await syncDirectory(this.dir);
    this.finished.push({ file, bytes: layout.fileBytes, sha256: this.hash ? this.hash.digest('hex') : '' });
    this.hash = undefined;
  }
}
