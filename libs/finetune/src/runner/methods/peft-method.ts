import { PatchworkError } from '@patchwork/errors';
import { type AdaLoraAdapter, type AnyAdapter, RankAllocator, createAdapter, orthogonalRegularizer } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';
import { type ExtraState, type TrainProgress, classificationLoss } from '@patchwork/training';
import { ownedExtraState } from '../../core/extra-state';
import { type Batch, disposeBatch } from '../../data/encoded-inputs';
import { classifierModules } from '../../heads/weights';
import type { MethodContext, PreparedRun } from '../method';
import { singlePhaseRun } from '../single-phase';
import { namedAdapterVariables } from './adapter-variables';

const PEFT_TYPES = { lora: 'LORA', adalora: 'ADALORA', hut: 'HUT' } as const;

export type PeftMethod = keyof typeof PEFT_TYPES;

/** The PEFT config a run creates: the method's parameters, the task head trained in full by default (PEFT's SEQ_CLS behaviour). */
export function adapterConfig(ctx: MethodContext, method: PeftMethod): Record<string, unknown> {
  const p = adapterParameters(ctx.config.parameters, method, ctx.config.trainer.steps);
  if (p.modules_to_save === undefined && ctx.task.headKind === 'classifier') p.modules_to_save = classifierModules(ctx.model);
  return p;
}

/** The method's parameters completed with the run's schedule (AdaLoRA's budget), as a PEFT config without the model-dependent parts. */
export function adapterParameters(parameters: Readonly<Record<string, unknown>>, method: PeftMethod, steps: number): Record<string, unknown> {
  const p: Record<string, unknown> = { ...parameters };
  if (method === 'adalora') {
    if (p.total_step === undefined) p.total_step = steps;
    else if (p.total_step !== steps) throw new PatchworkError('INVALID_ARGUMENT', `parameters.total_step: AdaLoRA's budget schedule must span the run's ${steps} steps, got ${JSON.stringify(p.total_step)}`);
    // A budgeting phase is needed: warm up for 10% of the run and freeze the final ranks for the last 30% unless told otherwise.
    if (p.tinit === undefined) p.tinit = Math.floor(0.1 * steps);
    if (p.tfinal === undefined) p.tfinal = Math.floor(0.3 * steps);
  }
  return { ...p, peft_type: PEFT_TYPES[method] };
}

function forwardLogits(ctx: MethodContext, adapter: AnyAdapter, batch: Batch, training: boolean): tf.Tensor {
  const head = ctx.task.headFor(ctx.model);
  return tf.tidy(() => head.logits(adapter.forward(batch.inputs, { training, outputHiddenStates: head.needsHiddenStates }), batch));
}

/**
 * AdaLoRA's allocator needs each step's gradients after the optimizer update (PEFT's
 * `update_and_allocate`), which @patchwork/training does not hand out: they are recomputed on
 * the step's own micro-batches at the updated parameters, scaled by the step's clipping factor.
 */
function allocatorHooks(ctx: MethodContext, adapter: AdaLoraAdapter): { extraState: ExtraState; afterStep: (p: TrainProgress, micro: readonly (readonly number[])[]) => void; dispose: () => void } {
  const allocator = new RankAllocator(adapter);
  const vars = adapter.trainableVariables();
  const clip = ctx.config.trainer.clip;
  const afterStep = (p: TrainProgress, micro: readonly (readonly number[])[]): void => {
    const grads: Record<string, tf.Tensor> = {};
    try {
      for (const indices of micro) {
        const batch = ctx.task.train.batch(indices);
        try {
          const { value, grads: g } = tf.variableGrads(() => tf.div(classificationLoss(forwardLogits(ctx, adapter, batch, false), batch.labels), micro.length) as tf.Scalar, vars);
          value.dispose();
          for (const [name, t] of Object.entries(g)) {
            const prev = grads[name];
            grads[name] = prev === undefined ? t : tf.add(prev, t);
            if (prev !== undefined) tf.dispose([prev, t]);
          }
        } finally {
          disposeBatch(batch);
        }
      }
      const factor = clip > 0 ? Math.min(1, clip / (p.gradNorm + 1e-6)) : 1;
      if (factor < 1) {
        for (const [name, t] of Object.entries(grads)) {
          grads[name] = tf.mul(t, factor);
          t.dispose();
        }
      }
      allocator.update(p.step - 1, grads);
    } finally {
      tf.dispose(Object.values(grads));
    }
  };
  const extraState = ownedExtraState(
    () => {
      const { tensors, frozen } = allocator.state();
      const out = new Map(tensors);
      for (const [module, keep] of Object.entries(frozen ?? {})) out.set(`frozen.${module}`, tf.tensor1d(keep.map((k) => (k ? 1 : 0))));
      for (const [module, layer] of adapter.modules) if (layer.pattern !== null) out.set(`pattern.${module}`, tf.tensor1d(layer.pattern.map((k) => (k ? 1 : 0))));
      return out;
    },
    (tensors) => {
      const ema = new Map<string, tf.Tensor>();
      const frozen: Record<string, boolean[]> = {};
      for (const [name, t] of tensors) {
        if (name.startsWith('frozen.')) frozen[name.slice(7)] = Array.from(t.dataSync(), (v) => v > 0.5);
        else if (name.startsWith('pattern.')) adapter.setRankMask(name.slice(8), Array.from(t.dataSync(), (v) => v > 0.5));
        else ema.set(name, t);
      }
      allocator.restore({ tensors: ema, frozen: Object.keys(frozen).length === 0 ? null : frozen });
    },
  );
  return {
    afterStep,
    extraState,
    dispose: () => {
      extraState.dispose();
      allocator.dispose();
    },
  };
}

/** LoRA, AdaLoRA or HUT from @patchwork/peft, trained through the models' linear seam. */
export async function peftMethod(ctx: MethodContext, method: keyof typeof PEFT_TYPES): Promise<PreparedRun> {
  const adapter = createAdapter(ctx.model, adapterConfig(ctx, method) as never, { seed: ctx.config.trainer.seed });
  const hooks = method === 'adalora' ? allocatorHooks(ctx, adapter as AdaLoraAdapter) : undefined;
  const orthWeight = method === 'adalora' ? (adapter as AdaLoraAdapter).config.orth_reg_weight : 0;
  return singlePhaseRun(ctx, {
    params: namedAdapterVariables(adapter),
    trainableParameters: adapter.numTrainableParameters(),
    artifact: 'adapter',
    logits: (batch, training) => forwardLogits(ctx, adapter, batch, training),
    regularizer: orthWeight > 0 ? () => tf.mul(orthogonalRegularizer(adapter as AdaLoraAdapter), orthWeight) as tf.Scalar : undefined,
    extraState: hooks?.extraState,
    afterStep: hooks?.afterStep,
    save: (dir) => adapter.save(dir, { baseModelNameOrPath: ctx.config.baseModel ?? null }),
    dispose: () => {
      hooks?.dispose();
      adapter.dispose();
    },
  });
}
