import { open, type FileHandle } from 'node:fs/promises';
import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, decodeToFloat32, dtypeByteSize } from '@patchwork/tensor';

/** Node caps one read near 2 GiB; larger ranges move in slices of this size. */
const IO_SLICE = 256 * 1024 * 1024;

/**
 * Reads element ranges of checkpoint tensors by byte offset, so a tensor larger than the memory
 * budget can be merged a few rows at a time. `Checkpoint` reads whole tensors only; this opens
 * each shard file once more and reads `byteOffset + start … end` itself. Every read counts into
 * `bytesRead`.
 */
export class InputReader {
  bytesRead = 0;
  private readonly handles = new Map<string, Promise<FileHandle>>();

  /**
   * Elements [start, start + count) of a tensor as float32. Read into `into` when given (reused
   * memory, which must hold the stored bytes: float32 data is then a view of it), else into a
   * fresh array the caller owns.
   */
  async readFloat32(checkpoint: Checkpoint, name: string, start: number, count: number, into?: ArrayBuffer): Promise<Float32Array> {
    const info = checkpoint.info(name);
    const size = dtypeByteSize(info.dtype);
    const bytes = await this.readBytes(checkpoint, name, start * size, count * size, into);
    // Buffers start aligned, so float32 data is viewed, not copied.
    return info.dtype === 'F32' ? new Float32Array(bytes.buffer, bytes.byteOffset, count) : decodeToFloat32(bytes, info.dtype);
  }

  /** Bytes [from, from + length) of a tensor's data, exactly as stored (into `into` when given). */
  async readBytes(checkpoint: Checkpoint, name: string, from: number, length: number, into?: ArrayBuffer): Promise<Uint8Array> {
    const info = checkpoint.info(name);
    if (from < 0 || length < 0 || from + length > info.byteLength) {
      throw new PatchworkError('INTERNAL', `read of bytes [${from}, ${from + length}) outside tensor ${name} (${info.byteLength} bytes)`);
    }
    const handle = await this.handleOf(info.file);
    if (into && into.byteLength < length) throw new PatchworkError('INTERNAL', `read buffer of ${into.byteLength} bytes for ${length}`);
    const out = into ? new Uint8Array(into, 0, length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const position = info.byteOffset + from + done;
      const { bytesRead } = await handle.read(out, done, Math.min(IO_SLICE, length - done), position);
      if (bytesRead === 0) throw new PatchworkError('DATA_LOSS', `${info.file}: file ended at byte ${position} while reading tensor ${name} (was it truncated after opening?)`);
      done += bytesRead;
    }
    this.bytesRead += length;
    return out;
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (h) => (await h.catch(() => undefined))?.close()));
  }

  private handleOf(file: string): Promise<FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(file, 'r').catch((err: unknown) => {
        this.handles.delete(file);
        throw PatchworkError.from(err);
      });
      this.handles.set(file, handle);
    }
    return handle;
  }
}
