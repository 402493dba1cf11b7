import { PatchworkError } from '@patchwork/errors';
import { ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME, toPythonJson } from '@patchwork/peft';
import { type TensorData, type tf, writeSafetensors } from '@patchwork/tensor';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';

/** A fresh sibling name to build `dir` in before renaming it into place. */
export function stagingPath(dir: string): string {
  return nodePath.join(nodePath.dirname(dir), `.${nodePath.basename(dir)}.partial-${randomBytes(6).toString('hex')}`);
}

/**
 * Builds a directory with `fill` under a staging name and renames it to `dir`, so `dir` is either
 * complete or absent. `dir` must not exist (ALREADY_EXISTS otherwise, checked by the rename).
 */
export async function writeDirAtomically(dir: string, fill: (staging: string) => Promise<void>): Promise<void> {
  await mkdir(nodePath.dirname(dir), { recursive: true });
  const staging = stagingPath(dir);
  await mkdir(staging);
  try {
    await fill(staging);
    try {
      await rename(staging, dir);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new PatchworkError('ALREADY_EXISTS', `${dir} already exists`);
      throw e;
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw PatchworkError.from(e);
  }
}

/** Writes a JSON file through a temporary name, so readers never see half of it. */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
  await rename(temp, path);
}

/** A PEFT-layout adapter directory (`adapter_config.json` written like PEFT, float32 safetensors). */
export async function writeAdapterDirectory(dir: string, config: Record<string, unknown>, tensors: ReadonlyMap<string, tf.Tensor>): Promise<void> {
  const record: Record<string, TensorData> = {};
  for (const key of [...tensors.keys()].sort()) {
    const t = tensors.get(key) as tf.Tensor;
    record[key] = { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
  }
  const text = toPythonJson(config);
  await writeDirAtomically(dir, async (staging) => {
    await writeSafetensors(nodePath.join(staging, ADAPTER_WEIGHTS_NAME), record, { format: 'pt' });
    await writeFile(nodePath.join(staging, ADAPTER_CONFIG_NAME), text);
  });
}
