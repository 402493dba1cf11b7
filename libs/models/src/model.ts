import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { architectureFor } from './architectures/registry';
import { ConfigReader, type RawConfig } from './config/config-reader';
import { ForwardContext, type LinearSubstitute } from './core/forward-context';
import type { LinearSpec } from './core/linear-spec';
import { ModuleNames } from './core/module-names';
import type { Architecture, ArchitectureInstance, ForwardOptions, ForwardOutput, InputKind, ModelInputs } from './core/types';

export interface CreateModelOptions {
  /**
   * Modules (either spelling, base-model prefix optional) whose projection is computed by a
   * substitute instead of a dense weight: their weight is left out of `weights`, and the model
   * neither holds nor multiplies by one. A tied head cannot be substituted (its weight is the
   * embedding).
   */
  readonly substitutes?: ReadonlyMap<string, LinearSubstitute>;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A Hugging Face model as `(config, weights)` plus a functional forward pass. The model owns its
 * weight tensors: `dispose()` frees them. Parameter keys and module names are the checkpoint's
 * (`transformer.h.0.attn.c_attn.weight`); for ViT the classic spelling is canonical and the
 * transformers-5 spelling is accepted wherever a name is taken (see `resolveModule`).
 */
export class Model {
  private disposed = false;

  private constructor(
    readonly config: RawConfig,
    readonly architecture: Architecture,
    private readonly instance: ArchitectureInstance,
    private readonly names: ModuleNames,
    private readonly params: Map<string, tf.Tensor>,
    private readonly substituteMap: ReadonlyMap<string, LinearSubstitute>,
  ) {}

  /**
   * Builds a model from a parsed config.json and its parameters keyed by checkpoint key (either
   * spelling). On success takes ownership of every tensor in `weights`. Every parameter must be present with
   * its exact shape and nothing else may be; all problems are reported in one INVALID_ARGUMENT
   * (the tensors then stay the caller's). The weight of a module in `options.substitutes` must be
   * absent.
   */
  static create(config: RawConfig, weights: ReadonlyMap<string, tf.Tensor>, options: CreateModelOptions = {}): Model {
    const architecture = architectureFor(config);
    const instance = architecture.instantiate(new ConfigReader(config));
    const names = new ModuleNames(architecture.moduleAliases);
    const expected = instance.layout.params;
    const params = new Map<string, tf.Tensor>();
    const problems = new ViolationCollector();
    const seen = new Set<string>();
    const substitutes = new Map<string, LinearSubstitute>();
    const substitutedKeys = new Set<string>();
    for (const [name, substitute] of options.substitutes ?? []) {
      const module = [name, architecture.basePrefix + name].map((n) => names.canonical(n)).find((n) => instance.layout.linears.has(n));
      const spec = module === undefined ? undefined : instance.layout.linears.get(module);
      if (module === undefined || spec === undefined) problems.add(`substitutes.${name}`, `is not a linear module of ${architecture.classNames[0]}`);
      else if (substitutes.has(module)) problems.add(`substitutes.${name}`, `duplicates ${module} under another spelling`);
      else if (spec.tied) problems.add(`substitutes.${name}`, `shares its weight ${spec.weightKey} with an embedding and cannot be substituted`);
      else {
        substitutes.set(module, substitute);
        substitutedKeys.add(spec.weightKey);
      }
    }
    for (const [key, tensor] of weights) {
      const canonical = names.canonical(key);
      const shape = expected.get(canonical);
      if (shape !== undefined) seen.add(canonical);
      if (substitutedKeys.has(canonical)) problems.add(`weights.${key}`, 'belongs to a substituted module and must be left out');
      else if (shape === undefined) problems.add(`weights.${key}`, `is not a parameter of ${architecture.classNames[0]}`);
      else if (params.has(canonical)) problems.add(`weights.${key}`, `duplicates ${canonical} under another spelling`);
      else if (!sameShape(tensor.shape, shape)) problems.add(`weights.${key}`, `has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
      else if (tensor.dtype !== 'float32') problems.add(`weights.${key}`, `has dtype ${tensor.dtype}, expected float32`);
      else params.set(canonical, tensor);
    }
    for (const key of expected.keys()) if (!seen.has(key) && !substitutedKeys.has(key)) problems.add(`weights.${key}`, 'is missing');
    problems.throwIfAny('INVALID_ARGUMENT');
    return new Model(config, architecture, instance, names, params, substitutes);
  }

  get modelType(): string {
    return this.architecture.modelType;
  }

  get inputKind(): InputKind {
    return this.architecture.inputKind;
  }

  get numLayers(): number {
    return this.instance.numLayers;
  }

  get hiddenSize(): number {
    return this.instance.hiddenSize;
  }

  /** Parameters by canonical key (substituted modules' weights are not among them). Shared with the model: do not dispose them. */
  get weights(): ReadonlyMap<string, tf.Tensor> {
    return this.params;
  }

  /** Every linear projection (the modules patches attach to), by canonical module name. */
  get linears(): ReadonlyMap<string, LinearSpec> {
    return this.instance.layout.linears;
  }

  /** The substitutes given at creation, by canonical module name. */
  get substitutes(): ReadonlyMap<string, LinearSubstitute> {
    return this.substituteMap;
  }

  /** Expected shape of each parameter, by canonical key (substituted weights included, as the dense checkpoint would hold them). */
  get parameterShapes(): ReadonlyMap<string, readonly number[]> {
    return this.instance.layout.params;
  }

  /**
   * The canonical module name for a module path in any known spelling, or with the base-model
   * prefix left off (`h.0.attn.c_attn` for GPT-2), or undefined if the model has no such module.
   * Adapter loaders strip PEFT's `base_model.model.` and call this.
   */
  resolveModule(name: string): string | undefined {
    for (const candidate of [name, this.architecture.basePrefix + name]) {
      const canonical = this.names.canonical(candidate);
      if (this.linears.has(canonical) || this.params.has(`${canonical}.weight`) || this.params.has(canonical)) return canonical;
    }
    return undefined;
  }

  /** The canonical key of a parameter given in any known spelling. */
  canonicalKey(key: string): string {
    return this.names.canonical(key);
  }

  /** Every spelling a canonical module or key may appear under (canonical first). */
  spellingsOf(canonicalName: string): string[] {
    return this.names.spellings(canonicalName);
  }

  /**
   * Runs the model. Synchronous and tidy: only the returned tensors survive, and the caller
   * disposes them. Patches attach by canonical module name (an unknown name is INVALID_ARGUMENT
   * when the set is a Map, so a misspelled target cannot silently do nothing).
   */
  forward(inputs: ModelInputs, options: ForwardOptions = {}): ForwardOutput {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'model has been disposed');
    const { patches } = options;
    if (patches instanceof Map) {
      const unknown = [...patches.keys()].filter((m) => !this.linears.has(m));
      if (unknown.length > 0) {
        throw new PatchworkError('INVALID_ARGUMENT', `patches target modules this ${this.modelType} model does not have: ${unknown.join(', ')}`);
      }
    }
    const ctx = new ForwardContext(this.params, this.linears, patches, this.substituteMap);
    return this.instance.forward(ctx, inputs, options.outputHiddenStates ?? false);
  }

  /** Frees every weight. Idempotent; the model cannot run afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}

/** `Model.create` as a function. */
export function createModel(config: RawConfig, weights: ReadonlyMap<string, tf.Tensor>, options?: CreateModelOptions): Model {
  return Model.create(config, weights, options);
}
