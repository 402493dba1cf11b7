import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearSpec } from '@patchwork/models';
import type { TargetingConfig } from '../config/common';
import type { ModuleCatalog } from './module-catalog';
import { fullMatch, matchesName } from './patterns';

/** PEFT's `all-linear` shorthand. */
export const ALL_LINEAR = 'all-linear';

/** PEFT's per-architecture defaults when `target_modules` is null. */
export type DefaultTargets = Readonly<Record<string, readonly string[]>>;

export const LORA_DEFAULT_TARGETS: DefaultTargets = {
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'value'],
  llama: ['q_proj', 'v_proj'],
};

export const ADALORA_DEFAULT_TARGETS: DefaultTargets = {
  gpt2: ['c_attn'],
  bert: ['query', 'value'],
  roberta: ['query', 'key', 'value', 'dense'],
  llama: ['q_proj', 'v_proj'],
};

export interface ResolvedTargets {
  /** The adapted linears, in the model's layer order. */
  modules: LinearSpec[];
  /**
   * `target_modules` as PEFT stores it after resolution: the default list filled in, and
   * `all-linear` replaced by the full names of the modules it chose.
   */
  targetModules: string[] | string;
}

function matchesAny(names: readonly string[], targets: readonly string[] | string, field: string): boolean {
  return typeof targets === 'string' ? names.some((n) => fullMatch(targets, n, field)) : targets.some((t) => matchesName(names, t));
}

/** Whether `names` lie inside a `modules_to_save` module; PEFT never adapts those. */
export function insideModulesToSave(names: readonly string[], modulesToSave: readonly string[] | null): boolean {
  if (modulesToSave === null) return false;
  return modulesToSave.some((m) => names.some((n) => n === m || n.startsWith(`${m}.`) || n.includes(`.${m}.`) || n.endsWith(`.${m}`)));
}

function layerAllowed(catalog: ModuleCatalog, spec: LinearSpec, config: TargetingConfig): boolean {
  const wanted = config.layers_to_transform;
  if (wanted === null || (Array.isArray(wanted) && wanted.length === 0)) return true;
  const pattern = config.layers_pattern === null ? null : typeof config.layers_pattern === 'string' ? [config.layers_pattern] : config.layers_pattern;
  const index = catalog.layerIndex(spec.module, pattern);
  if (index === undefined) return false;
  return typeof wanted === 'number' ? index === wanted : wanted.includes(index);
}

/**
 * The linears an adapter attaches to, by PEFT's rules: a list entry matches a module named
 * exactly so or ending in `.entry`; a string is a regex the whole name must match; `all-linear`
 * is every Linear/Conv1D except the output head; `exclude_modules`, `modules_to_save` and
 * `layers_to_transform` filter. Every spelling of a name counts (ViT's two).
 * Stricter than PEFT on purpose: each list entry (and a regex) must match at least one linear,
 * so a misspelled target fails with INVALID_ARGUMENT instead of silently adapting less.
 */
export function resolveTargets(catalog: ModuleCatalog, config: TargetingConfig, defaults: DefaultTargets, field = 'config'): ResolvedTargets {
  const modelType = catalog.model.modelType;
  let targets = config.target_modules;
  if (targets === null) {
    const fallback = defaults[modelType];
    if (fallback === undefined) {
      throw new PatchworkError('INVALID_ARGUMENT', `${field}.target_modules: is required for model type ${modelType} (PEFT has no default for it)`, {
        violations: [{ field: `${field}.target_modules`, description: `is required for model type ${modelType}` }],
      });
    }
    targets = [...fallback];
  }
  if (typeof targets === 'string' && targets.toLowerCase() === ALL_LINEAR) {
    const head = catalog.outputHead.module;
    targets = catalog.linears.filter((s) => s.kind !== 'conv2d-patch' && s.module !== head).map((s) => s.module);
  }
  const problems = new ViolationCollector();
  const targetField = `${field}.target_modules`;
  const used = new Set<string>();
  const modules: LinearSpec[] = [];
  for (const spec of catalog.linears) {
    const names = catalog.namesOf(spec.module);
    if (typeof targets === 'string') {
      if (!names.some((n) => fullMatch(targets as string, n, targetField))) continue;
      used.add(targets);
    } else {
      const hits = (targets as string[]).filter((t) => matchesName(names, t));
      if (hits.length === 0) continue;
      for (const t of hits) used.add(t);
    }
    if (config.exclude_modules !== null && matchesAny(names, config.exclude_modules, `${field}.exclude_modules`)) continue;
    if (insideModulesToSave(names, config.modules_to_save)) continue;
    if (!layerAllowed(catalog, spec, config)) continue;
    modules.push(spec);
  }
  const entries = typeof targets === 'string' ? [targets] : targets;
  const sample = catalog.linears.slice(0, 4).map((s) => s.module).join(', ');
  for (const t of entries) {
    if (!used.has(t)) problems.add(targetField, `${JSON.stringify(t)} matches no linear module of this ${modelType} model (e.g. ${sample}, ...)`);
  }
  problems.throwIfAny('INVALID_ARGUMENT');
  if (modules.length === 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `${targetField}: every matching module was excluded (exclude_modules, modules_to_save or layers_to_transform); nothing to adapt`, {
      violations: [{ field: targetField, description: 'leaves no module to adapt' }],
    });
  }
  return { modules, targetModules: typeof targets === 'string' ? targets : [...targets] };
}
