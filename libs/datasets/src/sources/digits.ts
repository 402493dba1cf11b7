import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PatchworkError } from '@patchwork/errors';

/** The UCI optical-recognition digits (scikit-learn's copy): 8x8 images, pixels 0..16, labels 0..9. */
export interface DigitsData {
  count: number;
  width: 8;
  height: 8;
  /** Row-major images, `count * 64` values in 0..16. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

export const DIGITS_COUNT = 1797;
const FEATURES = 64;

/** The copy shipped with this library (data/digits.csv.gz, described in data/digits.rst). */
export const DIGITS_FILE = path.resolve(__dirname, '../../data/digits.csv.gz');

const cache = new Map<string, DigitsData>();

function corrupt(file: string, detail: string): PatchworkError {
  return new PatchworkError('DATA_LOSS', `digits: ${file}: ${detail}`);
}

export function parseDigitsCsv(csv: string, file: string): DigitsData {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== DIGITS_COUNT) throw corrupt(file, `expected ${DIGITS_COUNT} rows, found ${lines.length}`);
  const pixels = new Uint8Array(DIGITS_COUNT * FEATURES);
  const labels = new Uint8Array(DIGITS_COUNT);
  lines.forEach((line, row) => {
    const values = line.split(',').map(Number);
    if (values.length !== FEATURES + 1) throw corrupt(file, `row ${row + 1} has ${values.length} columns, expected ${FEATURES + 1}`);
    values.forEach((v, col) => {
      const max = col === FEATURES ? 9 : 16;
      if (!Number.isInteger(v) || v < 0 || v > max) throw corrupt(file, `row ${row + 1} column ${col + 1}: ${v} is not an integer in 0..${max}`);
    });
    pixels.set(values.slice(0, FEATURES), row * FEATURES);
    labels[row] = values[FEATURES];
  });
  return { count: DIGITS_COUNT, width: 8, height: 8, pixels, labels };
}

/**
 * Loads the 1797 digit images (cached per file). `file` points at another copy of the same CSV,
 * for bundles in which this library's data directory is not beside its code.
 */
export function loadDigits(options: { file?: string } = {}): DigitsData {
  const file = options.file ?? DIGITS_FILE;
  const cached = cache.get(file);
  if (cached) return cached;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const e = PatchworkError.from(error);
    throw new PatchworkError(e.code, `digits: cannot read ${file}: ${e.message}`, { cause: error });
  }
  let csv: string;
  try {
    csv = gunzipSync(bytes).toString('utf8');
  } catch (error) {
    throw new PatchworkError('DATA_LOSS', `digits: ${file} is not a valid gzip file`, { cause: error });
  }
  const data = parseDigitsCsv(csv, file);
  cache.set(file, data);
  return data;
}

/** Image `i` as 64 floats, scaled to [0, 1] (pixel / 16) unless `raw`. */
export function digitFeatures(data: DigitsData, i: number, raw = false): Float32Array {
  const out = new Float32Array(FEATURES);
  const scale = raw ? 1 : 1 / 16;
  for (let k = 0; k < FEATURES; k++) out[k] = data.pixels[i * FEATURES + k] * scale;
  return out;
}
