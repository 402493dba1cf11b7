import { PatchworkError, ViolationCollector, invalidArgument } from '@patchwork/errors';
import { type ForwardOptions, type ForwardOutput, type InputKind, type LinearSpec, type Model, type ModelInputs, type RawConfig, createModel } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { kernelFromStored, storedFactorShapes, storedFromKernel } from '../factorize/matrix-view';
import { LOW_RANK_CONFIG_KEY, type LowRankConfig, type LowRankSettings, lowRankConfigToJson, parseLowRankConfig } from './low-rank-config';
import { type LowRankFactor, lowRankSubstitute } from './low-rank-substitute';

/**
 * One factored module handed to {@link LowRankModel.assemble}, in the stored (file) layout:
 * `u [shape[0], r]`, `v [r, ...shape[1:]]` where `shape` is the dense weight's checkpoint shape.
 */
export interface StoredFactorInput {
  readonly u: tf.Tensor;
  readonly v: tf.Tensor;
}

/** A factor on its way into a model: its kernel pair once the spec is known. */
interface PendingFactor {
  /** The dense weight shape the stored pair stands for (checked against the architecture); absent for kernel pairs. */
  readonly storedWeightShape?: readonly number[];
  readonly owned: readonly tf.Tensor[];
  kernel(spec: LinearSpec): { down: tf.Tensor2D; up: tf.Tensor2D };
}

/** What becomes trainable in {@link LowRankModel.withVariables}. */
export type TrainableScope = 'factors' | 'all';

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * A model whose chosen linear projections are factor pairs (PELA). Built on a plain `Model` whose
 * factored modules are linear substitutes: the model holds no dense weight for them and each such
 * projection costs (x·down)·up only, so `model.forward` and `forward` are the same low-rank pass.
 * Patches (adapters) on a factored module compose after the low-rank output.
 */
export class LowRankModel {
  private disposed = false;

  private constructor(
    readonly model: Model,
    private readonly factorMap: Map<string, LowRankFactor>,
    private currentSettings: LowRankSettings,
    private readonly factoredKeys: ReadonlySet<string>,
  ) {}

  /**
   * Builds a low-rank model from a dense config (a `patchwork_low_rank` entry in it is ignored;
   * `settings` and the factors are the truth), the parameters of every non-factored part, and the
   * factor pairs in the stored layout by module name (either spelling). Takes ownership of every
   * tensor passed, also when it throws (then they are freed). INVALID_ARGUMENT lists every problem.
   */
  static assemble(config: RawConfig, params: ReadonlyMap<string, tf.Tensor>, factors: ReadonlyMap<string, StoredFactorInput>, settings: LowRankSettings): LowRankModel {
    const bad = [...factors].filter(([, { u, v }]) => !(u instanceof tf.Tensor && v instanceof tf.Tensor && u.rank === 2 && v.rank >= 2 && u.shape[1] === v.shape[0]));
    if (bad.length > 0) {
      tf.dispose([...params.values(), ...[...factors.values()].flatMap(({ u, v }) => [u, v])]);
      throw invalidArgument(`factors.${bad[0][0]}`, 'needs tensors u [rows, r] and v [r, ...] with the same r');
    }
    const pending = new Map<string, PendingFactor>();
    for (const [name, { u, v }] of factors) {
      pending.set(name, {
        storedWeightShape: [u.shape[0], ...v.shape.slice(1)],
        owned: [u, v],
        kernel: (spec) => {
          const flat = tf.reshape(v, [v.shape[0], -1]) as tf.Tensor2D;
          try {
            return kernelFromStored(spec, u as tf.Tensor2D, flat);
          } finally {
            flat.dispose();
          }
        },
      });
    }
    return LowRankModel.build(config, params, pending, settings);
  }

  private static build(config: RawConfig, params: ReadonlyMap<string, tf.Tensor>, factors: ReadonlyMap<string, PendingFactor>, settings: LowRankSettings): LowRankModel {
    const owned = [...params.values(), ...[...factors.values()].flatMap((f) => f.owned)];
    const made: tf.Tensor[] = [];
    const factorMap = new Map<string, LowRankFactor>();
    let model: Model | undefined;
    try {
      if (factors.size === 0) throw new PatchworkError('INVALID_ARGUMENT', 'a low-rank model needs at least one factored module');
      const dense = { ...config };
      delete dense[LOW_RANK_CONFIG_KEY];
      const shapeOf = (spec: LinearSpec): readonly number[] => (model as Model).parameterShapes.get(spec.weightKey) as readonly number[];
      const substitute = lowRankSubstitute(factorMap, shapeOf);
      try {
        model = createModel(dense, params, { substitutes: new Map([...factors.keys()].map((name) => [name, substitute])) });
      } catch (e) {
        const err = PatchworkError.from(e);
        // The caller named them factors; say so.
        throw new PatchworkError(err.code, err.message.replaceAll('substitutes.', 'factors.'), { violations: err.violations.map((v) => ({ ...v, field: v.field.replace(/^substitutes\./, 'factors.') })), cause: e });
      }
      const factoredKeys = new Set<string>();
      const problems = new ViolationCollector();
      for (const [name, f] of factors) {
        const module = model.resolveModule(name) as string;
        const spec = model.linears.get(module) as LinearSpec;
        const { down, up } = f.kernel(spec);
        made.push(down, up);
        if (checkFactor(name, spec, down, up, f.storedWeightShape, model.parameterShapes.get(spec.weightKey) as readonly number[], problems)) factorMap.set(module, { spec, rank: down.shape[1], down, up });
        factoredKeys.add(spec.weightKey);
      }
      problems.throwIfAny();
      // The settings must survive config.json, so they are checked by its own parser.
      parseLowRankConfig(lowRankConfigToJson({ ...settings, modules: new Map([...factorMap].map(([m, f]) => [m, f.rank])) }), 'settings');
      // Stored-layout inputs were converted into new tensors; variables pass through unchanged.
      const kept = new Set<tf.Tensor>([...made, ...params.values()]);
      tf.dispose(owned.filter((t) => !kept.has(t)));
      return new LowRankModel(model, factorMap, settings, factoredKeys);
    } catch (e) {
      if (model !== undefined) model.dispose();
      factorMap.clear();
      tf.dispose([...owned, ...made]);
      throw PatchworkError.from(e);
    }
  }

  get modelType(): string {
    return this.model.modelType;
  }

  get inputKind(): InputKind {
    return this.model.inputKind;
  }

  get numLayers(): number {
    return this.model.numLayers;
  }

  get hiddenSize(): number {
    return this.model.hiddenSize;
  }

  get linears(): ReadonlyMap<string, LinearSpec> {
    return this.model.linears;
  }

  get settings(): LowRankSettings {
    return this.currentSettings;
  }

  /** Factor pairs by canonical module name. Shared with the model: do not dispose them. */
  get factors(): ReadonlyMap<string, LowRankFactor> {
    return this.factorMap;
  }

  /** The dense parameters by canonical key (factored modules have none). Shared: do not dispose them. */
  get weights(): ReadonlyMap<string, tf.Tensor> {
    return this.model.weights;
  }

  /** True for the dense weight key of a factored module (held as its factor pair instead). */
  isFactoredWeight(key: string): boolean {
    return this.factoredKeys.has(key);
  }

  get lowRankConfig(): LowRankConfig {
    return { ...this.currentSettings, modules: new Map([...this.factorMap].map(([m, f]) => [m, f.rank])) };
  }

  /** config.json of this model: the dense config plus the `patchwork_low_rank` entry. */
  get config(): RawConfig {
    const dense = { ...this.model.config };
    delete dense[LOW_RANK_CONFIG_KEY];
    return { ...dense, [LOW_RANK_CONFIG_KEY]: lowRankConfigToJson(this.lowRankConfig) };
  }

  /** Records how the factors were trained (kept in config.json on save). */
  recordDistillation(distillation: LowRankSettings['distillation']): void {
    this.currentSettings = { ...this.currentSettings, distillation };
  }

  /** `Model.forward` of the low-rank model; `options.patches` apply on top of the factored layers. */
  forward(inputs: ModelInputs, options: ForwardOptions = {}): ForwardOutput {
    this.assertLive();
    return this.model.forward(inputs, options);
  }

  /** Parameters actually held: the dense parameters plus every factor. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.model.weights.values()) n += t.size;
    for (const f of this.factorMap.values()) n += f.down.size + f.up.size;
    return n;
  }

  /** A module's pair in the file layout (`weight_u`, `weight_v`, see LOW_RANK_CONFIG_KEY); the caller disposes. */
  storedFactors(module: string): { u: tf.Tensor; v: tf.Tensor } {
    this.assertLive();
    const f = this.factorMap.get(module);
    if (f === undefined) throw new PatchworkError('NOT_FOUND', `${module} is not a factored module`);
    const shape = this.model.parameterShapes.get(f.spec.weightKey) as readonly number[];
    return tf.tidy(() => {
      const { u, v } = storedFromKernel(f.spec, f.down, f.up);
      return { u, v: tf.reshape(v, storedFactorShapes(shape, f.rank).v) };
    });
  }

  /**
   * A copy whose factors (and, for `all`, every real dense parameter too) are tf.Variables, for
   * training; they start sharing data with this model (no copy until the first update). The two
   * models are disposed independently.
   */
  withVariables(scope: TrainableScope): LowRankModel {
    this.assertLive();
    if (scope !== 'factors' && scope !== 'all') throw new PatchworkError('INVALID_ARGUMENT', `scope: must be "factors" or "all", got ${JSON.stringify(scope)}`);
    const params = new Map<string, tf.Tensor>();
    for (const [key, t] of this.model.weights) params.set(key, scope === 'all' ? tf.variable(t, true) : tf.clone(t));
    const factors = new Map<string, PendingFactor>();
    for (const [module, f] of this.factorMap) {
      const down = tf.variable(f.down, true) as tf.Variable<tf.Rank.R2>;
      const up = tf.variable(f.up, true) as tf.Variable<tf.Rank.R2>;
      factors.set(module, { owned: [down, up], kernel: () => ({ down, up }) });
    }
    return LowRankModel.build(this.model.config, params, factors, this.currentSettings);
  }

  /**
   * The trainable variables by name: `<module>.down` / `<module>.up` for factors, the parameter key
   * for dense parameters (only after `withVariables('all')`).
   */
  variables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [module, f] of this.factorMap) {
      if (f.down instanceof tf.Variable) out.set(`${module}.down`, f.down);
      if (f.up instanceof tf.Variable) out.set(`${module}.up`, f.up);
    }
    for (const [key, t] of this.model.weights) if (t instanceof tf.Variable) out.set(key, t);
    return out;
  }

  /** Frees every tensor (parameters and factors). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    for (const f of this.factorMap.values()) tf.dispose([f.down, f.up]);
    this.factorMap.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'low-rank model has been disposed');
  }
}

/**
 * Adds a problem for each way the pair does not fit the projection (the models library has already
 * refused unknown and tied modules); true when it fits.
 */
function checkFactor(name: string, spec: LinearSpec, down: tf.Tensor2D, up: tf.Tensor2D, storedShape: readonly number[] | undefined, weightShape: readonly number[], problems: ViolationCollector): boolean {
  const field = `factors.${name}`;
  const before = problems.size;
  if (storedShape !== undefined && !sameShape(storedShape, weightShape)) {
    problems.add(field, `stored factors stand for a [${storedShape.join(', ')}] weight, the architecture has [${weightShape.join(', ')}]`);
  }
  if (down.dtype !== 'float32' || up.dtype !== 'float32') problems.add(field, 'factors must be float32');
  const r = down.shape[1];
  if (!sameShape(down.shape, [spec.inFeatures, r]) || !sameShape(up.shape, [r, spec.outFeatures])) {
    problems.add(field, `factor kernels are [${down.shape.join(', ')}] and [${up.shape.join(', ')}], expected [${spec.inFeatures}, r] and [r, ${spec.outFeatures}]`);
  } else if (r < 1 || r > Math.min(spec.inFeatures, spec.outFeatures)) {
    problems.add(field, `rank ${r} is outside [1, ${Math.min(spec.inFeatures, spec.outFeatures)}]`);
  }
  return problems.size === before;
}
