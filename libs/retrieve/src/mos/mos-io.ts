import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { SafetensorsFile, type TensorData, writeSafetensors } from '@patchwork/tensor';
import { adapterTensorNames } from './bottleneck-adapter';
import { MosLearner, type MosState } from './mos-learner';
import type { MosOptions } from './mos-options';

/**
 * A MOS adapter set on disk, in the PEFT layout with its own `peft_type` (ARCHITECTURE.md
 * section 4): `adapter_config.json` and `adapter_model.safetensors` holding
 *
 *   base_model.model.vit.encoder.layer.{i}.mos_adapters.{k}.down.weight  [r, hidden]   task k, as trained
 *   base_model.model.vit.encoder.layer.{i}.mos_adapters.{k}.down.bias    [r]
 *   base_model.model.vit.encoder.layer.{i}.mos_adapters.{k}.up.weight    [hidden, r]
 *   base_model.model.vit.encoder.layer.{i}.mos_adapters.{k}.up.bias      [hidden]
 *   mos.head.weight [classes, hidden], mos.head.bias [classes]          F32
 *   mos.prototypes [classes, hidden]                                    F32
 *   mos.class_means [classes, hidden], mos.class_covariances [classes, hidden, hidden] (or [classes, hidden] when diagonal)  F64
 *
 * Classes are in task order (`tasks` in the config). Inference adapters are not stored: they are
 * the single MOS merge of the stored ones, recomputed identically on load.
 */
export const MOS_PEFT_TYPE = 'MOS';
export const MOS_FORMAT_VERSION = 1;
export const MOS_CONFIG_FILE = 'adapter_config.json';
export const MOS_WEIGHTS_FILE = 'adapter_model.safetensors';
const PREFIX = 'base_model.model.';

interface MosConfigFile {
  peft_type: string;
  format_version: number;
  base_model_name_or_path: string | null;
  attachment: string;
  num_hidden_layers: number;
  hidden_size: number;
  tasks: number[][];
  options: MosOptions;
}

function fileName(name: string, task: number): string {
  return PREFIX + name.replace('.mos_adapter.', `.mos_adapters.${task}.`);
}

/** Writes `learner`'s state to `dir` (created if needed): weights first, then the config, each by atomic rename. */
export async function saveMosLearner(learner: MosLearner, dir: string, options: { baseModelNameOrPath?: string | null } = {}): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'must be a directory path');
  const state = learner.exportState();
  const model = learner.model;
  const dim = model.hiddenSize;
  const classes = state.tasks.flat().length;
  const tensors: Record<string, TensorData> = {};
  state.adapters.forEach((adapter, k) => {
    for (let i = 0; i < model.numLayers; i++) {
      for (const name of Object.values(adapterTensorNames(i))) {
        const values = adapter.get(name) as Float32Array;
        const shape = name.endsWith('.down.weight') ? [learner.options.adapter.bottleneck, dim] : name.endsWith('.up.weight') ? [dim, learner.options.adapter.bottleneck] : [values.length];
        tensors[fileName(name, k)] = { dtype: 'F32', shape, data: values };
      }
    }
  });
  const flat = (rows: readonly Float32Array[] | readonly Float64Array[], Ctor: Float32ArrayConstructor | Float64ArrayConstructor) => {
    const out = new Ctor(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) {
      out.set(r, at);
      at += r.length;
    }
    return out;
  };
  const diagonal = state.gaussians[0]?.diagonal ?? false;
  tensors['mos.head.weight'] = { dtype: 'F32', shape: [classes, dim], data: state.head.weight };
  tensors['mos.head.bias'] = { dtype: 'F32', shape: [classes], data: state.head.bias };
  tensors['mos.prototypes'] = { dtype: 'F32', shape: [classes, dim], data: flat(state.prototypes, Float32Array) };
  tensors['mos.class_means'] = { dtype: 'F64', shape: [classes, dim], data: flat(state.gaussians.map((g) => g.mean), Float64Array) };
  tensors['mos.class_covariances'] = { dtype: 'F64', shape: diagonal ? [classes, dim] : [classes, dim, dim], data: flat(state.gaussians.map((g) => g.covariance), Float64Array) };
  const config: MosConfigFile = {
    peft_type: MOS_PEFT_TYPE,
    format_version: MOS_FORMAT_VERSION,
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    attachment: 'parallel bottleneck per ViT block: reads the input of vit.encoder.layer.{i}.intermediate.dense, adds scale * up(relu(down(x))) to the output of vit.encoder.layer.{i}.output.dense',
    num_hidden_layers: model.numLayers,
    hidden_size: dim,
    tasks: state.tasks.map((t) => [...t]),
    options: state.options,
  };
  await fs.mkdir(dir, { recursive: true });
  const weights = nodePath.join(dir, MOS_WEIGHTS_FILE);
  await writeSafetensors(weights, tensors, { format: 'pt' });
  const configPath = nodePath.join(dir, MOS_CONFIG_FILE);
  const staging = `${configPath}.partial-${process.pid}`;
  await fs.writeFile(staging, `${JSON.stringify(config, null, 2)}\n`);
  await fs.rename(staging, configPath);
  return [weights, configPath];
}

async function readFloat64(file: SafetensorsFile, name: string): Promise<Float64Array> {
  const raw = await file.readRaw(name);
  if (file.info(name).dtype !== 'F64') return Float64Array.from(await file.readFloat32(name));
  return new Float64Array(raw.slice().buffer);
}

/** Loads a MOS adapter set saved by `saveMosLearner` onto `model` (the backbone it was learnt on). */
export async function loadMosLearner(dir: string, model: Model): Promise<MosLearner> {
  let config: MosConfigFile;
  try {
    config = JSON.parse(await fs.readFile(nodePath.join(dir, MOS_CONFIG_FILE), 'utf8')) as MosConfigFile;
  } catch (e) {
    const err = PatchworkError.from(e);
    throw new PatchworkError(err.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `${dir}: cannot read ${MOS_CONFIG_FILE} (${err.message})`, { cause: e });
  }
  if (config?.peft_type !== MOS_PEFT_TYPE) throw new PatchworkError('INVALID_ARGUMENT', `${dir}: peft_type is ${JSON.stringify(config?.peft_type)}, not ${MOS_PEFT_TYPE}`);
  if (config.format_version !== MOS_FORMAT_VERSION) throw new PatchworkError('UNIMPLEMENTED', `${dir}: MOS format_version ${config.format_version} is not supported (this library reads ${MOS_FORMAT_VERSION})`);
  if (config.hidden_size !== model.hiddenSize || config.num_hidden_layers !== model.numLayers) {
    throw new PatchworkError(
      'FAILED_PRECONDITION',
      `${dir} was learnt on a backbone with ${config.num_hidden_layers} layers of width ${config.hidden_size}; this model has ${model.numLayers} of width ${model.hiddenSize}`,
    );
  }
  if (!Array.isArray(config.tasks) || !config.tasks.every((t) => Array.isArray(t))) throw new PatchworkError('INVALID_ARGUMENT', `${dir}: tasks must be a list of class lists`);
  const file = await SafetensorsFile.open(nodePath.join(dir, MOS_WEIGHTS_FILE));
  try {
    const need = (name: string) => {
      if (!file.tensors.some((t) => t.name === name)) throw new PatchworkError('INVALID_ARGUMENT', `${dir}: ${MOS_WEIGHTS_FILE} has no tensor ${name}`);
      return name;
    };
    const adapters: Map<string, Float32Array>[] = [];
    for (let k = 0; k < config.tasks.length; k++) {
      const adapter = new Map<string, Float32Array>();
      for (let i = 0; i < model.numLayers; i++) {
        for (const name of Object.values(adapterTensorNames(i))) adapter.set(name, await file.readFloat32(need(fileName(name, k))));
      }
      adapters.push(adapter);
    }
    const dim = model.hiddenSize;
    const classes = config.tasks.flat().length;
    const rows = <T extends Float32Array | Float64Array>(all: T, width: number): T[] => Array.from({ length: classes }, (_, c) => all.slice(c * width, (c + 1) * width) as T);
    const prototypes = await file.readFloat32(need('mos.prototypes'));
    const means = await readFloat64(file, need('mos.class_means'));
    const covariances = await readFloat64(file, need('mos.class_covariances'));
    const diagonal = file.info('mos.class_covariances').shape.length === 2;
    const width = diagonal ? dim : dim * dim;
    if (prototypes.length !== classes * dim || means.length !== classes * dim || covariances.length !== classes * width) {
      throw new PatchworkError('INVALID_ARGUMENT', `${dir}: prototypes, class means or covariances do not hold ${classes} classes of width ${dim}`);
    }
    const state: MosState = {
      options: config.options,
      tasks: config.tasks,
      adapters,
      head: { weight: await file.readFloat32(need('mos.head.weight')), bias: await file.readFloat32(need('mos.head.bias')) },
      prototypes: rows(prototypes, dim),
      gaussians: rows(means, dim).map((mean, c) => ({ mean, covariance: covariances.slice(c * width, (c + 1) * width), diagonal })),
    };
    return MosLearner.fromState(model, state);
  } finally {
    await file.close();
  }
}
