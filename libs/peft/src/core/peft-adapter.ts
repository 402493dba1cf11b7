import { PatchworkError } from '@patchwork/errors';
import { type ForwardOutput, type LinearCall, type LinearPatch, type LinearPatchSet, Model, type ModelInputs } from '@patchwork/models';
import { type DType, tf } from '@patchwork/tensor';
import { PEFT_KEY_PREFIX } from '../config/peft-format';
import { toPythonJson } from '../config/python-json';
import { writeAdapterDir } from '../io/adapter-dir';
import type { AdapterModule, KeySpelling, PeftType } from './adapter-module';
import { SeedStream } from './init';
import type { ParamOverrides } from './param-overrides';

export interface AdapterForwardOptions {
  /** Training forward: dropout on the adapter branch is active. Default false. */
  training?: boolean;
  outputHiddenStates?: boolean;
  /** More patches run after the adapter's on the same modules (observers, other deltas). */
  patches?: LinearPatchSet;
}

export interface SaveAdapterOptions {
  /** Module spelling in tensor keys; default: the spelling the adapter was loaded with, else canonical. */
  spelling?: KeySpelling;
  /** Tensor dtype on disk; default F32 (PEFT saves the parameters' dtype). */
  dtype?: Extract<DType, 'F32' | 'F16' | 'BF16'>;
  /** Written as `base_model_name_or_path`; default: the config's value. */
  baseModelNameOrPath?: string | null;
}

/** New weight and bias of one adapted projection after merging or unmerging. */
export interface MergedLinear {
  weight: tf.Tensor;
  bias?: tf.Tensor;
}

/**
 * What LoRA, AdaLoRA and HUT share: a set of adapted linears of one base model plus optional
 * fully trained base parameters, applied through the models' linear seam, trained as tf.Variables,
 * merged into and unmerged from the base weights, saved in the PEFT layout. The adapter does not
 * own the base model; it owns its variables (`dispose`).
 */
export abstract class PeftAdapter<M extends AdapterModule = AdapterModule> {
  abstract readonly peftType: PeftType;
  protected readonly seeds: SeedStream;
  private disposed = false;

  protected constructor(
    /** The base model the adapter was built for (not owned). */
    readonly model: Model,
    protected readonly layers: ReadonlyMap<string, M>,
    protected readonly overrides: ParamOverrides,
    protected readonly spelling: KeySpelling,
    seed: number,
  ) {
    this.seeds = new SeedStream(seed);
  }

  /** Adapted modules by canonical name, in the model's layer order. */
  get modules(): ReadonlyMap<string, M> {
    return this.layers;
  }

  /** Canonical keys of base parameters trained in full (modules_to_save, biases). */
  get savedParameterKeys(): string[] {
    return [...this.overrides.variables.keys()];
  }

  /** The variables of one adapted module. */
  protected abstract layerVariables(layer: M): tf.Variable[];

  /** The projection's output with this layer's update applied (inside the forward's tidy). */
  protected abstract applyLayer(layer: M, call: LinearCall, out: tf.Tensor, training: boolean): tf.Tensor;

  /** Weight (stored layout) and bias after merging (`direction` 1) or unmerging (-1). */
  protected abstract mergeLayer(layer: M, weight: tf.Tensor, bias: tf.Tensor | undefined, direction: 1 | -1): MergedLinear;

  /** The layer's tensors to save, as `[key suffix after the module name, tensor]`; the caller disposes the tensors. */
  protected abstract layerTensors(layer: M, spell: (canonical: string) => string): Array<[string, tf.Tensor]>;

  /**
   * The `adapter_config.json` object. `targetModules` is what to write as `target_modules`, or
   * undefined to keep the config's own.
   */
  protected abstract configObject(options: SaveAdapterOptions, spell: (canonical: string) => string, targetModules: string[] | undefined): Record<string, unknown>;

  protected assertLive(): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', `${this.peftType} adapter has been disposed`);
  }

  /** Patches for `model.forward`, one per adapted module. */
  patches(options: { training?: boolean } = {}): Map<string, LinearPatch[]> {
    this.assertLive();
    const training = options.training ?? false;
    const out = new Map<string, LinearPatch[]>();
    for (const [module, layer] of this.layers) out.set(module, [(call, y) => this.applyLayer(layer, call, y, training)]);
    return out;
  }

  /**
   * Runs the base model with the adapter active (and the fully trained base parameters in place).
   * Tidy like `Model.forward`: only the returned tensors survive. Differentiable with respect to
   * `trainableVariables()`.
   */
  forward(inputs: ModelInputs, options: AdapterForwardOptions = {}): ForwardOutput {
    this.assertLive();
    const own = this.patches({ training: options.training });
    const extra = options.patches;
    const patches: LinearPatchSet =
      extra === undefined
        ? own
        : {
            get: (module: string) => {
              const a = own.get(module) ?? [];
              const b = extra.get(module) ?? [];
              return a.length + b.length === 0 ? undefined : [...a, ...b];
            },
          };
    return this.overrides.modelFor(this.model).forward(inputs, { patches, outputHiddenStates: options.outputHiddenStates });
  }

  /** Every trainable variable: the adapter's tensors, then the fully trained base parameters. */
  trainableVariables(): tf.Variable[] {
    this.assertLive();
    const vars: tf.Variable[] = [];
    for (const layer of this.layers.values()) vars.push(...this.layerVariables(layer));
    vars.push(...this.overrides.variables.values());
    return vars;
  }

  numTrainableParameters(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  private layerOwning(key: string): { layer: M; part: 'weight' | 'bias' } | undefined {
    for (const layer of this.layers.values()) {
      if (layer.spec.weightKey === key) return { layer, part: 'weight' };
      if (layer.spec.biasKey === key) return { layer, part: 'bias' };
    }
    return undefined;
  }

  private refuseTied(): void {
    for (const layer of this.layers.values()) {
      if (layer.spec.tied) {
        throw new PatchworkError('FAILED_PRECONDITION', `cannot merge into ${layer.module}: its weight is tied to ${layer.spec.weightKey}, so merging would change that module too`);
      }
    }
  }

  /**
   * One parameter of the merged (direction 1) or unmerged (-1) model, as a new tensor the caller
   * owns. `weights` holds the source model's parameters by canonical key. Lets a writer stream a
   * merged checkpoint tensor by tensor.
   */
  mergedParameter(key: string, weights: ReadonlyMap<string, tf.Tensor>, direction: 1 | -1 = 1): tf.Tensor {
    this.assertLive();
    this.refuseTied();
    const override = this.overrides.variables.get(key);
    if (override !== undefined) return tf.clone(direction === 1 ? override : (this.model.weights.get(key) as tf.Tensor));
    const source = weights.get(key);
    if (source === undefined) throw new PatchworkError('INVALID_ARGUMENT', `weights lack ${key}`);
    const owner = this.layerOwning(key);
    if (owner === undefined) return tf.clone(source);
    const { layer, part } = owner;
    const weight = weights.get(layer.spec.weightKey) as tf.Tensor;
    const bias = layer.spec.biasKey === undefined ? undefined : weights.get(layer.spec.biasKey);
    if (!sameShape(weight.shape, this.model.weights.get(layer.spec.weightKey)?.shape ?? [])) {
      throw new PatchworkError('INVALID_ARGUMENT', `${layer.module}: weight has shape [${weight.shape.join(', ')}], the adapter was built for [${this.model.weights.get(layer.spec.weightKey)?.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const merged = this.mergeLayer(layer, weight, bias, direction);
      return part === 'weight' ? merged.weight : (merged.bias ?? tf.clone(source));
    });
  }

  /**
   * Every parameter with the adapter merged in: W + ΔW for LoRA and AdaLoRA (ΔW transposed for
   * Conv1D), W ⊙ M for HUT; fully trained parameters replace the base ones. New tensors, owned
   * by the caller. `weights` defaults to the base model's.
   */
  mergeWeights(weights: ReadonlyMap<string, tf.Tensor> = this.model.weights): Map<string, tf.Tensor> {
    return this.mapAll(weights, 1);
  }

  /** The inverse of `mergeWeights`: the base parameters recovered from merged ones. */
  unmergeWeights(merged: ReadonlyMap<string, tf.Tensor>): Map<string, tf.Tensor> {
    return this.mapAll(merged, -1);
  }

  private mapAll(weights: ReadonlyMap<string, tf.Tensor>, direction: 1 | -1): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    try {
      for (const key of weights.keys()) out.set(key, this.mergedParameter(key, weights, direction));
    } catch (e) {
      for (const t of out.values()) t.dispose();
      throw e;
    }
    return out;
  }

  /** A new model with the adapter merged (zero adapter latency); the caller disposes it. */
  mergeIntoModel(): Model {
    return Model.create(this.model.config, this.mergeWeights());
  }

  /** The spelling of a canonical module or key in saved files. */
  protected speller(spelling: KeySpelling): (canonical: string) => string {
    return (canonical) => (spelling === 'alternate' ? (this.model.spellingsOf(canonical)[1] ?? canonical) : canonical);
  }

  /** The key PEFT saves a fully trained base parameter under. */
  private savedKey(key: string, spell: (c: string) => string): string {
    const owner = this.layerOwning(key);
    // PEFT wraps adapted modules, so their own bias lives at `<module>.base_layer.bias`.
    if (owner?.part === 'bias') return `${PEFT_KEY_PREFIX}${spell(owner.layer.module)}.base_layer.bias`;
    return `${PEFT_KEY_PREFIX}${spell(key)}`;
  }

  /** Every tensor of the adapter file by PEFT key (sorted); the caller disposes them. */
  stateTensors(spelling: KeySpelling = this.spelling): Map<string, tf.Tensor> {
    this.assertLive();
    const spell = this.speller(spelling);
    const entries: Array<[string, tf.Tensor]> = [];
    for (const layer of this.layers.values()) {
      for (const [suffix, t] of this.layerTensors(layer, spell)) entries.push([`${PEFT_KEY_PREFIX}${spell(layer.module)}.${suffix}`, t]);
    }
    for (const [key, v] of this.overrides.variables) entries.push([this.savedKey(key, spell), tf.clone(v)]);
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return new Map(entries);
  }

  /**
   * Writes a PEFT adapter directory: `adapter_config.json` (PEFT's key set, sorted, 2-space
   * indent, as `save_pretrained` writes it) and `adapter_model.safetensors`. A new directory
   * appears whole or not at all.
   */
  async save(dir: string, options: SaveAdapterOptions = {}): Promise<void> {
    const spelling = options.spelling ?? this.spelling;
    const spell = this.speller(spelling);
    // The config's names are in the adapter's own spelling; PEFT matches them against the model's
    // in-memory names, so a file in the other spelling lists its modules exactly, in that spelling.
    const targets = spelling === this.spelling ? undefined : [...this.layers.keys()].map(spell);
    const config = toPythonJson(this.configObject(options, spell, targets));
    const tensors = this.stateTensors(spelling);
    try {
      await writeAdapterDir(dir, config, tensors, options.dtype ?? 'F32');
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** Frees the adapter's variables. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const layer of this.layers.values()) for (const v of this.layerVariables(layer)) v.dispose();
    this.overrides.dispose();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
