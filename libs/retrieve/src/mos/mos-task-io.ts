import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { SafetensorsFile, type TensorData, writeSafetensors } from '@patchwork/tensor';
import { type BottleneckOptions, adapterTensorNames } from './bottleneck-adapter';
import { MOS_CONFIG_FILE, MOS_WEIGHTS_FILE, saveMosLearner } from './mos-io';
import type { MosLearner } from './mos-learner';
import { MOS_HEAD_MODULE, MosTaskAdapter } from './mos-task-adapter';

/**
 * One task of a MOS adapter set as a standalone adapter, in the PEFT layout with its own
 * `peft_type` (ARCHITECTURE.md section 4): `adapter_config.json` and `adapter_model.safetensors`
 * holding
 *
 *   base_model.model.vit.encoder.layer.{i}.mos_adapter.down.weight  [r, hidden]   the task's inference
 *   base_model.model.vit.encoder.layer.{i}.mos_adapter.down.bias    [r]           adapter (after the
 *   base_model.model.vit.encoder.layer.{i}.mos_adapter.up.weight    [hidden, r]   MOS merge)
 *   base_model.model.vit.encoder.layer.{i}.mos_adapter.up.bias      [hidden]
 *   base_model.model.classifier.weight [classes, hidden], .bias [classes]        the learner's head, replacing the classifier
 *
 * The config names the task, its classes, the head's class order and, when it was saved as part
 * of a set, the sha256 of the router's weights file: the learner (`saveMosLearner`) whose
 * retrieval chooses between the set's tasks. That digest is how a router finds its task adapters
 * among unrelated directories.
 */
export const MOS_TASK_PEFT_TYPE = 'MOS_TASK';
export const MOS_TASK_FORMAT_VERSION = 1;
const PREFIX = 'base_model.model.';

export interface MosTaskConfig {
  readonly peft_type: string;
  readonly format_version: number;
  readonly base_model_name_or_path: string | null;
  readonly task_id: number;
  readonly task_classes: number[];
  readonly classes: number[];
  readonly adapter: BottleneckOptions;
  readonly num_hidden_layers: number;
  readonly hidden_size: number;
  readonly router_weights_sha256: string | null;
}

/** A saved set: the router (the whole learner) and one adapter directory per task, in task order. */
export interface MosAdapterSetDirs {
  readonly router: string;
  readonly tasks: string[];
}

/** Hex sha256 of a file, streamed. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const staging = `${file}.partial-${process.pid}`;
  await fs.writeFile(staging, `${JSON.stringify(value, null, 2)}\n`);
  await fs.rename(staging, file);
}

/** Writes task `taskId` of `learner` to `dir` as a standalone `MOS_TASK` adapter. */
export async function saveMosTaskAdapter(
  learner: MosLearner,
  taskId: number,
  dir: string,
  options: { baseModelNameOrPath?: string | null; routerWeightsSha256?: string | null } = {},
): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'must be a directory path');
  const adapter = MosTaskAdapter.fromLearner(learner, taskId);
  try {
    const model = learner.model;
    const arrays = adapter.toArrays();
    const r = arrays.adapter.bottleneck;
    const dim = model.hiddenSize;
    const tensors: Record<string, TensorData> = {};
    for (let i = 0; i < model.numLayers; i++) {
      const n = adapterTensorNames(i);
      tensors[PREFIX + n.down] = { dtype: 'F32', shape: [r, dim], data: arrays.bottleneck.get(n.down) as Float32Array };
      tensors[PREFIX + n.downBias] = { dtype: 'F32', shape: [r], data: arrays.bottleneck.get(n.downBias) as Float32Array };
      tensors[PREFIX + n.up] = { dtype: 'F32', shape: [dim, r], data: arrays.bottleneck.get(n.up) as Float32Array };
      tensors[PREFIX + n.upBias] = { dtype: 'F32', shape: [dim], data: arrays.bottleneck.get(n.upBias) as Float32Array };
    }
    tensors[`${PREFIX}${MOS_HEAD_MODULE}.weight`] = { dtype: 'F32', shape: [arrays.classes.length, dim], data: arrays.headWeight };
    tensors[`${PREFIX}${MOS_HEAD_MODULE}.bias`] = { dtype: 'F32', shape: [arrays.classes.length], data: arrays.headBias };
    const config: MosTaskConfig = {
      peft_type: MOS_TASK_PEFT_TYPE,
      format_version: MOS_TASK_FORMAT_VERSION,
      base_model_name_or_path: options.baseModelNameOrPath ?? null,
      task_id: taskId,
      task_classes: [...arrays.taskClasses],
      classes: [...arrays.classes],
      adapter: { ...arrays.adapter },
      num_hidden_layers: model.numLayers,
      hidden_size: dim,
      router_weights_sha256: options.routerWeightsSha256 ?? null,
    };
    await fs.mkdir(dir, { recursive: true });
    await writeSafetensors(nodePath.join(dir, MOS_WEIGHTS_FILE), tensors, { format: 'pt' });
    await writeJsonAtomically(nodePath.join(dir, MOS_CONFIG_FILE), config);
    return dir;
  } finally {
    adapter.dispose();
  }
}

/**
 * Writes `learner` as a servable set: `dir/router` (the learner, `saveMosLearner`) and
 * `dir/task-<k>` for every task, each task adapter recording the router's weights digest.
 */
export async function saveMosAdapterSet(learner: MosLearner, dir: string, options: { baseModelNameOrPath?: string | null } = {}): Promise<MosAdapterSetDirs> {
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'must be a directory path');
  const router = nodePath.join(dir, 'router');
  const [weights] = await saveMosLearner(learner, router, options);
  const routerWeightsSha256 = await sha256OfFile(weights);
  const tasks: string[] = [];
  for (let k = 0; k < learner.numTasks; k++) {
    tasks.push(await saveMosTaskAdapter(learner, k, nodePath.join(dir, `task-${k}`), { ...options, routerWeightsSha256 }));
  }
  return { router, tasks };
}

/** The `peft_type` in `dir/adapter_config.json` (NOT_FOUND / INVALID_ARGUMENT when unreadable). */
export async function readPeftType(dir: string): Promise<string> {
  const config = await readJsonConfig(dir);
  const type = (config as { peft_type?: unknown } | null)?.peft_type;
  if (typeof type !== 'string') throw new PatchworkError('INVALID_ARGUMENT', `${nodePath.join(dir, MOS_CONFIG_FILE)}: peft_type is missing`);
  return type;
}

async function readJsonConfig(dir: string): Promise<unknown> {
  const file = nodePath.join(dir, MOS_CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const err = PatchworkError.from(e);
    throw new PatchworkError(err.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `${dir}: cannot read ${MOS_CONFIG_FILE} (${err.message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PatchworkError('INVALID_ARGUMENT', `${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** The config of a `MOS_TASK` directory, checked. */
export async function readMosTaskConfig(dir: string): Promise<MosTaskConfig> {
  const config = (await readJsonConfig(dir)) as MosTaskConfig;
  const where = nodePath.join(dir, MOS_CONFIG_FILE);
  if (config?.peft_type !== MOS_TASK_PEFT_TYPE) throw new PatchworkError('INVALID_ARGUMENT', `${where}: peft_type is ${JSON.stringify(config?.peft_type)}, not ${MOS_TASK_PEFT_TYPE}`);
  if (config.format_version !== MOS_TASK_FORMAT_VERSION) {
    throw new PatchworkError('UNIMPLEMENTED', `${where}: ${MOS_TASK_PEFT_TYPE} format_version ${config.format_version} is not supported (this library reads ${MOS_TASK_FORMAT_VERSION})`);
  }
  const intList = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((c) => Number.isSafeInteger(c) && c >= 0);
  if (!Number.isSafeInteger(config.task_id) || config.task_id < 0) throw new PatchworkError('INVALID_ARGUMENT', `${where}: task_id must be a non-negative integer`);
  if (!intList(config.classes) || !intList(config.task_classes)) throw new PatchworkError('INVALID_ARGUMENT', `${where}: classes and task_classes must be non-empty lists of class labels`);
  if (typeof config.adapter !== 'object' || config.adapter === null) throw new PatchworkError('INVALID_ARGUMENT', `${where}: adapter options are missing`);
  const sha = config.router_weights_sha256;
  if (sha !== null && sha !== undefined && !(typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha))) throw new PatchworkError('INVALID_ARGUMENT', `${where}: router_weights_sha256 must be 64 hex digits or null`);
  return { ...config, router_weights_sha256: sha ?? null };
}

/** Loads a `MOS_TASK` directory onto `model` (the backbone its set was learnt on). */
export async function loadMosTaskAdapter(dir: string, model: Model): Promise<MosTaskAdapter> {
  const config = await readMosTaskConfig(dir);
  if (config.hidden_size !== model.hiddenSize || config.num_hidden_layers !== model.numLayers) {
    throw new PatchworkError(
      'FAILED_PRECONDITION',
      `${dir} was learnt on a backbone with ${config.num_hidden_layers} layers of width ${config.hidden_size}; this model has ${model.numLayers} of width ${model.hiddenSize}`,
    );
  }
  const file = await SafetensorsFile.open(nodePath.join(dir, MOS_WEIGHTS_FILE));
  try {
    const read = async (name: string) => {
      if (!file.has(PREFIX + name)) throw new PatchworkError('INVALID_ARGUMENT', `${dir}: ${MOS_WEIGHTS_FILE} has no tensor ${PREFIX + name}`);
      return file.readFloat32(PREFIX + name);
    };
    const bottleneck = new Map<string, Float32Array>();
    for (let i = 0; i < model.numLayers; i++) for (const name of Object.values(adapterTensorNames(i))) bottleneck.set(name, await read(name));
    return MosTaskAdapter.fromArrays(model, {
      taskId: config.task_id,
      classes: config.classes,
      taskClasses: config.task_classes,
      adapter: config.adapter,
      bottleneck,
      headWeight: await read(`${MOS_HEAD_MODULE}.weight`),
      headBias: await read(`${MOS_HEAD_MODULE}.bias`),
    });
  } finally {
    await file.close();
  }
}
