import { PatchworkError } from '@patchwork/errors';
import { type DType, SafetensorsFile, type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME } from '../config/peft-format';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function fsFailure(e: unknown, what: string): PatchworkError {
  const code = (e as { code?: unknown }).code === 'ENOENT' ? 'NOT_FOUND' : PatchworkError.from(e).code;
  return new PatchworkError(code, `${what}: ${(e as Error).message}`, { cause: e });
}

async function writeFiles(dir: string, configText: string, tensors: ReadonlyMap<string, tf.Tensor>, dtype: DType): Promise<void> {
  const record: Record<string, TensorData> = {};
  for (const [key, t] of tensors) record[key] = { dtype, shape: [...t.shape], data: t.dataSync() as Float32Array };
  await writeSafetensors(nodePath.join(dir, ADAPTER_WEIGHTS_NAME), record, { format: 'pt' });
  // The config goes last: a directory with a config is a complete adapter.
  const configPath = nodePath.join(dir, ADAPTER_CONFIG_NAME);
  const temp = `${configPath}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, configText, { flag: 'wx' });
  await rename(temp, configPath);
}

/**
 * Writes `adapter_config.json` + `adapter_model.safetensors`. A new directory is built under a
 * temporary sibling name and renamed into place, so readers never see half an adapter; an
 * existing directory (a training checkpoint being refreshed) gets each file replaced atomically.
 */
export async function writeAdapterDir(dir: string, configText: string, tensors: ReadonlyMap<string, tf.Tensor>, dtype: DType): Promise<void> {
  try {
    if (await exists(dir)) {
      if (!(await stat(dir)).isDirectory()) throw new PatchworkError('INVALID_ARGUMENT', `${dir} exists and is not a directory`);
      await writeFiles(dir, configText, tensors, dtype);
      return;
    }
    await mkdir(nodePath.dirname(dir), { recursive: true });
    const staging = `${dir}.partial-${randomBytes(6).toString('hex')}`;
    await mkdir(staging);
    try {
      await writeFiles(staging, configText, tensors, dtype);
      await rename(staging, dir);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  } catch (e) {
    if (e instanceof PatchworkError) throw e;
    throw fsFailure(e, `cannot write adapter to ${dir}`);
  }
}

export interface AdapterFiles {
  dir: string;
  configPath: string;
  /** The parsed `adapter_config.json`. */
  config: Record<string, unknown>;
  weightsPath: string;
  /** Every tensor by its key in the file, as float32 (F16/BF16 widened). The caller disposes them. */
  tensors: Map<string, tf.Tensor>;
}

/**
 * Reads a PEFT adapter directory. A missing directory or config is NOT_FOUND; bad JSON, a
 * non-float tensor or a pickled-only adapter (`adapter_model.bin`) is INVALID_ARGUMENT.
 */
export async function readAdapterDir(dir: string): Promise<AdapterFiles> {
  const configPath = nodePath.join(dir, ADAPTER_CONFIG_NAME);
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (e) {
    throw fsFailure(e, `cannot read adapter config ${configPath}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new PatchworkError('INVALID_ARGUMENT', `${configPath} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new PatchworkError('INVALID_ARGUMENT', `${configPath} must hold a JSON object`);
  const weightsPath = nodePath.join(dir, ADAPTER_WEIGHTS_NAME);
  if (!(await exists(weightsPath))) {
    const pickled = await exists(nodePath.join(dir, 'adapter_model.bin'));
    throw new PatchworkError(pickled ? 'INVALID_ARGUMENT' : 'NOT_FOUND', pickled ? `${dir} holds only adapter_model.bin (a pickle); convert it to ${ADAPTER_WEIGHTS_NAME}` : `${weightsPath} does not exist`);
  }
  const file = await SafetensorsFile.open(weightsPath);
  const tensors = new Map<string, tf.Tensor>();
  try {
    for (const info of file.tensors) {
      if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) {
        throw new PatchworkError('INVALID_ARGUMENT', `${weightsPath}: tensor ${info.name} has dtype ${info.dtype}; adapter tensors must be floating point`);
      }
      tensors.set(info.name, await file.readTensor(info.name));
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  } finally {
    await file.close();
  }
  return { dir, configPath, config: config as Record<string, unknown>, weightsPath, tensors };
}
