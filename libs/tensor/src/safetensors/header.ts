import { PatchworkError } from '@patchwork/errors';
import { DType, DTYPES, checkedElementCount, dtypeByteSize, isDType } from './dtype';
import { findDuplicateKey } from './duplicate-keys';

/** The reference implementation's ceiling; a larger header is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute offset of the first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** In file order (by offset). */
  tensors: TensorInfo[];
}

export function corruptFile(source: string, problem: string): PatchworkError {
  return new PatchworkError('INVALID_ARGUMENT', `invalid safetensors file ${source}: ${problem}`, {
    violations: [{ field: source, description: problem }],
  });
}

/** Validates the 8-byte length prefix against the file size; returns the header length. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) throw corruptFile(source, `file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n === 0n) throw corruptFile(source, 'header length is 0');
  if (n > BigInt(MAX_HEADER_BYTES)) throw corruptFile(source, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8n + n > BigInt(fileSize)) throw corruptFile(source, `header length ${n} runs past the end of the ${fileSize}-byte file`);
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Parses and validates a header the way the Rust `safetensors` crate does: every tensor's
 * dtype, shape and byte range must agree, and the ranges, sorted by offset, must tile the data
 * section exactly (no overlap, no hole, nothing after the last tensor). `dataLength` is the
 * file size minus 8 minus the header length.
 */
export function parseHeader(headerBytes: Uint8Array, dataStart: number, dataLength: number, source: string): ParsedHeader {
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw corruptFile(source, 'header is not valid UTF-8');
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw corruptFile(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(root)) throw corruptFile(source, `header must be a JSON object, got ${Array.isArray(root) ? 'an array' : describe(root)}`);
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw corruptFile(source, `header has a duplicate key ${JSON.stringify(duplicate)}`);

  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const relative = new Map<TensorInfo, [number, number]>();
  for (const [name, entry] of Object.entries(root)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw corruptFile(source, `__metadata__ must be an object of strings, got ${describe(entry)}`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw corruptFile(source, `__metadata__.${key} must be a string, got ${describe(value)}`);
      }
      // fromEntries defines own properties, so a `__proto__` key stays data.
      metadata = Object.fromEntries(Object.entries(entry)) as Record<string, string>;
      continue;
    }
    const where = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(entry)) throw corruptFile(source, `${where} must be an object with dtype, shape and data_offsets, got ${describe(entry)}`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (!isDType(dtype)) throw corruptFile(source, `${where} has unknown dtype ${describe(dtype)} (supported: ${DTYPES.join(', ')})`);
    const count = checkedElementCount(shape);
    if (typeof count === 'string') throw corruptFile(source, `${where}: ${count}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw corruptFile(source, `${where}: data_offsets must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw corruptFile(source, `${where}: data_offsets begin ${begin} is after end ${end}`);
    const expected = count * dtypeByteSize(dtype);
    if (end - begin !== expected) {
      throw corruptFile(source, `${where}: data_offsets span ${end - begin} bytes but shape ${describe(shape)} of ${dtype} needs ${expected}`);
    }
    if (end > dataLength) {
      throw corruptFile(source, `${where} ends at data byte ${end} but the data section holds only ${dataLength} bytes (truncated file?)`);
    }
    const info: TensorInfo = { name, dtype, shape: [...(shape as number[])], byteOffset: dataStart + begin, byteLength: expected };
    tensors.push(info);
    relative.set(info, [begin, end]);
  }

  tensors.sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  let cursor = 0;
  let previous: TensorInfo | undefined;
  for (const info of tensors) {
    const [begin, end] = relative.get(info) as [number, number];
    if (begin < cursor) {
      throw corruptFile(source, `tensor ${JSON.stringify(info.name)} at data bytes [${begin}, ${end}) overlaps tensor ${JSON.stringify(previous?.name)} ending at ${cursor}`);
    }
    if (begin > cursor) {
      throw corruptFile(source, `data bytes [${cursor}, ${begin}) before tensor ${JSON.stringify(info.name)} belong to no tensor`);
    }
    cursor = end;
    previous = info;
  }
  if (cursor !== dataLength) throw corruptFile(source, `${dataLength - cursor} bytes after the last tensor belong to no tensor`);
  return { metadata, tensors };
}
