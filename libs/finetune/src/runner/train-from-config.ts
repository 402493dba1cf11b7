import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { type TaskSplits, loadTask as loadRegisteredTask } from '@patchwork/datasets';
import { type Model, loadModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type Tokenizer, loadTokenizer } from '@patchwork/tokenizers';
import type { TrainProgress } from '@patchwork/training';
import { access, mkdir } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { writeJsonAtomically } from '../core/artifact-dir';
import { evaluateSet } from '../core/evaluate-set';
import type { PhaseSummary } from '../core/phase';
import type { PreparedRun } from './method';
import { type FittedModel, fitClassifier } from './fit-classifier';
import { type EncodingCache, type PreparedTask, headKindOf, prepareTask } from './prepare-task';
import { METHOD_FACTORIES } from './registry';
import { resolveModelDir } from './resolve-model';
import { type Method, type RunConfig, parseRunConfig } from './run-config';
import { stepMemoryProfile } from './step-memory';

export interface FinetuneProgress extends TrainProgress {
  readonly method: Method;
  /** The training phase (`train`; LiST: `teacher`, `session-1-selftrain`, ...). */
  readonly phase: string;
}

export interface TrainFromConfigOptions {
  /** The base model directory; overrides the config's `base_model`. */
  readonly baseModelDir?: string;
  /** Receives `adapter/` (or `model/` for full fine-tuning), `metrics.json` and `checkpoints/`. */
  readonly outDir: string;
  /** Where backbones named in the config are built and cached. */
  readonly dataDir?: string;
  /**
   * Turns a model or adapter reference of the config (`base_model`, MUSCLE's `old_base_model`,
   * `old_adapter`, `new_adapter`) into a local directory. Default: an existing directory or a
   * backbone name (`resolveModelDir`); a service narrows it to what its clients may reach.
   */
  readonly resolveModel?: (ref: string, field: string) => Promise<string>;
  readonly onProgress?: (progress: FinetuneProgress) => void;
  /** Cancels between micro-batches after writing a checkpoint (CANCELLED). */
  readonly signal?: AbortSignal;
  /** A checkpoint root of an earlier run of the same config (typically `<outDir>/checkpoints`) to continue from. */
  readonly resumeFrom?: string;
  /** Loads a task by name; default the @patchwork/datasets registry. */
  readonly loadTask?: (name: string) => TaskSplits;
  /** Encoded rows reused across calls in one process (benchmarks); see `EncodingCache`. */
  readonly encodingCache?: EncodingCache;
  /** Before training, profile the memory high-water mark of one forward + backward step (`tf.profile`). */
  readonly profileMemory?: boolean;
}

export interface TrainFromConfigResult {
  /** The trained artifact: a PEFT-layout adapter directory, or a Hugging Face model for `full`. */
  readonly adapterDir: string;
  /** `eval_*` (validation) and `test_*` accuracy and loss, `train_loss`, plus method metrics (`muscle_*`, `teacher_test_accuracy`). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainableParameters: number;
  /** High-water mark of live tensor bytes the trainer sampled (weights included). */
  readonly peakMemoryBytes: number;
  /** Live tensor bytes before training started (base model, adapter, data tensors). */
  readonly baselineMemoryBytes: number;
  /** With `profileMemory`: the exact high-water mark of one training step above the bytes live before it. */
  readonly stepPeakBytes?: number;
  /** Training examples per second over the whole run (all phases, earlier sessions included). */
  readonly examplesPerSec: number;
  readonly phases: readonly PhaseSummary[];
  readonly config: RunConfig;
}

function checkOptions(o: TrainFromConfigOptions): void {
  const problems = new ViolationCollector();
  if (typeof o?.outDir !== 'string' || o.outDir === '') problems.add('outDir', 'must be a directory path');
  for (const k of ['baseModelDir', 'dataDir', 'resumeFrom'] as const) if (o?.[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) problems.add(k, 'must be a path');
  problems.throwIfAny();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function taskSplits(load: (name: string) => TaskSplits, name: string): TaskSplits {
  try {
    return load(name);
  } catch (e) {
    const err = PatchworkError.from(e);
    if (err.code === 'NOT_FOUND' || err.code === 'INVALID_ARGUMENT') throw new PatchworkError('INVALID_ARGUMENT', `task: ${err.message}`, { cause: e, violations: [{ field: 'task', description: err.message }] });
    throw err;
  }
}

/**
 * Trains a patch from a config (YAML text or object): `method` (full, lora, adalora, hut, lst,
 * list, muscle) with its `parameters`, a `task` of the datasets registry, `data` and `trainer`
 * settings (see the README). Everything is validated and allocated before the first byte is
 * written: a bad config, an unknown method, a rank ≤ 0, a target matching no module or an adapter
 * that does not fit its base fails with INVALID_ARGUMENT and no artifact. Training checkpoints
 * every `trainer.checkpoint_every` steps under `<outDir>/checkpoints`; a run killed or cancelled
 * part way continues from there with `resumeFrom`, and ends with the same metrics as an
 * uninterrupted run.
 */
export async function trainFromConfig(configInput: string | Record<string, unknown>, options: TrainFromConfigOptions): Promise<TrainFromConfigResult> {
  const config = parseRunConfig(configInput);
  checkOptions(options);
  const outDir = nodePath.resolve(options.outDir);
  const artifactDir = nodePath.join(outDir, config.method === 'full' ? 'model' : 'adapter');
  if (await exists(artifactDir)) throw new PatchworkError('ALREADY_EXISTS', `outDir: ${artifactDir} already exists; choose a new output directory`);
  const modelRef = options.baseModelDir ?? config.baseModel;
  if (modelRef === undefined) throw new PatchworkError('INVALID_ARGUMENT', 'base_model: give baseModelDir or base_model in the config', { violations: [{ field: 'base_model', description: 'is required' }] });
  const resolveModel = options.resolveModel ?? ((ref: string, field: string) => resolveModelDir(ref, field, options.dataDir, options.signal));
  // A caller's baseModelDir is its own directory (or backbone name), not a reference from the config.
  const modelDir = options.baseModelDir === undefined ? await resolveModel(modelRef, 'base_model') : await resolveModelDir(options.baseModelDir, 'baseModelDir', options.dataDir, options.signal);
  const splits = taskSplits(options.loadTask ?? ((n) => loadRegisteredTask(n)), config.task);

  let base: Model | undefined;
  let fitted: FittedModel | undefined;
  let task: PreparedTask | undefined;
  let run: PreparedRun | undefined;
  const heads: FittedModel[] = [];
  try {
    base = await loadModel(modelDir);
    const wantsClassifier = headKindOf(config) === 'classifier';
    const taskModel = (m: Model): Model => {
      if (!wantsClassifier) return m;
      const f = fitClassifier(m, splits.labelNames, config.trainer.seed);
      heads.push(f);
      return f.model;
    };
    const model = taskModel(base);
    fitted = heads[0];
    const tokenizer: Tokenizer | undefined = splits.inputKind === 'text' ? await loadTokenizer(modelDir) : undefined;
    task = await prepareTask(config, model, modelDir, tokenizer, splits, options.encodingCache);
    run = await METHOD_FACTORIES[config.method]({ config, model, modelDir, task, resolveModel, taskModel });
    const prepared = run;
    const readyTask = task;

    await mkdir(outDir, { recursive: true });
    const checkpointRoot = options.resumeFrom === undefined ? nodePath.join(outDir, 'checkpoints') : nodePath.resolve(options.resumeFrom);
    const stepPeakBytes = options.profileMemory === true ? await stepMemoryProfile(prepared, readyTask.train.size, config.trainer.batchSize) : undefined;
    const baselineMemoryBytes = tf.memory().numBytes;
    const phases = await prepared.train({
      checkpointRoot,
      resume: options.resumeFrom !== undefined,
      signal: options.signal,
      onProgress: (phase, p) => options.onProgress?.({ ...p, phase, method: config.method }),
    });

    const bs = config.trainer.evalBatchSize;
    const validation = evaluateSet(readyTask.validation, (b) => prepared.logits(b), bs);
    const test = evaluateSet(readyTask.test, (b) => prepared.logits(b), bs);
    const last = phases[phases.length - 1];
    const metrics: Record<string, number> = {
      eval_accuracy: validation.accuracy,
      eval_loss: validation.loss,
      test_accuracy: test.accuracy,
      test_loss: test.loss,
      ...(last?.finalLoss === undefined ? {} : { train_loss: last.finalLoss }),
      train_steps: phases.reduce((n, p) => n + p.steps, 0),
      ...(fitted?.reinitialised === true ? { num_labels: splits.labelNames.length } : {}),
      ...(prepared.extraMetrics?.() ?? {}),
    };
    const seconds = phases.reduce((s, p) => s + p.trainSeconds, 0);
    const examples = phases.reduce((s, p) => s + p.examplesSeen, 0);
    const result: TrainFromConfigResult = {
      adapterDir: artifactDir,
      metrics,
      trainableParameters: prepared.trainableParameters,
      peakMemoryBytes: Math.max(...phases.map((p) => p.peakBytes)),
      baselineMemoryBytes,
      stepPeakBytes,
      examplesPerSec: seconds > 0 ? examples / seconds : 0,
      phases,
      config,
    };
    await prepared.save(artifactDir);
    await writeJsonAtomically(nodePath.join(outDir, 'metrics.json'), {
      method: config.method,
      task: config.task,
      base_model: modelRef,
      metrics,
      trainable_parameters: result.trainableParameters,
      peak_memory_bytes: result.peakMemoryBytes,
      baseline_memory_bytes: baselineMemoryBytes,
      step_peak_bytes: stepPeakBytes ?? null,
      examples_per_sec: result.examplesPerSec,
      phases,
    });
    return result;
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    run?.dispose();
    task?.dispose();
    for (const h of heads) h.dispose();
    base?.dispose();
  }
}
