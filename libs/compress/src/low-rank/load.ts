import { PatchworkError } from '@patchwork/errors';
import { type RawConfig, readModelConfig } from '@patchwork/models';
import { Checkpoint, type CheckpointOptions, tf } from '@patchwork/tensor';
import * as nodePath from 'node:path';
import { FACTOR_U_SUFFIX, FACTOR_V_SUFFIX, LOW_RANK_CONFIG_KEY, type LowRankConfig, parseLowRankConfig } from './low-rank-config';
import { LowRankModel, type StoredFactorInput } from './low-rank-model';

export type LoadLowRankOptions = CheckpointOptions;

/** Whether a model directory's config.json marks a low-rank model (services dispatch on this). */
export async function isLowRankModelDir(dir: string): Promise<boolean> {
  const config = await readModelConfig(dir);
  return config[LOW_RANK_CONFIG_KEY] !== undefined;
}

/** The parsed factorization record of a low-rank model directory. */
export async function readLowRankConfig(dir: string): Promise<{ config: RawConfig; lowRank: LowRankConfig }> {
  const config = await readModelConfig(dir);
  const path = nodePath.join(dir, 'config.json');
  if (config[LOW_RANK_CONFIG_KEY] === undefined) {
    throw new PatchworkError('FAILED_PRECONDITION', `${path} has no ${LOW_RANK_CONFIG_KEY} entry: ${dir} is a dense model (load it with loadModel)`);
  }
  return { config, lowRank: parseLowRankConfig(config[LOW_RANK_CONFIG_KEY], path) };
}

function factorProblem(dir: string, name: string, problem: string): PatchworkError {
  return new PatchworkError('INVALID_ARGUMENT', `checkpoint in ${dir}: ${name} ${problem}`, { violations: [{ field: `checkpoint.${name}`, description: problem }] });
}

/**
 * Loads a directory written by `saveLowRankModel` (or by anyone following the layout documented at
 * LOW_RANK_CONFIG_KEY). Every tensor of the checkpoint is read: the factor pairs of the modules the
 * config lists, and the model's other parameters, which must be exactly those of the architecture
 * (either module spelling). Missing factors, ranks that disagree with the config, and stray or
 * missing tensors are INVALID_ARGUMENT naming them. The result forwards like any model.
 */
export async function loadLowRankModel(dir: string, options: LoadLowRankOptions = {}): Promise<LowRankModel> {
  const { config, lowRank } = await readLowRankConfig(dir);
  const checkpoint = await Checkpoint.open(dir, options);
  const params = new Map<string, tf.Tensor>();
  const factors = new Map<string, StoredFactorInput>();
  try {
    const factorNames = new Set<string>();
    for (const [module, rank] of lowRank.modules) {
      const uName = module + FACTOR_U_SUFFIX;
      const vName = module + FACTOR_V_SUFFIX;
      for (const name of [uName, vName]) {
        if (!checkpoint.has(name)) throw factorProblem(dir, name, `is missing (config lists ${module} as factored)`);
        factorNames.add(name);
      }
      const uShape = checkpoint.info(uName).shape;
      const vShape = checkpoint.info(vName).shape;
      if (uShape.length !== 2 || uShape[1] !== rank) throw factorProblem(dir, uName, `has shape [${uShape.join(', ')}], expected [rows, ${rank}] (rank from config)`);
      if (vShape.length < 2 || vShape[0] !== rank) throw factorProblem(dir, vName, `has shape [${vShape.join(', ')}], expected [${rank}, ...] (rank from config)`);
      const u = await checkpoint.readTensor(uName);
      try {
        factors.set(module, { u, v: await checkpoint.readTensor(vName) });
      } catch (e) {
        u.dispose();
        throw e;
      }
    }
    for (const name of checkpoint.names()) {
      if (factorNames.has(name)) continue;
      params.set(name, await checkpoint.readTensor(name));
    }
  } catch (e) {
    tf.dispose([...params.values(), ...[...factors.values()].flatMap((f) => [f.u, f.v])]);
    throw PatchworkError.from(e);
  } finally {
    await checkpoint.close();
  }
  try {
    const { gamma, targetRatio, svd, distillation } = lowRank;
    return LowRankModel.assemble(config, params, factors, { gamma, targetRatio, svd, distillation });
  } catch (e) {
    const err = PatchworkError.from(e);
    throw new PatchworkError(err.code, `low-rank checkpoint in ${dir} does not fit its config: ${err.message}`, { violations: err.violations, cause: e });
  }
}

