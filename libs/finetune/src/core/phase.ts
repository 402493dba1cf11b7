import { PatchworkError } from '@patchwork/errors';
import { SafetensorsFile, type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { type EvalRecord, type ExtraState, type Metrics, type MicroBatch, type StepRecord, type TrainProgress, type TrainResult, train } from '@patchwork/training';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { TrainerSettings } from '../runner/run-config';
import { writeJsonAtomically } from './artifact-dir';

/** What one call of the trainer does: its parameters, data, loss and schedule. */
export interface PhaseSpec {
  /** Names the phase's checkpoint folder (`<checkpointRoot>/<name>`). */
  readonly name: string;
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly examples: number;
  readonly loss: (batch: MicroBatch) => tf.Scalar;
  readonly trainer: TrainerSettings;
  /** Validation metrics (`eval_*`), run every `trainer.evalEvery` steps. */
  readonly evaluate?: () => Metrics;
  readonly extraState?: ExtraState;
  /** Runs after every optimizer step (and its evaluation), before that step's checkpoint is written. */
  readonly afterStep?: (progress: TrainProgress) => void;
}

export interface PhaseIO {
  readonly checkpointRoot: string;
  /** Continue from the checkpoints under `checkpointRoot` (a resumed job); false starts over. */
  readonly resume: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (phase: string, progress: TrainProgress) => void;
}

/** The parts of a trainer result a finished phase keeps on disk. */
export interface PhaseSummary {
  readonly name: string;
  readonly steps: number;
  readonly stopReason: TrainResult['stopReason'];
  readonly finalLoss?: number;
  readonly lastEval?: Metrics;
  readonly peakBytes: number;
  readonly trainSeconds: number;
  readonly examplesPerSec: number;
  readonly examplesSeen: number;
  /** True when this call found the phase already finished and only restored its parameters. */
  readonly restored: boolean;
  /** Loss and learning rate of every step, and every evaluation: the training curves (earlier, killed calls included). */
  readonly lossHistory: readonly StepRecord[];
  readonly evalHistory: readonly EvalRecord[];
}

const FINAL_TENSORS = 'final.safetensors';
const FINAL_SUMMARY = 'final.json';

async function readSummary(dir: string): Promise<PhaseSummary | undefined> {
  try {
    return JSON.parse(await readFile(nodePath.join(dir, FINAL_SUMMARY), 'utf8')) as PhaseSummary;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new PatchworkError('DATA_LOSS', `cannot read the phase summary in ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

async function restoreParams(dir: string, params: ReadonlyMap<string, tf.Variable>): Promise<void> {
  const file = await SafetensorsFile.open(nodePath.join(dir, FINAL_TENSORS));
  try {
    for (const [name, v] of params) {
      if (!file.has(name)) throw new PatchworkError('DATA_LOSS', `${dir}/${FINAL_TENSORS} lacks ${name}`);
      const t = await file.readTensor(name);
      if (t.shape.join() !== v.shape.join()) {
        t.dispose();
        throw new PatchworkError('FAILED_PRECONDITION', `${dir}/${FINAL_TENSORS}: ${name} has shape [${t.shape.join(', ')}], the run expects [${v.shape.join(', ')}]`);
      }
      v.assign(t);
      t.dispose();
    }
  } finally {
    await file.close();
  }
}

async function saveFinal(dir: string, params: ReadonlyMap<string, tf.Variable>, summary: PhaseSummary): Promise<void> {
  const record: Record<string, TensorData> = {};
  for (const [name, v] of params) record[name] = { dtype: 'F32', shape: [...v.shape], data: v.dataSync() as Float32Array };
  const temp = nodePath.join(dir, `${FINAL_TENSORS}.${randomBytes(6).toString('hex')}.tmp`);
  await writeSafetensors(temp, record, { format: 'pt' });
  await rename(temp, nodePath.join(dir, FINAL_TENSORS));
  // The summary marks the phase finished, so it is written last.
  await writeJsonAtomically(nodePath.join(dir, FINAL_SUMMARY), summary);
}

/**
 * Runs one training phase with @patchwork/training's trainer, checkpointing under
 * `<checkpointRoot>/<name>`. A phase that already finished in an earlier (killed) call is not
 * trained again: its final parameters are restored and its summary returned, so a multi-phase
 * method resumes at the phase that was running.
 */
export async function runPhase(spec: PhaseSpec, io: PhaseIO): Promise<PhaseSummary> {
  const dir = nodePath.join(io.checkpointRoot, spec.name);
  if (io.resume) {
    const done = await readSummary(dir);
    if (done !== undefined) {
      await restoreParams(dir, spec.params);
      return { ...done, restored: true, lossHistory: done.lossHistory ?? [], evalHistory: done.evalHistory ?? [] };
    }
  } else {
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  const t = spec.trainer;
  const early = t.earlyStopping;
  const result = await train({
    params: spec.params,
    examples: spec.examples,
    loss: spec.loss,
    batchSize: t.batchSize,
    gradientAccumulationSteps: t.gradAccum,
    maxSteps: t.steps,
    optimizer: { lr: t.lr, weightDecay: t.weightDecay },
    schedule: { kind: t.schedule, warmupSteps: t.warmup.steps, warmupRatio: t.warmup.ratio },
    maxGradNorm: t.clip,
    seed: t.seed,
    evaluation: spec.evaluate === undefined ? undefined : { every: t.evalEvery, run: spec.evaluate },
    earlyStopping: spec.evaluate === undefined || early === undefined ? undefined : { metric: early.metric, mode: early.mode, patience: early.patience, threshold: early.threshold },
    checkpoint: { dir, every: t.checkpointEvery, keep: 1, resume: io.resume },
    extraState: spec.extraState,
    signal: io.signal,
    progressEvery: 1,
    onProgress: (p) => {
      spec.afterStep?.(p);
      io.onProgress?.(spec.name, p);
    },
  });
  const summary: PhaseSummary = {
    name: spec.name,
    steps: result.steps,
    stopReason: result.stopReason,
    finalLoss: result.finalLoss,
    lastEval: result.evalHistory.at(-1)?.metrics,
    peakBytes: result.peakBytes,
    trainSeconds: result.trainSeconds,
    examplesPerSec: result.examplesPerSec,
    examplesSeen: result.steps * t.batchSize * t.gradAccum,
    restored: false,
    lossHistory: result.lossHistory,
    evalHistory: result.evalHistory,
  };
  await saveFinal(dir, spec.params, summary);
  return summary;
}
