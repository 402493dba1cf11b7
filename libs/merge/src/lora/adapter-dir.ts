import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { DType, SafetensorsFile, encodeFloat32, isFloatDType, writeSafetensors } from '@patchwork/tensor';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** A float32 matrix (row-major) with the tensor's on-disk shape. */
export interface StoredMatrix {
  shape: number[];
  rows: number;
  cols: number;
  values: Float32Array;
}

/** One adapted module: ΔW = scaling · B·A, with A [r, in] and B [out, r] as 2-D views. */
export interface LoraModule {
  /** Module path as PEFT's patterns see it (no `base_model.model.` prefix). */
  module: string;
  /** Key stem in the file, up to and excluding `.lora_A...`. */
  stem: string;
  embedding: boolean;
  a: StoredMatrix;
  b: StoredMatrix;
  rank: number;
}

export interface LoraAdapter {
  dir: string;
  config: Record<string, unknown>;
  modules: Map<string, LoraModule>;
  /** dtype of the first lora_A tensor; PEFT casts a combination back to it. */
  dtype: DType;
}

const PREFIX = 'base_model.model.';
const PAIRS: { a: string; b: string; embedding: boolean }[] = [
  { a: '.lora_A.weight', b: '.lora_B.weight', embedding: false },
  { a: '.lora_embedding_A', b: '.lora_embedding_B', embedding: true },
];

function refuse(dir: string, problem: string): PatchworkError {
  return new PatchworkError('FAILED_PRECONDITION', `adapter ${dir}: ${problem}`, { violations: [{ field: dir, description: problem }] });
}

async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, ADAPTER_CONFIG);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PatchworkError('NOT_FOUND', `adapter ${dir} has no ${ADAPTER_CONFIG}`);
    throw PatchworkError.from(err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PatchworkError('INVALID_ARGUMENT', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new PatchworkError('INVALID_ARGUMENT', `${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

function asMatrix(shape: number[], values: Float32Array, kind: 'A' | 'B'): StoredMatrix | string {
  if (shape.length < 2) return `lora_${kind} must have at least 2 dimensions, got [${shape.join(', ')}]`;
  if (kind === 'A') return { shape, rows: shape[0], cols: values.length / Math.max(shape[0], 1), values };
  // Conv B is [out, r, 1, 1]: anything after the rank axis must be 1 for B·A to be the delta.
  if (shape.slice(2).some((s) => s !== 1)) return `lora_B of shape [${shape.join(', ')}] is not [out, r, 1, ...]`;
  return { shape, rows: shape[0], cols: shape[1], values };
}

/**
 * Reads a PEFT LoRA adapter directory (`adapter_config.json` + `adapter_model.safetensors`) into
 * its A/B pairs. Refused, with the reason, rather than combined wrongly: other PEFT types
 * (AdaLoRA's lora_E), DoRA, LoRA biases, and tensors that are not LoRA factors
 * (`modules_to_save` copies, for instance).
 */
export async function readLoraAdapter(dir: string): Promise<LoraAdapter> {
  const config = await readConfig(dir);
  const peftType = config['peft_type'];
  if (peftType !== undefined && peftType !== 'LORA') throw refuse(dir, `peft_type ${JSON.stringify(peftType)} is not LORA; only LoRA adapters can be combined`);
  if (config['use_dora'] === true) throw refuse(dir, 'DoRA adapters (use_dora) cannot be combined: their magnitude vectors have no weighted-sum meaning');
  if (config['lora_bias'] === true) throw refuse(dir, 'adapters with lora_bias cannot be combined');
  const weightsPath = path.join(dir, ADAPTER_WEIGHTS);
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(weightsPath);
  } catch (err) {
    const e = PatchworkError.from(err);
    if (e.code === 'NOT_FOUND' || /ENOENT|no such file/i.test(e.message)) throw new PatchworkError('NOT_FOUND', `adapter ${dir} has no ${ADAPTER_WEIGHTS}`);
    throw e;
  }
  try {
    const modules = new Map<string, LoraModule>();
    const used = new Set<string>();
    const present = new Set(file.names());
    let dtype: DType | undefined;
    for (const name of file.names()) {
      const pair = PAIRS.find((p) => name.endsWith(p.a));
      if (!pair) continue;
      const stem = name.slice(0, -pair.a.length);
      const bName = stem + pair.b;
      if (!present.has(bName)) throw refuse(dir, `${name} has no matching ${bName}`);
      const aInfo = file.info(name);
      const bInfo = file.info(bName);
      if (!isFloatDType(aInfo.dtype) || !isFloatDType(bInfo.dtype)) throw refuse(dir, `${stem} has non-float LoRA factors (${aInfo.dtype}, ${bInfo.dtype})`);
      dtype ??= aInfo.dtype;
      const a = asMatrix([...aInfo.shape], await file.readFloat32(name), 'A');
      const b = asMatrix([...bInfo.shape], await file.readFloat32(bName), 'B');
      if (typeof a === 'string') throw refuse(dir, `${name}: ${a}`);
      if (typeof b === 'string') throw refuse(dir, `${bName}: ${b}`);
      if (a.rows !== b.cols) throw refuse(dir, `${stem}: lora_A has rank ${a.rows} but lora_B has ${b.cols}`);
      const module = stem.startsWith(PREFIX) ? stem.slice(PREFIX.length) : stem;
      modules.set(module, { module, stem, embedding: pair.embedding, a, b, rank: a.rows });
      used.add(name).add(bName);
    }
    const others = file.names().filter((n) => !used.has(n));
    if (others.length > 0) {
      throw refuse(dir, `holds tensors that are not LoRA A/B factors (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); DoRA, AdaLoRA and modules_to_save cannot be combined`);
    }
    if (modules.size === 0) throw refuse(dir, `${ADAPTER_WEIGHTS} holds no LoRA factors`);
    return { dir, config, modules, dtype: dtype as DType };
  } finally {
    await file.close();
  }
}

/** Writes a PEFT adapter directory; the weights file is written atomically, then the config. */
export async function writeLoraAdapter(dir: string, config: Record<string, unknown>, modules: LoraModule[], dtype: DType): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const tensors: Record<string, { dtype: DType; shape: number[]; data: Uint8Array }> = {};
  for (const m of modules) {
    const pair = PAIRS.find((p) => p.embedding === m.embedding) as (typeof PAIRS)[number];
    tensors[m.stem + pair.a] = { dtype, shape: m.a.shape, data: encodeFloat32(m.a.values, dtype) };
    tensors[m.stem + pair.b] = { dtype, shape: m.b.shape, data: encodeFloat32(m.b.values, dtype) };
  }
  const weights = path.join(dir, ADAPTER_WEIGHTS);
  await writeSafetensors(weights, tensors, { format: 'pt' });
  const configPath = path.join(dir, ADAPTER_CONFIG);
  const temp = `${configPath}.tmp-${process.pid}`;
  await fs.writeFile(temp, `${JSON.stringify(config, null, 2)}\n`);
  await fs.rename(temp, configPath);
  return [weights, configPath];
}
