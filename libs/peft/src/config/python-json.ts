import { PatchworkError } from '@patchwork/errors';

/**
 * A number Python holds as a float. JSON from `json.dumps` writes `0.0`, not `0`; PEFT's config
 * fields typed `float` (dropout, betas) therefore need the marker to come out byte-identical.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 and from 1e16 on. */
export function pythonFloatRepr(x: number): string {
  if (!Number.isFinite(x)) throw new PatchworkError('INVALID_ARGUMENT', `cannot write ${x} to JSON`);
  if (Object.is(x, -0)) return '-0.0';
  const [mantissa, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    const fixed = String(x);
    // String(x) is fixed notation in this range; an integral value gets Python's ".0".
    return /[.e]/.test(fixed) ? fixed : `${fixed}.0`;
  }
  const sign = exp < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** A JSON string literal as Python writes it with `ensure_ascii=True` (every non-ASCII char escaped). */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function write(value: unknown, indent: string, path: string): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new PatchworkError('INVALID_ARGUMENT', `${path}: cannot write ${value} to JSON`);
    return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
  }
  if (typeof value === 'string') return pythonString(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v, i) => inner + write(v, inner, `${path}[${i}]`)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value as object).sort();
    if (keys.length === 0) return '{}';
    const record = value as Record<string, unknown>;
    return `{\n${keys.map((k) => `${inner}${pythonString(k)}: ${write(record[k], inner, `${path}.${k}`)}`).join(',\n')}\n${indent}}`;
  }
  throw new PatchworkError('INVALID_ARGUMENT', `${path}: cannot write a ${typeof value} to JSON`);
}

/**
 * `json.dumps(value, indent=2, sort_keys=True)` byte for byte, the way PEFT writes
 * `adapter_config.json` (no trailing newline). Integral JS numbers are written as Python ints;
 * wrap values Python would hold as floats in `PyFloat`.
 */
export function toPythonJson(value: unknown): string {
  return write(value, '', '$');
}
