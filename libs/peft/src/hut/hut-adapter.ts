import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearCall, Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type HutConfig, type HutConfigInput, hutConfigJson, parseHutConfig } from '../config/hut-config';
import type { AdapterModule, KeySpelling } from '../core/adapter-module';
import { SeedStream, kaimingUniform, variableOf } from '../core/init';
import { ParamOverrides } from '../core/param-overrides';
import { type MergedLinear, PeftAdapter, type SaveAdapterOptions } from '../core/peft-adapter';
import { rankAlphaFor } from '../core/rank-alpha';
import { asOutIn, rows, toStored } from '../core/weight-layout';
import type { AdapterTensors } from '../io/adapter-keys';
import type { CreateAdapterOptions } from '../lora/lora-adapter';
import { ModuleCatalog } from '../targeting/module-catalog';
import { LORA_DEFAULT_TARGETS, resolveTargets } from '../targeting/resolve-targets';
import { resolveSavedParams } from '../targeting/saved-params';

/**
 * One HUT-adapted projection: W = W0 ⊙ (1 + scaling · U V) with U `[out, r]`, V `[r, in]`
 * (in the `[out, in]` view of the weight), scaling = hut_alpha / r.
 */
export interface HutLayer extends AdapterModule {
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  /** `hut_U`, `[out, r]` */
  readonly hutU: tf.Variable;
  /** `hut_V`, `[r, in]` */
  readonly hutV: tf.Variable;
}

/** HUT tensor names in adapter files (plain parameters, like AdaLoRA's). */
export const HUT_TENSOR = /^(.+)\.(hut_U|hut_V)$/;

/** Below this |1 + s·UV| an element cannot be unmerged reliably (the base weight would be divided by ~0). */
const UNMERGE_MIN_FACTOR = 1e-6;

/**
 * HUT ("Hadamard Updated Transformation"): the weight is transformed multiplicatively,
 * W' = W0 ⊙ M(U, V) with M = 1 + (hut_alpha / r) U V, rather than shifted by a low-rank ΔW. Identity
 * at init (V = 0); mergeable, so inference costs nothing extra. See README.md for why this form.
 */
export class HutAdapter extends PeftAdapter<HutLayer> {
  readonly peftType = 'HUT';

  private constructor(
    model: Model,
    layers: Map<string, HutLayer>,
    overrides: ParamOverrides,
    spelling: KeySpelling,
    seed: number,
    readonly config: HutConfig,
    private readonly extras: Record<string, unknown>,
  ) {
    super(model, layers, overrides, spelling, seed);
  }

  /** A fresh HUT adapter: U kaiming-uniform (fan-in r), V = 0 (`init_hut_weights: false`: V kaiming-uniform too). */
  static create(model: Model, input: HutConfigInput = {}, options: CreateAdapterOptions = {}): HutAdapter {
    const { config, extras } = parseHutConfig(input, 'config', 'create');
    const catalog = new ModuleCatalog(model);
    const resolved = resolveTargets(catalog, config, LORA_DEFAULT_TARGETS);
    const savedKeys = resolveSavedParams(catalog, config, resolved.modules);
    const seeds = new SeedStream(options.seed ?? 0);
    const layers = new Map<string, HutLayer>();
    for (const spec of resolved.modules) {
      const { r, alpha } = rankAlphaFor(catalog.namesOf(spec.module), config.r, config.hut_alpha, config.rank_pattern, config.alpha_pattern, 'config');
      const u = kaimingUniform([spec.outFeatures, r], r, seeds.next());
      const v = config.init_hut_weights ? tf.zeros([r, spec.inFeatures]) : kaimingUniform([r, spec.inFeatures], spec.inFeatures, seeds.next());
      layers.set(spec.module, { module: spec.module, spec, r, alpha, scaling: alpha / r, hutU: variableOf(u), hutV: variableOf(v) });
      tf.dispose([u, v]);
    }
    const effective: HutConfig = { ...config, target_modules: resolved.targetModules, fan_in_fan_out: resolved.modules.some((s) => s.layout === 'in_out') };
    return new HutAdapter(model, layers, ParamOverrides.fromBase(model, savedKeys), 'canonical', options.seed ?? 0, effective, extras);
  }

  /** A HUT adapter from its config and the file's sorted tensors. */
  static fromTensors(model: Model, rawConfig: unknown, tensors: AdapterTensors, where: string, seed = 0): HutAdapter {
    const { config, extras } = parseHutConfig(rawConfig, where, 'load');
    const catalog = new ModuleCatalog(model);
    const problems = new ViolationCollector();
    const layers = new Map<string, HutLayer>();
    for (const module of model.linears.keys()) {
      const group = tensors.layers.get(module);
      if (group === undefined) continue;
      const spec = model.linears.get(module)!;
      const [u, v] = [group.get('hut_U'), group.get('hut_V')];
      const field = `${where}: ${module}`;
      if (u === undefined || v === undefined) {
        problems.add(field, `needs hut_U and hut_V, found ${[...group.keys()].join(', ')}`);
        continue;
      }
      const { r, alpha } = rankAlphaFor(catalog.namesOf(module), config.r, config.hut_alpha, config.rank_pattern, config.alpha_pattern, where);
      if (u.rank !== 2 || v.rank !== 2 || u.shape[0] !== spec.outFeatures || v.shape[1] !== spec.inFeatures) {
        problems.add(field, `hut_U [${u.shape.join(', ')}] / hut_V [${v.shape.join(', ')}] do not fit the base weight (in ${spec.inFeatures}, out ${spec.outFeatures}): base/adapter shape mismatch`);
        continue;
      }
      if (u.shape[1] !== r || v.shape[0] !== r) {
        problems.add(field, `has ranks ${u.shape[1]}/${v.shape[0]} (U/V) but the config gives r = ${r}`);
        continue;
      }
      layers.set(module, { module, spec, r, alpha, scaling: alpha / r, hutU: variableOf(u), hutV: variableOf(v) });
    }
    if (layers.size === 0 && problems.size === 0) problems.add(where, 'holds no HUT tensors');
    try {
      problems.throwIfAny('INVALID_ARGUMENT');
    } catch (e) {
      for (const l of layers.values()) tf.dispose([l.hutU, l.hutV]);
      throw e;
    }
    return new HutAdapter(model, layers, ParamOverrides.fromValues(tensors.params), tensors.spelling, seed, config, extras);
  }

  protected layerVariables(layer: HutLayer): tf.Variable[] {
    return [layer.hutU, layer.hutV];
  }

  /** scaling · U V, `[out, in]`. */
  private lowRank(layer: HutLayer): tf.Tensor {
    return tf.mul(tf.matMul(layer.hutU, layer.hutV), layer.scaling);
  }

  /** x (W0 ⊙ sUV)^T added to the base output: the same result as running the merged weight. */
  protected applyLayer(layer: HutLayer, call: LinearCall, out: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const delta = tf.mul(asOutIn(layer.spec, call.weight), this.lowRank(layer));
      const y = tf.matMul(rows(layer.spec, call.x), delta, false, true);
      return tf.add(out, tf.reshape(y, out.shape));
    });
  }

  protected mergeLayer(layer: HutLayer, weight: tf.Tensor, bias: tf.Tensor | undefined, direction: 1 | -1): MergedLinear {
    const factor = toStored(layer.spec, tf.add(1, this.lowRank(layer)), weight.shape);
    if (direction === -1) {
      const smallest = tf.min(tf.abs(factor)).dataSync()[0];
      if (smallest < UNMERGE_MIN_FACTOR) {
        throw new PatchworkError('FAILED_PRECONDITION', `${layer.module}: cannot unmerge HUT, an element of 1 + s·UV is ${smallest} (the base weight is not recoverable there)`);
      }
    }
    return { weight: direction === 1 ? tf.mul(weight, factor) : tf.div(weight, factor), bias: bias === undefined ? undefined : tf.clone(bias) };
  }

  protected layerTensors(layer: HutLayer): Array<[string, tf.Tensor]> {
    return [
      ['hut_U', tf.clone(layer.hutU)],
      ['hut_V', tf.clone(layer.hutV)],
    ];
  }

  protected configObject(options: SaveAdapterOptions, spell: (canonical: string) => string, targetModules: string[] | undefined): Record<string, unknown> {
    const base = options.baseModelNameOrPath === undefined ? this.config.base_model_name_or_path : options.baseModelNameOrPath;
    return hutConfigJson({ ...this.config, base_model_name_or_path: base, target_modules: targetModules ?? this.config.target_modules }, this.extras, this.model);
  }
}
