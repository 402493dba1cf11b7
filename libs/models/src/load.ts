import { PatchworkError } from '@patchwork/errors';
import { Checkpoint, type CheckpointOptions, tf } from '@patchwork/tensor';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { architectureFor } from './architectures/registry';
import { ConfigReader, type RawConfig } from './config/config-reader';
import { ModuleNames } from './core/module-names';
import type { Architecture } from './core/types';
import { Model } from './model';

export type LoadModelOptions = CheckpointOptions;

/** Reads and parses `config.json` of a Hugging Face model directory. */
export async function readModelConfig(dir: string): Promise<RawConfig> {
  const path = nodePath.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    // Checked by `code`: errors from node:fs fail `instanceof Error` inside Jest's module realm.
    const code = (e as { code?: unknown }).code === 'ENOENT' ? 'NOT_FOUND' : PatchworkError.from(e).code;
    throw new PatchworkError(code, `cannot read model config ${path}: ${(e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new PatchworkError('INVALID_ARGUMENT', `${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PatchworkError('INVALID_ARGUMENT', `${path} must hold a JSON object`);
  }
  return parsed as RawConfig;
}

/**
 * The keys a canonical parameter may be stored under, in order of preference: its canonical and
 * alias spellings, then the same without the base-model prefix (checkpoints of the bare base
 * model, e.g. the original `gpt2` with `h.0.attn...`), then TF-era `LayerNorm.gamma/beta`.
 */
export function storedKeyCandidates(key: string, arch: Architecture, names: ModuleNames): string[] {
  const out: string[] = [];
  for (const spelling of names.spellings(key)) {
    out.push(spelling);
    if (spelling.startsWith(arch.basePrefix)) out.push(spelling.slice(arch.basePrefix.length));
  }
  for (const k of [...out]) {
    if (k.endsWith('LayerNorm.weight')) out.push(`${k.slice(0, -'weight'.length)}gamma`);
    else if (k.endsWith('LayerNorm.bias')) out.push(`${k.slice(0, -'bias'.length)}beta`);
  }
  return out;
}

async function readParams(checkpoint: Checkpoint, arch: Architecture, expected: Iterable<string>, dir: string): Promise<Map<string, tf.Tensor>> {
  const names = new ModuleNames(arch.moduleAliases);
  const located = new Map<string, string>();
  const missing: string[] = [];
  for (const key of expected) {
    const stored = storedKeyCandidates(key, arch, names).find((k) => checkpoint.has(k));
    if (stored === undefined) missing.push(key);
    else located.set(key, stored);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, ... (${missing.length - 8} more)` : '');
    throw new PatchworkError('INVALID_ARGUMENT', `checkpoint in ${dir} lacks ${missing.length} tensor(s) of ${arch.classNames[0]}: ${shown}`, {
      violations: missing.map((key) => ({ field: `checkpoint.${key}`, description: 'is missing' })),
    });
  }
  const params = new Map<string, tf.Tensor>();
  try {
    for (const [key, stored] of located) params.set(key, await checkpoint.readTensor(stored));
  } catch (e) {
    for (const t of params.values()) t.dispose();
    throw e;
  }
  return params;
}

/**
 * Loads a Hugging Face model directory: `config.json` plus `model.safetensors` or a sharded
 * checkpoint (`model.safetensors.index.json`). Weights stored as F16/BF16 are widened to float32;
 * only the tensors the architecture needs are read (a tied `lm_head.weight` copy is skipped).
 * Unsupported `model_type`, a missing tensor or a wrong shape is INVALID_ARGUMENT naming it.
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<Model> {
  const config = await readModelConfig(dir);
  const arch = architectureFor(config, nodePath.join(dir, 'config.json'));
  const layout = arch.instantiate(new ConfigReader(config)).layout;
  const checkpoint = await Checkpoint.open(dir, options);
  let params: Map<string, tf.Tensor>;
  try {
    params = await readParams(checkpoint, arch, layout.params.keys(), dir);
  } finally {
    await checkpoint.close();
  }
  try {
    return Model.create(config, params);
  } catch (e) {
    for (const t of params.values()) t.dispose();
    const err = PatchworkError.from(e);
    throw new PatchworkError(err.code, `checkpoint in ${dir} does not fit its config: ${err.message}`, { violations: err.violations, cause: e });
  }
}
