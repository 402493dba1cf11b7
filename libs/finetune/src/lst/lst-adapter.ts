import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { PEFT_KEY_PREFIX, readAdapterDir } from '@patchwork/peft';
import { tf } from '@patchwork/tensor';
import { writeAdapterDirectory } from '../core/artifact-dir';
import { outsideTape } from '../core/outside-tape';
import type { Batch } from '../data/encoded-inputs';
import type { LabelHead } from '../heads/label-head';
import { type WeightLookup, classifierModules, moduleParamKeys, weightLookup } from '../heads/weights';
import { type BlockSchema, blockSchema } from './block-schema';
import { fisherImportance, importanceKeys, magnitudeImportance } from './importance';
import { type LstBaseFacts, type LstConfig, type LstConfigInput, parseLstConfig } from './lst-config';
import { planPruning, reductionProblems } from './prune-plan';
import { prunedInit, randomInit } from './side-init';
import { type SideDims, type SideStyle, sideForward, sideParamShapes } from './side-network';

/** Prefix of side-network tensors in the adapter file: `base_model.model.side.<name>`. */
export const LST_SIDE_PREFIX = `${PEFT_KEY_PREFIX}side.`;

export interface CreateLstOptions {
  /** Seeds the random initialisation. Default 0. */
  readonly seed?: number;
  /**
   * Loss of the frozen base model on training example `n` alone (`n` < `fisherExamples`), for
   * the Fisher importance of `init: "fisher"`.
   */
  readonly fisherLoss?: (n: number) => tf.Scalar;
  /** Training examples available to `fisherLoss`; the Fisher sum uses min(fisher_samples, this). */
  readonly fisherExamples?: number;
}

function baseFacts(model: Model, schema: BlockSchema): LstBaseFacts {
  return {
    base_model_type: model.modelType,
    base_hidden_size: schema.hidden,
    base_num_layers: model.numLayers,
    base_num_attention_heads: schema.heads,
    base_intermediate_size: schema.inner,
  };
}

function dimsOf(schema: BlockSchema, config: LstConfig, numLayers: number): SideDims {
  const r = config.reduction_factor;
  return {
    hidden: schema.hidden,
    sideHidden: schema.hidden / r,
    heads: schema.heads,
    sideInner: schema.inner / r,
    layers: config.side_layers ?? Array.from({ length: numLayers }, (_, i) => i),
    finalNorm: schema.finalNorm !== undefined,
  };
}

function headModules(model: Model, config: LstConfig, field: string): string[] {
  const modules = config.modules_to_save ?? classifierModules(model);
  const problems = new ViolationCollector();
  modules.forEach((m, i) => {
    if (!model.linears.has(m)) problems.add(`${field}.modules_to_save[${i}]`, `the ${model.modelType} model has no linear module ${JSON.stringify(m)}`);
  });
  problems.throwIfAny();
  return modules;
}

/**
 * Ladder Side-Tuning (Sung et al., 2022): a side network r times narrower than the frozen
 * backbone, fed by down-projections of every backbone layer's output through learned sigmoid
 * gates, whose up-projected output goes through the backbone's head. The backbone runs outside
 * the gradient tape (`outsideTape`), so training keeps none of its activations: only the hidden
 * states the ladders read and the side network's own. Saved in the PEFT layout with
 * `peft_type: "LST"` (tensor names in the README).
 */
export class LstAdapter {
  readonly peftType = 'LST';
  private disposed = false;

  private constructor(
    readonly model: Model,
    readonly config: LstConfig,
    readonly schema: BlockSchema,
    readonly dims: SideDims,
    /** Side-network variables by name (`downsample.0.weight`, ...). */
    readonly side: ReadonlyMap<string, tf.Variable>,
    /** Trained copies of backbone head parameters (modules_to_save), by canonical key. */
    readonly head: ReadonlyMap<string, tf.Variable>,
    private readonly extras: Record<string, unknown>,
  ) {}

  /** A new side network on `model`; INVALID_ARGUMENT for a bad config, before anything is allocated. */
  static create(model: Model, input: LstConfigInput = {}, options: CreateLstOptions = {}): LstAdapter {
    const config = parseLstConfig(input, 'config', 'create', model.numLayers);
    const schema = blockSchema(model);
    const problems = reductionProblems(schema, config.reduction_factor);
    if (problems.length > 0) throw new PatchworkError('INVALID_ARGUMENT', `config.reduction_factor: ${problems.join('; ')}`, { violations: problems.map((description) => ({ field: 'config.reduction_factor', description })) });
    if (config.init === 'fisher' && (options.fisherLoss === undefined || !(options.fisherExamples !== undefined && options.fisherExamples > 0))) {
      throw new PatchworkError('INVALID_ARGUMENT', 'config.init: "fisher" needs training examples (fisherLoss and fisherExamples); use "magnitude" or "random" without data');
    }
    const modules = headModules(model, config, 'config');
    const dims = dimsOf(schema, config, model.numLayers);
    const shapes = sideParamShapes(dims);
    let init: Map<string, Float32Array>;
    if (config.init === 'random') init = randomInit(shapes, config.gate_alpha, options.seed ?? 0);
    else {
      const keys = importanceKeys(model, schema);
      const importance =
        config.init === 'magnitude'
          ? magnitudeImportance(model, keys)
          : fisherImportance(model, keys, Math.min(config.fisher_samples, options.fisherExamples as number), options.fisherLoss as (n: number) => tf.Scalar);
      init = prunedInit(model, schema, dims, planPruning(schema, importance, config.reduction_factor), config.gate_alpha);
    }
    const side = new Map<string, tf.Variable>();
    for (const [name, shape] of shapes) {
      const value = tf.tensor(init.get(name) as Float32Array, shape);
      side.set(name, tf.variable(value, true));
      value.dispose();
    }
    const head = new Map<string, tf.Variable>();
    for (const key of moduleParamKeys(model, modules)) head.set(key, tf.variable(model.weights.get(key) as tf.Tensor, true));
    return new LstAdapter(model, { ...config, modules_to_save: modules }, schema, dims, side, head, {});
  }

  /**
   * Loads an LST adapter directory onto `model`. The backbone must be the one it was built for
   * (type, widths, layer count) and every tensor must be present with its shape; otherwise
   * INVALID_ARGUMENT naming the difference.
   */
  static async load(dir: string, model: Model): Promise<LstAdapter> {
    const files = await readAdapterDir(dir);
    try {
      const where = files.configPath;
      const config = parseLstConfig(files.config, where, 'load', model.numLayers);
      const schema = blockSchema(model);
      const facts = baseFacts(model, schema);
      const problems = new ViolationCollector();
      for (const [k, v] of Object.entries(facts)) {
        const saved = files.config[k];
        if (saved !== undefined && saved !== v) problems.add(`${where}: ${k}`, `the adapter was built for ${JSON.stringify(saved)}, the base model has ${JSON.stringify(v)}`);
      }
      problems.throwIfAny();
      const modules = headModules(model, config, where);
      const dims = dimsOf(schema, config, model.numLayers);
      const expected = new Map<string, readonly number[]>();
      for (const [name, shape] of sideParamShapes(dims)) expected.set(`${LST_SIDE_PREFIX}${name}`, shape);
      for (const key of moduleParamKeys(model, modules)) expected.set(`${PEFT_KEY_PREFIX}${key}`, (model.weights.get(key) as tf.Tensor).shape);
      for (const [key, shape] of expected) {
        const t = files.tensors.get(key);
        if (t === undefined) problems.add(`${files.weightsPath}: ${key}`, 'is missing');
        else if (t.shape.join() !== shape.join()) problems.add(`${files.weightsPath}: ${key}`, `has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] for this base model`);
      }
      for (const key of files.tensors.keys()) if (!expected.has(key)) problems.add(`${files.weightsPath}: ${key}`, 'is not a tensor of this LST adapter');
      problems.throwIfAny();
      const side = new Map<string, tf.Variable>();
      const head = new Map<string, tf.Variable>();
      for (const [key, t] of files.tensors) {
        if (key.startsWith(LST_SIDE_PREFIX)) side.set(key.slice(LST_SIDE_PREFIX.length), tf.variable(t, true));
        else head.set(key.slice(PEFT_KEY_PREFIX.length), tf.variable(t, true));
      }
      const extras = Object.fromEntries(Object.entries(files.config).filter(([k]) => !(k in config) && !(k in facts)));
      return new LstAdapter(model, { ...config, modules_to_save: modules }, schema, dims, side, head, extras);
    } finally {
      for (const t of files.tensors.values()) t.dispose();
    }
  }

  private assertLive(): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'LST adapter has been disposed');
  }

  get style(): SideStyle {
    return { norm: this.schema.norm, causal: this.schema.causal, eps: this.schema.eps, act: this.schema.act, gateTemperature: this.config.gate_temperature };
  }

  /** Every trainable variable by the key it is saved under. */
  namedVariables(): Map<string, tf.Variable> {
    this.assertLive();
    const out = new Map<string, tf.Variable>();
    for (const [name, v] of this.side) out.set(`${LST_SIDE_PREFIX}${name}`, v);
    for (const [key, v] of this.head) out.set(`${PEFT_KEY_PREFIX}${key}`, v);
    return out;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.namedVariables().values()];
  }

  numTrainableParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Head parameters: the trained copies, else the frozen backbone's. */
  get weights(): WeightLookup {
    return weightLookup(this.model, this.head);
  }

  /** μ_i = σ(α_i / T) of every side layer, for inspection. */
  gates(): Map<number, number> {
    const out = new Map<number, number>();
    for (const i of this.dims.layers) {
      const alpha = (this.side.get(`gate.${i}`) as tf.Variable).dataSync()[0];
      out.set(i, 1 / (1 + Math.exp(-alpha / this.config.gate_temperature)));
    }
    return out;
  }

  /** The frozen backbone's hidden states, computed off the gradient tape. */
  backboneHiddenStates(inputs: ModelInputs): tf.Tensor[] {
    this.assertLive();
    return outsideTape(() => {
      const out = this.model.forward(inputs, { outputHiddenStates: true });
      out.logits.dispose();
      return out.hiddenStates as tf.Tensor[];
    });
  }

  /** The side network's output in the backbone's last-layer space, `[B, L, d]`. */
  hidden(inputs: ModelInputs): tf.Tensor {
    return tf.tidy(() => {
      const states = this.backboneHiddenStates(inputs);
      return sideForward((name) => this.side.get(name) as tf.Variable, this.dims, this.style, states, inputs.attentionMask);
    });
  }

  /** Label logits of a batch through `head` (the backbone's classifier or a prompt head). */
  logits(batch: Batch, head: LabelHead): tf.Tensor {
    return tf.tidy(() => head.logitsFromHidden(this.hidden(batch.inputs), batch, this.weights));
  }

  /** The `adapter_config.json` object (PEFT key style, sorted on write). */
  configObject(baseModelNameOrPath?: string | null): Record<string, unknown> {
    const facts = baseFacts(this.model, this.schema);
    return {
      ...this.extras,
      ...this.config,
      base_model_name_or_path: baseModelNameOrPath === undefined ? this.config.base_model_name_or_path : baseModelNameOrPath,
      ...facts,
      side_hidden_size: this.dims.sideHidden,
      side_intermediate_size: this.dims.sideInner,
      side_layers: [...this.dims.layers],
      inference_mode: true,
    };
  }

  /** Writes the adapter directory (new directories appear whole or not at all). */
  async save(dir: string, options: { baseModelNameOrPath?: string | null } = {}): Promise<void> {
    this.assertLive();
    await writeAdapterDirectory(dir, this.configObject(options.baseModelNameOrPath), this.namedVariables());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of [...this.side.values(), ...this.head.values()]) v.dispose();
  }
}
