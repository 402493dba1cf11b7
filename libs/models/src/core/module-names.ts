import type { ModuleAlias } from './types';

interface CompiledAlias {
  readonly canonical: string;
  readonly alias: string;
  readonly canonicalRe: RegExp;
  readonly aliasRe: RegExp;
}

/** `a.{n}.b` -> /^a\.(\d+)\.b(?=\.|$)/: matches the module itself or any key below it. */
function compile(template: string): RegExp {
  const escaped = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{n}', '(\\d+)');
  return new RegExp(`^${escaped}(?=\\.|$)`);
}

function fill(template: string, index: string): string {
  return template.replace('{n}', index);
}

/**
 * Translates between the spellings of module paths and parameter keys that transformers versions
 * used for the same module. Works on module paths (`vit.layers.0.attention.q_proj`) and on keys
 * below them (`vit.layers.0.attention.q_proj.weight`, `...q_proj.lora_A.weight`).
 */
export class ModuleNames {
  private readonly rules: CompiledAlias[];

  constructor(aliases: readonly ModuleAlias[]) {
    this.rules = aliases.map((a) => ({ ...a, canonicalRe: compile(a.canonical), aliasRe: compile(a.alias) }));
  }

  /** The canonical spelling of `name`; names no alias covers come back unchanged. */
  canonical(name: string): string {
    for (const rule of this.rules) {
      const m = rule.aliasRe.exec(name);
      if (m !== null) return fill(rule.canonical, m[1]) + name.slice(m[0].length);
    }
    return name;
  }

  /** Every spelling a canonical name may be stored under, the canonical one first. */
  spellings(canonicalName: string): string[] {
    const out = [canonicalName];
    for (const rule of this.rules) {
      const m = rule.canonicalRe.exec(canonicalName);
      if (m !== null) out.push(fill(rule.alias, m[1]) + canonicalName.slice(m[0].length));
    }
    return out;
  }
}
