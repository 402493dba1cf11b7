import { PatchworkError } from '@patchwork/errors';
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { fsError, writeFully } from './file-io';
import { FileLayout, TensorSpec, planFile } from './layout';

/** fsyncs a directory so a rename inside it survives a crash; some filesystems refuse, which is harmless. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Directory fsync is unsupported on some platforms; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

export function tempPathFor(path: string): string {
  const dir = nodePath.dirname(path);
  return nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

type State = 'writing' | 'finished' | 'aborted';

/**
 * Streams a safetensors file: the header is written first (sizes are known from the specs), then
 * each tensor in spec order, so at most one tensor is in memory. The file appears at `path` only
 * on `finish` (temp file in the same directory, fsync, atomic rename); `abort` leaves nothing.
 */
export class SafetensorsWriter {
  readonly path: string;
  private readonly tempPath: string;
  private readonly layout: FileLayout;
  private handle: FileHandle | undefined;
  private next = 0;
  private state: State = 'writing';

  private constructor(path: string, tempPath: string, handle: FileHandle, layout: FileLayout) {
    this.path = path;
    this.tempPath = tempPath;
    this.handle = handle;
    this.layout = layout;
  }

  static async create(path: string, specs: TensorSpec[], metadata?: Record<string, string>): Promise<SafetensorsWriter> {
    const layout = planFile(specs, metadata);
    const tempPath = tempPathFor(path);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (e) {
      throw fsError(e, `cannot create ${tempPath} for ${path}`);
    }
    const writer = new SafetensorsWriter(path, tempPath, handle, layout);
    try {
      await writeFully(handle, layout.headerBytes, 0);
    } catch (e) {
      await writer.abort();
      throw fsError(e, `cannot write ${path}`);
    }
    return writer;
  }

  /** Names of the tensors still to write, in order. */
  pending(): string[] {
    return this.layout.tensors.slice(this.next).map((t) => t.name);
  }

  /** Writes the next tensor; `name` must be the next spec and `bytes` its exact byte length. */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    const handle = this.requireOpen();
    const planned = this.layout.tensors[this.next];
    if (planned === undefined) throw new PatchworkError('FAILED_PRECONDITION', `${this.path}: all tensors are written; unexpected ${JSON.stringify(name)}`);
    if (planned.name !== name) {
      throw new PatchworkError('FAILED_PRECONDITION', `${this.path}: tensors must be written in spec order; expected ${JSON.stringify(planned.name)}, got ${JSON.stringify(name)}`);
    }
    if (!(bytes instanceof Uint8Array)) throw new PatchworkError('INVALID_ARGUMENT', `${this.path}: tensor ${JSON.stringify(name)} must be given as a Uint8Array`);
    if (bytes.byteLength !== planned.byteLength) {
      throw new PatchworkError(
        'INVALID_ARGUMENT',
        `${this.path}: tensor ${JSON.stringify(name)} (${planned.dtype} ${JSON.stringify(planned.shape)}) needs ${planned.byteLength} bytes, got ${bytes.byteLength}`,
      );
    }
    // Claim the slot before awaiting so an un-awaited second call sees the next spec.
    this.next++;
    try {
      await writeFully(handle, bytes, this.layout.headerBytes.byteLength + planned.begin);
    } catch (e) {
      await this.abort();
      throw fsError(e, `cannot write ${this.path}`);
    }
  }

  /** Durably publishes the file at `path`; FAILED_PRECONDITION if a tensor was not written. */
  async finish(): Promise<void> {
    const handle = this.requireOpen();
    if (this.next < this.layout.tensors.length) {
      const missing = this.pending();
      throw new PatchworkError('FAILED_PRECONDITION', `${this.path}: ${missing.length} tensor(s) not written yet: ${missing.slice(0, 5).map((n) => JSON.stringify(n)).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    }
    try {
      await handle.sync();
      await handle.close();
      this.handle = undefined;
      await rename(this.tempPath, this.path);
      this.state = 'finished';
    } catch (e) {
      await this.abort();
      throw fsError(e, `cannot publish ${this.path}`);
    }
    await syncDirectory(nodePath.dirname(this.path));
  }

  /** Discards the temp file. Safe to call more than once; a no-op after `finish`. */
  async abort(): Promise<void> {
    if (this.state !== 'writing') return;
    this.state = 'aborted';
    const handle = this.handle;
    this.handle = undefined;
    try {
      await handle?.close();
    } finally {
      await unlink(this.tempPath).catch(() => undefined);
    }
  }

  private requireOpen(): FileHandle {
    if (this.state !== 'writing' || this.handle === undefined) throw new PatchworkError('FAILED_PRECONDITION', `${this.path}: writer is already ${this.state}`);
    return this.handle;
  }
}
