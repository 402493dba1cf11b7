import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearCall, Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type LoraConfig, type LoraConfigInput, loraConfigJson, parseLoraConfig } from '../config/lora-config';
import type { AdapterModule, KeySpelling } from '../core/adapter-module';
import { SeedStream, kaimingUniform, linearBiasUniform, variableOf } from '../core/init';
import { ParamOverrides } from '../core/param-overrides';
import { type MergedLinear, PeftAdapter, type SaveAdapterOptions } from '../core/peft-adapter';
import { rankAlphaFor } from '../core/rank-alpha';
import { rows, toStored } from '../core/weight-layout';
import type { AdapterTensors } from '../io/adapter-keys';
import { ModuleCatalog } from '../targeting/module-catalog';
import { LORA_DEFAULT_TARGETS, resolveTargets } from '../targeting/resolve-targets';
import { resolveSavedParams } from '../targeting/saved-params';

/** One LoRA-adapted projection: y = base(x) + scaling * (dropout(x) A^T B^T + b_B). */
export interface LoraLayer extends AdapterModule {
  readonly r: number;
  readonly alpha: number;
  /** alpha / r, or alpha / sqrt(r) with use_rslora. */
  readonly scaling: number;
  /** `[r, in]` */
  readonly loraA: tf.Variable;
  /** `[out, r]` */
  readonly loraB: tf.Variable;
  /** `[out]`, only with `lora_bias`. */
  readonly loraBias?: tf.Variable;
}

export interface CreateAdapterOptions {
  /** Seeds initialisation and dropout masks; default 0. */
  seed?: number;
}

/** The tensor names of a LoRA layer in PEFT files (after the module name). */
export const LORA_TENSOR = /^(.+)\.(lora_A\.weight|lora_B\.weight|lora_B\.bias)$/;

function scalingOf(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

/**
 * LoRA as PEFT implements it (`peft.tuners.lora.Linear`, `Conv1D` via fan_in_fan_out, the ViT
 * patch Conv2d as a linear over patches). Create one on a model, train `trainableVariables()`,
 * save it in the PEFT layout; or load a PEFT adapter with `loadAdapter`.
 */
export class LoraAdapter extends PeftAdapter<LoraLayer> {
  readonly peftType = 'LORA';

  private constructor(
    model: Model,
    layers: Map<string, LoraLayer>,
    overrides: ParamOverrides,
    spelling: KeySpelling,
    seed: number,
    /** The effective config (target_modules resolved, fan_in_fan_out from the targeted layers). */
    readonly config: LoraConfig,
    private readonly extras: Record<string, unknown>,
  ) {
    super(model, layers, overrides, spelling, seed);
  }

  /**
   * A fresh adapter on `model`. PEFT's defaults fill missing fields; A is kaiming-uniform and B
   * zero (`init_lora_weights: true`), so the adapted model starts equal to the base.
   * Bad config (rank <= 0, a target matching no linear, ...): INVALID_ARGUMENT.
   */
  static create(model: Model, input: LoraConfigInput = {}, options: CreateAdapterOptions = {}): LoraAdapter {
    const { config, extras } = parseLoraConfig(input, 'config', 'create');
    const catalog = new ModuleCatalog(model);
    const resolved = resolveTargets(catalog, config, LORA_DEFAULT_TARGETS);
    const savedKeys = resolveSavedParams(catalog, config, resolved.modules);
    const seeds = new SeedStream(options.seed ?? 0);
    const layers = new Map<string, LoraLayer>();
    try {
      for (const spec of resolved.modules) {
        const { r, alpha } = rankAlphaFor(catalog.namesOf(spec.module), config.r, config.lora_alpha, config.rank_pattern, config.alpha_pattern, 'config');
        const init = config.init_lora_weights;
        const a = init === 'gaussian' ? tf.randomNormal([r, spec.inFeatures], 0, 1 / r, 'float32', seeds.next()) : kaimingUniform([r, spec.inFeatures], spec.inFeatures, seeds.next());
        // init false keeps torch's nn.Linear defaults for B too (a random, non-zero update).
        const b = init === false ? linearBiasUniform([spec.outFeatures, r], r, seeds.next()) : tf.zeros([spec.outFeatures, r]);
        const bias = config.lora_bias ? (init === false ? linearBiasUniform([spec.outFeatures], r, seeds.next()) : tf.zeros([spec.outFeatures])) : undefined;
        layers.set(spec.module, {
          module: spec.module,
          spec,
          r,
          alpha,
          scaling: scalingOf(alpha, r, config.use_rslora),
          loraA: tf.variable(a, true),
          loraB: tf.variable(b, true),
          loraBias: bias === undefined ? undefined : tf.variable(bias, true),
        });
        for (const t of [a, b, bias]) t?.dispose();
      }
    } catch (e) {
      for (const l of layers.values()) for (const v of [l.loraA, l.loraB, l.loraBias]) v?.dispose();
      throw e;
    }
    const effective: LoraConfig = { ...config, target_modules: resolved.targetModules, fan_in_fan_out: resolved.modules.some((s) => s.layout === 'in_out') };
    return new LoraAdapter(model, layers, ParamOverrides.fromBase(model, savedKeys), 'canonical', options.seed ?? 0, effective, extras);
  }

  /**
   * A LoRA adapter from a parsed PEFT config and the file's sorted tensors (see `loadAdapter`).
   * Copies the tensors; the caller keeps ownership of `tensors`.
   */
  static fromTensors(model: Model, rawConfig: unknown, tensors: AdapterTensors, where: string, seed = 0): LoraAdapter {
    const { config, extras } = parseLoraConfig(rawConfig, where, 'load');
    const catalog = new ModuleCatalog(model);
    const problems = new ViolationCollector();
    const layers = new Map<string, LoraLayer>();
    for (const [module, group] of tensors.layers) {
      const spec = model.linears.get(module);
      if (spec === undefined) continue;
      const field = `${where}: ${module}`;
      const a = group.get('lora_A.weight');
      const b = group.get('lora_B.weight');
      const bias = group.get('lora_B.bias');
      if (a === undefined || b === undefined) {
        problems.add(field, `needs both lora_A.weight and lora_B.weight, found ${[...group.keys()].join(', ')}`);
        continue;
      }
      const { r, alpha } = rankAlphaFor(catalog.namesOf(module), config.r, config.lora_alpha, config.rank_pattern, config.alpha_pattern, where);
      const problem = checkLoraShapes(model, module, a, b, bias, r);
      if (problem !== undefined) {
        problems.add(field, problem);
        continue;
      }
      if ((bias !== undefined) !== config.lora_bias) {
        problems.add(field, bias === undefined ? 'lacks lora_B.bias although lora_bias is true' : 'has lora_B.bias although lora_bias is false');
        continue;
      }
      layers.set(module, {
        module,
        spec,
        r,
        alpha,
        scaling: scalingOf(alpha, r, config.use_rslora),
        loraA: variableOf(a, [r, spec.inFeatures]),
        loraB: variableOf(b, [spec.outFeatures, r]),
        loraBias: bias === undefined ? undefined : variableOf(bias),
      });
    }
    if (layers.size === 0 && problems.size === 0) problems.add(where, 'holds no LoRA tensors');
    try {
      problems.throwIfAny('INVALID_ARGUMENT');
    } catch (e) {
      for (const l of layers.values()) for (const v of [l.loraA, l.loraB, l.loraBias]) v?.dispose();
      throw e;
    }
    const ordered = new Map([...model.linears.keys()].filter((m) => layers.has(m)).map((m) => [m, layers.get(m) as LoraLayer]));
    return new LoraAdapter(model, ordered, ParamOverrides.fromValues(tensors.params), tensors.spelling, seed, config, extras);
  }

  protected layerVariables(layer: LoraLayer): tf.Variable[] {
    return layer.loraBias === undefined ? [layer.loraA, layer.loraB] : [layer.loraA, layer.loraB, layer.loraBias];
  }

  protected applyLayer(layer: LoraLayer, call: LinearCall, out: tf.Tensor, training: boolean): tf.Tensor {
    return tf.tidy(() => {
      let x = rows(layer.spec, call.x);
      if (training && this.config.lora_dropout > 0) x = tf.dropout(x, this.config.lora_dropout, undefined, this.seeds.next());
      let y = tf.matMul(tf.matMul(x, layer.loraA, false, true), layer.loraB, false, true);
      if (layer.loraBias !== undefined) y = tf.add(y, layer.loraBias);
      return tf.add(out, tf.reshape(tf.mul(y, layer.scaling), out.shape));
    });
  }

  /** ΔW = scaling * B A, `[out, in]`. */
  deltaWeight(module: string): tf.Tensor {
    const layer = this.layers.get(module);
    if (layer === undefined) throw new PatchworkError('INVALID_ARGUMENT', `module ${module} is not adapted`);
    return tf.tidy(() => tf.mul(tf.matMul(layer.loraB, layer.loraA), layer.scaling));
  }

  protected mergeLayer(layer: LoraLayer, weight: tf.Tensor, bias: tf.Tensor | undefined, direction: 1 | -1): MergedLinear {
    if (layer.loraBias !== undefined && bias === undefined) {
      throw new PatchworkError('FAILED_PRECONDITION', `${layer.module}: cannot merge lora_B.bias, the base layer has no bias`);
    }
    const delta = tf.mul(tf.matMul(layer.loraB, layer.loraA), layer.scaling * direction);
    const merged: MergedLinear = { weight: tf.add(weight, toStored(layer.spec, delta, weight.shape)) };
    if (bias !== undefined) merged.bias = layer.loraBias === undefined ? tf.clone(bias) : tf.add(bias, tf.mul(layer.loraBias, layer.scaling * direction));
    return merged;
  }

  protected layerTensors(layer: LoraLayer): Array<[string, tf.Tensor]> {
    const conv = layer.spec.kind === 'conv2d-patch';
    const kernel = conv ? (this.model.weights.get(layer.spec.weightKey) as tf.Tensor).shape.slice(1) : [];
    const out: Array<[string, tf.Tensor]> = [
      // PEFT's Conv2d LoRA: lora_A is a conv with the base kernel, lora_B a 1x1 conv.
      ['lora_A.weight', conv ? tf.reshape(layer.loraA, [layer.r, ...kernel]) : tf.clone(layer.loraA)],
      ['lora_B.weight', conv ? tf.reshape(layer.loraB, [layer.spec.outFeatures, layer.r, 1, 1]) : tf.clone(layer.loraB)],
    ];
    if (layer.loraBias !== undefined) out.push(['lora_B.bias', tf.clone(layer.loraBias)]);
    return out;
  }

  protected configObject(options: SaveAdapterOptions, spell: (canonical: string) => string, targetModules: string[] | undefined): Record<string, unknown> {
    const base = options.baseModelNameOrPath === undefined ? this.config.base_model_name_or_path : options.baseModelNameOrPath;
    return loraConfigJson({ ...this.config, base_model_name_or_path: base, target_modules: targetModules ?? this.config.target_modules }, this.extras, this.model);
  }
}

/** Checks lora_A `[r, in]` / lora_B `[out, r]` (or PEFT's 4-D Conv2d forms) against the module and rank. */
export function checkLoraShapes(model: Model, module: string, a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor | undefined, r: number): string | undefined {
  const spec = model.linears.get(module);
  if (spec === undefined) return 'is not a linear module';
  const conv = spec.kind === 'conv2d-patch';
  const aIn = a.shape.slice(1).reduce((p, d) => p * d, 1);
  const aOk = (conv ? a.rank === 4 || a.rank === 2 : a.rank === 2) && aIn === spec.inFeatures;
  const bOk = (b.rank === 2 || (conv && b.rank === 4 && b.shape[2] === 1 && b.shape[3] === 1)) && b.shape[0] === spec.outFeatures;
  if (!aOk || !bOk) {
    return `lora_A [${a.shape.join(', ')}] / lora_B [${b.shape.join(', ')}] do not fit the base weight (in ${spec.inFeatures}, out ${spec.outFeatures}): base/adapter shape mismatch`;
  }
  if (a.shape[0] !== b.shape[1]) return `lora_A has rank ${a.shape[0]} but lora_B has rank ${b.shape[1]}`;
  if (a.shape[0] !== r) return `has rank ${a.shape[0]} but the config gives r = ${r} for it`;
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== spec.outFeatures)) return `lora_B.bias has shape [${bias.shape.join(', ')}], expected [${spec.outFeatures}]`;
  return undefined;
}
