import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';
import { open, type FileHandle } from 'node:fs/promises';
import { decodeToFloat32 } from './codec';
import { fsError, readExactly } from './file-io';
import { ParsedHeader, TensorInfo, parseHeader, parseHeaderLength } from './header';
import { bytesToTensor } from './to-tensor';

/**
 * A safetensors file opened for random access. Only the header is held in memory; each read
 * fetches one tensor's bytes by offset, so files far larger than RAM are fine.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** In file order. */
  readonly tensors: TensorInfo[];
  private readonly byName: Map<string, TensorInfo>;
  private handle: FileHandle | undefined;

  private constructor(path: string, handle: FileHandle, header: ParsedHeader) {
    this.path = path;
    this.handle = handle;
    this.metadata = header.metadata;
    this.tensors = header.tensors;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Opens and validates `path`; a malformed file is an INVALID_ARGUMENT naming the file and the problem. */
  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      throw fsError(e, `cannot open safetensors file ${path}`);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new PatchworkError('INVALID_ARGUMENT', `${path} is not a regular file`);
      const size = stat.size;
      const prefix = size >= 8 ? await readExactly(handle, 0, 8, path) : new Uint8Array(8);
      const headerLength = parseHeaderLength(prefix, size, path);
      const headerBytes = await readExactly(handle, 8, headerLength, path);
      const dataStart = 8 + headerLength;
      const header = parseHeader(headerBytes, dataStart, size - dataStart, path);
      return new SafetensorsFile(path, handle, header);
    } catch (e) {
      await handle.close();
      throw fsError(e, `cannot read safetensors file ${path}`);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return this.tensors.map((t) => t.name);
  }

  /** NOT_FOUND when the file has no tensor of that name. */
  info(name: string): TensorInfo {
    const info = this.byName.get(name);
    if (info === undefined) throw new PatchworkError('NOT_FOUND', `tensor ${JSON.stringify(name)} not found in ${this.path}`);
    return info;
  }

  /** The tensor's exact bytes (little-endian, the file's dtype). */
  async readRaw(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    if (this.handle === undefined) throw new PatchworkError('FAILED_PRECONDITION', `safetensors file ${this.path} is closed`);
    return readExactly(this.handle, info.byteOffset, info.byteLength, this.path);
  }

  /** Any dtype as float32 values (integers and booleans as their numbers). */
  async readFloat32(name: string): Promise<Float32Array> {
    return decodeToFloat32(await this.readRaw(name), this.info(name).dtype);
  }

  /** Floats -> float32, I64/I32/U8 -> int32 (OUT_OF_RANGE if an I64 does not fit), BOOL -> bool. The caller disposes it. */
  async readTensor(name: string): Promise<tf.Tensor> {
    return bytesToTensor(await this.readRaw(name), this.info(name), this.path);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.close();
  }
}
