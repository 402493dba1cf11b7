import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { DType, DTYPES, isDType, tensorByteLength } from './dtype';

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface PlannedTensor extends TensorSpec {
  /** Offset within the data section. */
  begin: number;
  byteLength: number;
}

export interface FileLayout {
  /** The 8-byte length prefix followed by the space-padded JSON header. */
  headerBytes: Uint8Array;
  tensors: PlannedTensor[];
  /** Total file size. */
  fileBytes: number;
}

/** Checks specs for a file: names unique and not `__metadata__`, dtypes known, shapes valid. */
export function validateSpecs(specs: readonly TensorSpec[], field = 'specs'): void {
  const errors = new ViolationCollector();
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const at = `${field}[${i}]`;
    if (typeof spec?.name !== 'string') {
      errors.add(`${at}.name`, 'must be a string');
      return;
    }
    if (spec.name === '__metadata__') errors.add(`${at}.name`, '"__metadata__" is reserved by the format');
    if (seen.has(spec.name)) errors.add(`${at}.name`, `duplicate tensor name ${JSON.stringify(spec.name)}`);
    seen.add(spec.name);
    if (!isDType(spec.dtype)) errors.add(`${at}.dtype`, `unknown dtype ${JSON.stringify(spec.dtype)}; expected one of ${DTYPES.join(', ')}`);
    else {
      try {
        tensorByteLength(spec.dtype, spec.shape, `${at}.shape`);
      } catch (e) {
        const v = (e as PatchworkError).violations?.[0];
        errors.add(v?.field ?? `${at}.shape`, v?.description ?? (e as Error).message);
      }
    }
  });
  errors.throwIfAny();
}

function validateMetadata(metadata: Record<string, string>): void {
  const errors = new ViolationCollector();
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') errors.add(`metadata.${key}`, `must be a string, got ${typeof value}`);
  }
  errors.throwIfAny();
}

/**
 * Lays tensors out in the given order and builds the header as the reference writer does: JSON
 * with `__metadata__` first, padded with spaces to a multiple of 8 bytes so the data section
 * starts aligned.
 */
export function planFile(specs: readonly TensorSpec[], metadata?: Record<string, string>): FileLayout {
  validateSpecs(specs);
  // A null prototype keeps a tensor named `__proto__` an ordinary key.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    validateMetadata(metadata);
    header['__metadata__'] = metadata;
  }
  const tensors: PlannedTensor[] = [];
  let offset = 0;
  for (const spec of specs) {
    const byteLength = tensorByteLength(spec.dtype, spec.shape);
    header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + byteLength] };
    tensors.push({ name: spec.name, dtype: spec.dtype, shape: [...spec.shape], begin: offset, byteLength });
    offset += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const headerBytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true);
  headerBytes.set(json, 8);
  return { headerBytes, tensors, fileBytes: headerBytes.byteLength + offset };
}
