import { PatchworkError } from '@patchwork/errors';
import { type AnyAdapter, createAdapter } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';
import { DataOrder, type MicroBatch, Prng, classificationLoss, lrSchedule } from '@patchwork/training';
import { writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { writeDirAtomically } from '../core/artifact-dir';
import { ownedExtraState } from '../core/extra-state';
import { evaluateSet } from '../core/evaluate-set';
import { type PhaseIO, type PhaseSummary, runPhase } from '../core/phase';
import { type Batch, disposeBatch } from '../data/encoded-inputs';
import type { ExampleSet } from '../data/example-set';
import type { LabelHead } from '../heads/label-head';
import { namedAdapterVariables } from '../runner/methods/adapter-variables';
import type { MethodContext, PreparedRun } from '../runner/method';
import type { TrainerSettings } from '../runner/run-config';
import { validationMetrics } from '../runner/single-phase';
import { klToLogits } from './kl';
import { parseListConfig } from './list-config';
import { metaWeights } from './meta-weights';

/** File beside the adapter naming the prompt it was trained with (LiST adapters only work through it). */
export const PROMPT_FILE = 'prompt.json';

/** Seeds of the loop's random draws, offset from the run seed. */
const STREAMS = { metaBatch: 300 } as const;

interface Pending {
  readonly step: number;
  readonly indices: readonly number[];
  readonly weights: Float32Array;
}

function logitsOf(adapter: AnyAdapter, head: LabelHead, batch: Batch, training: boolean): tf.Tensor {
  return tf.tidy(() => head.logits(adapter.forward(batch.inputs, { training, outputHiddenStates: true }), batch));
}

/** The teacher's soft labels `[N, C]` on the unlabelled pool (eval mode). */
function softLabels(adapter: AnyAdapter, head: LabelHead, pool: ExampleSet, batchSize: number): Float32Array {
  return evaluateSet(pool, (b) => logitsOf(adapter, head, b, false), batchSize).probabilities;
}

/**
 * LiST (Wang et al., 2022): prompt-based fine-tuning of light-weight adapters on a few labelled
 * examples, then teacher-student self-training on unlabelled data. Each session trains a fresh
 * student adapter (the backbone stays frozen throughout) on the teacher's soft labels with
 * Σ_i w_i KL(q_i ‖ p_i) — uniform weights for the first `meta_warmup` of the phase, then meta
 * re-weighting against a labelled batch — and fine-tunes it on the labelled examples; the student
 * becomes the next teacher. Every phase checkpoints on its own, so a killed run resumes inside
 * the phase that was running.
 */
export async function listMethod(ctx: MethodContext): Promise<PreparedRun> {
  const config = parseListConfig(ctx.config.parameters, ctx.config.trainer, ctx.model);
  const task = ctx.task;
  if (task.headKind !== 'prompt') throw new PatchworkError('INVALID_ARGUMENT', 'LiST is prompt-based: give prompt.template and prompt.label_words');
  const pool = task.unlabeled;
  if (pool === undefined) throw new PatchworkError('INVALID_ARGUMENT', 'data.labels_per_class: LiST needs a few-shot draw that leaves unlabelled training examples');
  const head = task.headFor(ctx.model);
  const seed = ctx.config.trainer.seed;
  const newAdapter = (s: number): AnyAdapter => createAdapter(ctx.model, { ...config.lora, peft_type: 'LORA' } as never, { seed: s });
  // Validates the adapter config before anything runs.
  let current = newAdapter(seed);
  const trainableParameters = current.numTrainableParameters();
  const extra: Record<string, number> = {};
  const labelled = task.train;
  const base = ctx.config.trainer;
  const labelledTrainer = (steps: number, phaseSeed: number): TrainerSettings => ({ ...base, steps, seed: phaseSeed });
  const selfTrainer = (phaseSeed: number): TrainerSettings => ({
    ...base,
    steps: config.selfTrainingSteps,
    lr: config.selfTrainingLr,
    batchSize: config.unlabeledBatchSize,
    gradAccum: 1,
    warmup: { steps: 0 },
    schedule: 'linear',
    weightDecay: 0,
    earlyStopping: undefined,
    seed: phaseSeed,
  });

  const supervised = (name: string, adapter: AnyAdapter, steps: number, phaseSeed: number, io: PhaseIO): Promise<PhaseSummary> =>
    runPhase(
      {
        name,
        params: namedAdapterVariables(adapter),
        examples: labelled.size,
        trainer: labelledTrainer(steps, phaseSeed),
        loss: (mb: MicroBatch) => {
          const batch = labelled.batch(mb.indices);
          try {
            return tf.tidy(() => classificationLoss(logitsOf(adapter, head, batch, true), batch.labels));
          } finally {
            disposeBatch(batch);
          }
        },
        evaluate: validationMetrics(ctx, (b) => logitsOf(adapter, head, b, false)),
      },
      io,
    );

  const selfTraining = (name: string, student: AnyAdapter, q: Float32Array, phaseSeed: number, io: PhaseIO): Promise<PhaseSummary> => {
    const settings = selfTrainer(phaseSeed);
    const B = settings.batchSize;
    const C = task.labelNames.length;
    const warmupSteps = Math.round(config.metaWarmup * settings.steps);
    const schedule = lrSchedule({ kind: settings.schedule, warmupSteps: 0 }, settings.steps);
    const vars = student.trainableVariables();
    const targets = (indices: readonly number[]) => tf.tensor2d(Float32Array.from(indices.flatMap((i) => Array.from(q.subarray(i * C, (i + 1) * C)))), [indices.length, C]);
    const perExampleKl = (indices: readonly number[], training: boolean): tf.Tensor => {
      const batch = pool.batch(indices);
      try {
        return tf.tidy(() => klToLogits(targets(indices), logitsOf(student, head, batch, training)));
      } finally {
        disposeBatch(batch);
      }
    };
    /** The batch the trainer draws for 0-based step `step` (its data order is seeded and cursor-addressed). */
    const batchAt = (step: number): number[] => {
      const consumed = step * B;
      const epoch = Math.floor(consumed / pool.size);
      return new DataOrder(settings.seed, pool.size, { epoch, offset: consumed - epoch * pool.size }).next(B);
    };
    const weightsFor = (step: number): Pending => {
      const indices = batchAt(step);
      const rng = Prng.fromSeed(settings.seed, STREAMS.metaBatch + step);
      const meta = Array.from(rng.permutation(labelled.size)).slice(0, Math.min(config.metaBatchSize, labelled.size));
      const labelledBatch = labelled.batch(meta);
      try {
        const weights = metaWeights({
          vars,
          labelledLoss: () => classificationLoss(logitsOf(student, head, labelledBatch, false), labelledBatch.labels),
          perExampleLoss: () => perExampleKl(indices, false),
          lr: settings.lr * schedule.multiplier(step),
          relativeStep: config.metaStep,
        });
        return { step, indices, weights };
      } finally {
        disposeBatch(labelledBatch);
      }
    };
    let pending: Pending | undefined = warmupSteps === 0 ? weightsFor(0) : undefined;
    const extraState = ownedExtraState(
      () =>
        pending === undefined
          ? new Map()
          : new Map([
              ['meta.weights', tf.tensor1d(pending.weights)],
              ['meta.indices', tf.tensor1d(Float32Array.from(pending.indices))],
              ['meta.step', tf.tensor1d([pending.step])],
            ]),
      (tensors) => {
        const w = tensors.get('meta.weights');
        pending = w === undefined ? undefined : { weights: Float32Array.from(w.dataSync()), indices: Array.from((tensors.get('meta.indices') as tf.Tensor).dataSync()), step: (tensors.get('meta.step') as tf.Tensor).dataSync()[0] };
      },
    );
    return runPhase(
      {
        name,
        params: namedAdapterVariables(student),
        examples: pool.size,
        trainer: settings,
        loss: (mb: MicroBatch) => {
          let w: Float32Array;
          if (mb.step < warmupSteps) w = new Float32Array(mb.indices.length).fill(1 / mb.indices.length);
          else {
            if (pending === undefined || pending.step !== mb.step || pending.indices.some((v, i) => v !== mb.indices[i])) {
              throw new PatchworkError('INTERNAL', `LiST: meta weights for step ${mb.step} were not prepared for the batch the trainer drew`);
            }
            w = pending.weights;
          }
          return tf.tidy(() => tf.sum(tf.mul(perExampleKl(mb.indices, true), tf.tensor1d(w))) as tf.Scalar);
        },
        extraState,
        afterStep: (p) => {
          pending = p.step >= warmupSteps && p.step < settings.steps ? weightsFor(p.step) : undefined;
        },
      },
      io,
    ).finally(() => extraState.dispose());
  };

  return {
    trainableParameters,
    artifact: 'adapter',
    async train(io) {
      const phases: PhaseSummary[] = [];
      phases.push(await supervised('teacher', current, config.teacherSteps, seed, io));
      extra.teacher_test_accuracy = evaluateSet(task.test, (b) => logitsOf(current, head, b, false), base.evalBatchSize).accuracy;
      for (let s = 1; s <= config.sessions; s++) {
        const q = softLabels(current, head, pool, base.evalBatchSize);
        const student = newAdapter(seed + s);
        try {
          phases.push(await selfTraining(`session-${s}-selftrain`, student, q, seed + s, io));
          phases.push(await supervised(`session-${s}-finetune`, student, config.finetuneSteps, seed + s, io));
        } catch (e) {
          student.dispose();
          throw e;
        }
        current.dispose();
        current = student;
      }
      return phases;
    },
    logits: (batch) => logitsOf(current, head, batch, false),
    extraMetrics: () => ({ ...extra }),
    stepLoss: (indices) => {
      const batch = labelled.batch(indices);
      try {
        return tf.tidy(() => classificationLoss(logitsOf(current, head, batch, true), batch.labels));
      } finally {
        disposeBatch(batch);
      }
    },
    stepVariables: () => current.trainableVariables(),
    async save(dir) {
      const prompt = ctx.config.prompt;
      await writeDirAtomically(dir, async (staging) => {
        await current.save(staging, { baseModelNameOrPath: ctx.config.baseModel ?? null });
        await writeFile(nodePath.join(staging, PROMPT_FILE), `${JSON.stringify({ template: prompt?.template, label_words: prompt?.labelWords, style: task.prompt?.style }, null, 2)}\n`);
      });
    },
    dispose: () => current.dispose(),
  };
}
