import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearCall, Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type AdaLoraConfig, type AdaLoraConfigInput, adaLoraConfigJson, parseAdaLoraConfig } from '../config/adalora-config';
import type { AdapterModule, KeySpelling } from '../core/adapter-module';
import { SeedStream, variableOf } from '../core/init';
import { ParamOverrides } from '../core/param-overrides';
import { type MergedLinear, PeftAdapter, type SaveAdapterOptions } from '../core/peft-adapter';
import { rows, toStored } from '../core/weight-layout';
import type { AdapterTensors } from '../io/adapter-keys';
import type { CreateAdapterOptions } from '../lora/lora-adapter';
import { ModuleCatalog } from '../targeting/module-catalog';
import { ADALORA_DEFAULT_TARGETS, resolveTargets } from '../targeting/resolve-targets';
import { resolveSavedParams } from '../targeting/saved-params';

/**
 * One AdaLoRA-adapted projection, ΔW = P diag(λ) Q * scaling / (ranknum + 1e-5), stored as PEFT
 * stores it: lora_B = P `[out, r]`, lora_E = λ `[r, 1]`, lora_A = Q `[r, in]`.
 */
export interface AdaLoraLayer extends AdapterModule {
  /** PEFT's `ranknum`: init_r, never changed by pruning, so the output scale stays put. */
  readonly rankNum: number;
  /** lora_alpha, or the layer's rank when lora_alpha <= 0. */
  readonly scaling: number;
  readonly loraA: tf.Variable;
  readonly loraE: tf.Variable;
  readonly loraB: tf.Variable;
  /** Which of the init_r triplets have rows here (all, unless loaded already pruned). */
  readonly present: readonly boolean[];
  /** The init_r-long kept mask to save as rank_pattern; null until a mask is set. */
  pattern: boolean[] | null;
}

/** AdaLoRA tensor names in PEFT files (plain parameters, no `.weight`). */
export const ADALORA_TENSOR = /^(.+)\.(lora_A|lora_B|lora_E)$/;

/** The module a rank_pattern key names: `<module>.lora_E`, optionally followed by the adapter name. */
function patternModule(key: string): string | undefined {
  const m = /^(.+)\.lora_E(\.[^.]+)?$/.exec(key);
  return m === null ? undefined : m[1];
}

function effectiveScale(layer: AdaLoraLayer): number {
  return layer.scaling / (layer.rankNum + 1e-5);
}

/**
 * AdaLoRA as PEFT implements it (`peft.tuners.adalora.SVDLinear`), for inference and training.
 * Training pieces live beside it: `orthogonalRegularizer`, `RankAllocator` (importance, cubic
 * budget, masking), `budgetAt`.
 */
export class AdaLoraAdapter extends PeftAdapter<AdaLoraLayer> {
  readonly peftType = 'ADALORA';

  private constructor(
    model: Model,
    layers: Map<string, AdaLoraLayer>,
    overrides: ParamOverrides,
    spelling: KeySpelling,
    seed: number,
    readonly config: AdaLoraConfig,
    private readonly extras: Record<string, unknown>,
  ) {
    super(model, layers, overrides, spelling, seed);
  }

  /**
   * A fresh AdaLoRA adapter: every target at init_r with λ = 0 (a no-op) and P, Q ~ N(0, 0.02^2)
   * (`init_lora_weights: false`: all N(0, 1), as PEFT's torch.randn). `total_step` is required.
   */
  static create(model: Model, input: AdaLoraConfigInput, options: CreateAdapterOptions = {}): AdaLoraAdapter {
    const { config, extras } = parseAdaLoraConfig(input, 'config', 'create');
    if (config.rank_pattern !== null) throw new PatchworkError('INVALID_ARGUMENT', 'config.rank_pattern: is produced by training (RankAllocator); do not pass it to create');
    const catalog = new ModuleCatalog(model);
    const resolved = resolveTargets(catalog, config, ADALORA_DEFAULT_TARGETS);
    const savedKeys = resolveSavedParams(catalog, config, resolved.modules);
    const seeds = new SeedStream(options.seed ?? 0);
    const r = config.init_r;
    const std = config.init_lora_weights ? 0.02 : 1;
    const layers = new Map<string, AdaLoraLayer>();
    for (const spec of resolved.modules) {
      const [a, e, b] = tf.tidy(() => [
        tf.randomNormal([r, spec.inFeatures], 0, std, 'float32', seeds.next()),
        config.init_lora_weights ? tf.zeros([r, 1]) : tf.randomNormal([r, 1], 0, 1, 'float32', seeds.next()),
        tf.randomNormal([spec.outFeatures, r], 0, std, 'float32', seeds.next()),
      ]);
      layers.set(spec.module, {
        module: spec.module,
        spec,
        rankNum: r,
        scaling: config.lora_alpha > 0 ? config.lora_alpha : r,
        loraA: variableOf(a),
        loraE: variableOf(e),
        loraB: variableOf(b),
        present: new Array<boolean>(r).fill(true),
        pattern: null,
      });
      tf.dispose([a, e, b]);
    }
    const effective: AdaLoraConfig = { ...config, target_modules: resolved.targetModules, fan_in_fan_out: resolved.modules.some((s) => s.layout === 'in_out') };
    return new AdaLoraAdapter(model, layers, ParamOverrides.fromBase(model, savedKeys), 'canonical', options.seed ?? 0, effective, extras);
  }

  /**
   * An AdaLoRA adapter from a PEFT config and the file's sorted tensors. As PEFT saves them, the
   * tensors are already pruned to the ranks `rank_pattern` keeps; `ranknum` stays init_r.
   */
  static fromTensors(model: Model, rawConfig: unknown, tensors: AdapterTensors, where: string, seed = 0): AdaLoraAdapter {
    const { config, extras } = parseAdaLoraConfig(rawConfig, where, 'load');
    const problems = new ViolationCollector();
    const patterns = new Map<string, boolean[]>();
    for (const [key, mask] of Object.entries(config.rank_pattern ?? {})) {
      const name = patternModule(key);
      const module = name === undefined ? undefined : model.resolveModule(name);
      if (module === undefined || !model.linears.has(module)) problems.add(`${where}.rank_pattern.${key}`, 'does not name a linear module of the model as <module>.lora_E');
      else patterns.set(module, mask);
    }
    const layers = new Map<string, AdaLoraLayer>();
    for (const module of model.linears.keys()) {
      const group = tensors.layers.get(module);
      if (group === undefined) continue;
      const spec = model.linears.get(module)!;
      const field = `${where}: ${module}`;
      const [a, e, b] = [group.get('lora_A'), group.get('lora_E'), group.get('lora_B')];
      if (a === undefined || e === undefined || b === undefined) {
        problems.add(field, `needs lora_A, lora_B and lora_E, found ${[...group.keys()].join(', ')}`);
        continue;
      }
      const pattern = patterns.get(module) ?? null;
      const rank = pattern === null ? config.init_r : pattern.filter(Boolean).length;
      const shapesOk = a.rank === 2 && a.shape[1] === spec.inFeatures && b.rank === 2 && b.shape[0] === spec.outFeatures && e.rank === 2 && e.shape[1] === 1;
      if (!shapesOk) {
        problems.add(field, `lora_A [${a.shape.join(', ')}] / lora_E [${e.shape.join(', ')}] / lora_B [${b.shape.join(', ')}] do not fit the base weight (in ${spec.inFeatures}, out ${spec.outFeatures}): base/adapter shape mismatch`);
        continue;
      }
      if (a.shape[0] !== rank || e.shape[0] !== rank || b.shape[1] !== rank) {
        problems.add(field, `has ranks ${a.shape[0]}/${e.shape[0]}/${b.shape[1]} (A/E/B) but ${pattern === null ? 'init_r is' : 'its rank_pattern keeps'} ${rank}`);
        continue;
      }
      layers.set(module, {
        module,
        spec,
        rankNum: config.init_r,
        // PEFT resizes a pruned layer through update_layer(rank), which recomputes this from the kept rank.
        scaling: config.lora_alpha > 0 ? config.lora_alpha : rank,
        loraA: variableOf(a),
        loraE: variableOf(e),
        loraB: variableOf(b),
        present: pattern ?? new Array<boolean>(config.init_r).fill(true),
        pattern: pattern === null ? null : [...pattern],
      });
    }
    if (layers.size === 0 && problems.size === 0) problems.add(where, 'holds no AdaLoRA tensors');
    try {
      problems.throwIfAny('INVALID_ARGUMENT');
    } catch (e) {
      for (const l of layers.values()) tf.dispose([l.loraA, l.loraE, l.loraB]);
      throw e;
    }
    return new AdaLoraAdapter(model, layers, ParamOverrides.fromValues(tensors.params), tensors.spelling, seed, config, extras);
  }

  protected layerVariables(layer: AdaLoraLayer): tf.Variable[] {
    return [layer.loraA, layer.loraE, layer.loraB];
  }

  protected applyLayer(layer: AdaLoraLayer, call: LinearCall, out: tf.Tensor, training: boolean): tf.Tensor {
    if (layer.loraA.shape[0] === 0) return out;
    return tf.tidy(() => {
      let x = rows(layer.spec, call.x);
      if (training && this.config.lora_dropout > 0) x = tf.dropout(x, this.config.lora_dropout, undefined, this.seeds.next());
      const y = tf.matMul(tf.matMul(x, tf.mul(layer.loraA, layer.loraE), false, true), layer.loraB, false, true);
      return tf.add(out, tf.reshape(tf.mul(y, effectiveScale(layer)), out.shape));
    });
  }

  protected mergeLayer(layer: AdaLoraLayer, weight: tf.Tensor, bias: tf.Tensor | undefined, direction: 1 | -1): MergedLinear {
    const delta = tf.mul(tf.matMul(layer.loraB, tf.mul(layer.loraA, layer.loraE)), effectiveScale(layer) * direction);
    return { weight: tf.add(weight, toStored(layer.spec, delta, weight.shape)), bias: bias === undefined ? undefined : tf.clone(bias) };
  }

  /** Sets a layer's kept-triplet mask (over its current rows) and zeroes the pruned λ, as PEFT's masking does. */
  setRankMask(module: string, keep: readonly boolean[]): void {
    this.assertLive();
    const layer = this.layers.get(module);
    if (layer === undefined) throw new PatchworkError('INVALID_ARGUMENT', `module ${module} is not adapted`);
    const rowsNow = layer.loraE.shape[0];
    if (keep.length !== rowsNow) throw new PatchworkError('INVALID_ARGUMENT', `${module}: mask has ${keep.length} entries, the layer has ${rowsNow} ranks`);
    const masked = tf.tidy(() => tf.mul(layer.loraE, tf.tensor2d(keep.map((k) => (k ? 1 : 0)), [rowsNow, 1])));
    layer.loraE.assign(masked);
    masked.dispose();
    let row = 0;
    layer.pattern = layer.present.map((p) => p && keep[row++]);
  }

  /** The current rank_pattern as PEFT saves it (`<module>.lora_E` -> init_r booleans), or null before any mask. */
  rankPattern(spell: (canonical: string) => string = (c) => c): Record<string, boolean[]> | null {
    const entries = [...this.layers.values()].filter((l) => l.pattern !== null);
    if (entries.length === 0) return null;
    return Object.fromEntries(entries.map((l) => [`${spell(l.module)}.lora_E`, [...(l.pattern as boolean[])]]));
  }

  /** The rows of a layer that the pattern keeps (all when no pattern). */
  private keptRows(layer: AdaLoraLayer): number[] {
    const out: number[] = [];
    let row = 0;
    layer.present.forEach((p, i) => {
      if (!p) return;
      if (layer.pattern === null || layer.pattern[i]) out.push(row);
      row++;
    });
    return out;
  }

  /** PEFT saves only the kept triplets: rows of lora_A / lora_E, columns of lora_B. */
  protected layerTensors(layer: AdaLoraLayer): Array<[string, tf.Tensor]> {
    const kept = this.keptRows(layer);
    if (kept.length === layer.loraA.shape[0]) return [['lora_A', tf.clone(layer.loraA)], ['lora_B', tf.clone(layer.loraB)], ['lora_E', tf.clone(layer.loraE)]];
    return tf.tidy(() => {
      const idx = tf.tensor1d(kept, 'int32');
      return [
        ['lora_A', tf.gather(layer.loraA, idx, 0)],
        ['lora_B', tf.gather(layer.loraB, idx, 1)],
        ['lora_E', tf.gather(layer.loraE, idx, 0)],
      ] as Array<[string, tf.Tensor]>;
    });
  }

  protected configObject(options: SaveAdapterOptions, spell: (canonical: string) => string, targetModules: string[] | undefined): Record<string, unknown> {
    const base = options.baseModelNameOrPath === undefined ? this.config.base_model_name_or_path : options.baseModelNameOrPath;
    return adaLoraConfigJson({ ...this.config, base_model_name_or_path: base, target_modules: targetModules ?? this.config.target_modules }, this.extras, this.model, this.rankPattern(spell));
  }
}
