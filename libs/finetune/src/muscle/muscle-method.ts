import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { type Model, loadModel } from '@patchwork/models';
import { type AnyAdapter, loadAdapter } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';
import type { MicroBatch } from '@patchwork/training';
import { evaluateSet } from '../core/evaluate-set';
import { outsideTape } from '../core/outside-tape';
import { runPhase } from '../core/phase';
import { type Batch, disposeBatch } from '../data/encoded-inputs';
import type { LabelHead } from '../heads/label-head';
import { namedAdapterVariables } from '../runner/methods/adapter-variables';
import type { MethodContext, PreparedRun } from '../runner/method';
import { validationMetrics } from '../runner/single-phase';
import { type CompatLossOptions, compatibilityLoss } from './compat-loss';
import { flipMetrics, samplesOf } from './flip-metrics';

/** MUSCLE's parameters (`parameters:` of a `method: muscle` config). */
export interface MuscleConfig extends CompatLossOptions {
  /** The old base model v1 (backbone name or directory). */
  readonly oldBaseModel: string;
  /** v1's task adapter (directory): the old model is v1 + this adapter. */
  readonly oldAdapter: string;
  /** v2's task adapter trained with the same recipe; the compatibility adapter starts from it. */
  readonly newAdapter: string;
}

const KNOWN = new Set(['old_base_model', 'old_adapter', 'new_adapter', 'temperature', 'lambda']);

export function parseMuscleConfig(p: Readonly<Record<string, unknown>>): MuscleConfig {
  const problems = new ViolationCollector();
  for (const k of Object.keys(p)) if (!KNOWN.has(k)) problems.add(`parameters.${k}`, `is not a MUSCLE parameter (known: ${[...KNOWN].join(', ')})`);
  for (const k of ['old_base_model', 'old_adapter', 'new_adapter']) if (typeof p[k] !== 'string' || p[k] === '') problems.add(`parameters.${k}`, 'is required (a directory or, for the base, a backbone name)');
  const t = p.temperature ?? 2;
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) problems.add('parameters.temperature', `must be a positive number, got ${JSON.stringify(t)}`);
  const lambda = p.lambda ?? 1;
  if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) problems.add('parameters.lambda', `must be in [0, 1], got ${JSON.stringify(lambda)}`);
  problems.throwIfAny();
  return { oldBaseModel: p.old_base_model as string, oldAdapter: p.old_adapter as string, newAdapter: p.new_adapter as string, temperature: t as number, lambda: lambda as number };
}

function logitsOf(adapter: AnyAdapter, head: LabelHead, batch: Batch, training: boolean): tf.Tensor {
  return tf.tidy(() => head.logits(adapter.forward(batch.inputs, { training, outputHiddenStates: head.needsHiddenStates }), batch));
}

function assertCompatibleBases(oldModel: Model, newModel: Model): void {
  const problems = new ViolationCollector();
  if (oldModel.modelType !== newModel.modelType) problems.add('parameters.old_base_model', `is a ${oldModel.modelType}, the new base is a ${newModel.modelType}`);
  const vocab = (m: Model) => m.config['vocab_size'];
  if (vocab(oldModel) !== vocab(newModel)) problems.add('parameters.old_base_model', `has vocabulary size ${vocab(oldModel)}, the new base ${vocab(newModel)}: MUSCLE needs the same tokenizer`);
  problems.throwIfAny();
}

/**
 * MUSCLE compatibility training (Echterhoff et al., 2024): the compatibility adapter on the new
 * base starts from the new task adapter Δ2 and is trained with `compatibilityLoss`, distilling
 * from the old model (v1 + Δ1) where it is wrong and from the new model (v2 + Δ2) elsewhere.
 * Negative flips against the old model are measured on the test split before (v2 + Δ2) and after
 * (v2 + the compatibility adapter) with @patchwork/evaluate's `compareSamples`.
 */
export async function muscleMethod(ctx: MethodContext): Promise<PreparedRun> {
  const config = parseMuscleConfig(ctx.config.parameters);
  if (ctx.task.headKind === 'prompt' && ctx.task.prompt?.style === 'masked') {
    throw new PatchworkError('INVALID_ARGUMENT', 'head: MUSCLE is implemented for classifier heads and next-token prompts; a masked-LM prompt would need both bases\' MLM heads');
  }
  const oldBase = await loadModel(await ctx.resolveModel(config.oldBaseModel, 'parameters.old_base_model'));
  const owned: Array<{ dispose(): void }> = [oldBase];
  try {
    assertCompatibleBases(oldBase, ctx.model);
    const oldModel = ctx.taskModel(oldBase);
    const oldHead = ctx.task.headFor(oldModel);
    const head = ctx.task.headFor(ctx.model);
    const oldAdapterDir = await ctx.resolveModel(config.oldAdapter, 'parameters.old_adapter');
    const newAdapterDir = await ctx.resolveModel(config.newAdapter, 'parameters.new_adapter');
    const oldTeacher = await loadAdapter(oldAdapterDir, oldModel);
    owned.push(oldTeacher);
    const newTeacher = await loadAdapter(newAdapterDir, ctx.model);
    owned.push(newTeacher);
    const student = await loadAdapter(newAdapterDir, ctx.model, { seed: ctx.config.trainer.seed });
    owned.push(student);
    const test = ctx.task.test;
    const bs = ctx.config.trainer.evalBatchSize;
    const oldSamples = samplesOf(evaluateSet(test, (b) => logitsOf(oldTeacher, oldHead, b, false), bs).predictions, test.labels, test.exampleIds);
    const plainSamples = samplesOf(evaluateSet(test, (b) => logitsOf(newTeacher, head, b, false), bs).predictions, test.labels, test.exampleIds);
    const train = ctx.task.train;
    const loss = (indices: readonly number[]): tf.Scalar => {
      const batch = train.batch(indices);
      try {
        return tf.tidy(() => {
          const [z1, z2] = outsideTape(() => [logitsOf(oldTeacher, oldHead, batch, false), logitsOf(newTeacher, head, batch, false)]);
          return compatibilityLoss(logitsOf(student, head, batch, true), z1, z2, batch.labels, config);
        });
      } finally {
        disposeBatch(batch);
      }
    };
    const params = namedAdapterVariables(student);
    return {
      trainableParameters: student.numTrainableParameters(),
      artifact: 'adapter',
      async train(io) {
        return [
          await runPhase(
            {
              name: 'compat',
              params,
              examples: train.size,
              trainer: ctx.config.trainer,
              loss: (mb: MicroBatch) => loss(mb.indices),
              evaluate: validationMetrics(ctx, (b) => logitsOf(student, head, b, false)),
            },
            io,
          ),
        ];
      },
      logits: (batch) => logitsOf(student, head, batch, false),
      extraMetrics() {
        const compat = samplesOf(evaluateSet(test, (b) => logitsOf(student, head, b, false), bs).predictions, test.labels, test.exampleIds);
        return Object.fromEntries(Object.entries(flipMetrics(oldSamples, plainSamples, compat)).map(([k, v]) => [`muscle_${k}`, v]));
      },
      stepLoss: loss,
      stepVariables: () => [...params.values()],
      save: (dir) => student.save(dir, { baseModelNameOrPath: ctx.config.baseModel ?? null }),
      dispose: () => owned.reverse().forEach((o) => o.dispose()),
    };
  } catch (e) {
    owned.reverse().forEach((o) => o.dispose());
    throw e;
  }
}
