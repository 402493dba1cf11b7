import { PatchworkError } from '@patchwork/errors';

const cache = new Map<string, RegExp>();

/** Python regex syntax PEFT users write that JavaScript spells differently: named groups. */
function fromPython(pattern: string): string {
  return pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
}

function compile(source: string, field: string, pattern: string): RegExp {
  let re = cache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(source);
    } catch (e) {
      throw new PatchworkError('INVALID_ARGUMENT', `${field}: ${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message})`, {
        violations: [{ field, description: 'is not a valid regular expression' }],
      });
    }
    cache.set(source, re);
  }
  return re;
}

/** Python's `re.fullmatch(pattern, key)`, which PEFT uses for a string `target_modules`. */
export function fullMatch(pattern: string, key: string, field: string): boolean {
  return compile(`^(?:${fromPython(pattern)})$`, field, pattern).test(key);
}

/**
 * PEFT's `get_pattern_key`: the first key of `rank_pattern` / `alpha_pattern` (in insertion order)
 * that, as a regex, matches the end of the module name at a dot boundary (`(.*\.)?(key)$`).
 */
export function patternKeyFor(patternKeys: readonly string[], moduleNames: readonly string[], field: string): string | undefined {
  for (const key of patternKeys) {
    const re = compile(`^(?:.*\\.)?(?:${fromPython(key)})$`, `${field}.${key}`, key);
    if (moduleNames.some((name) => re.test(name))) return key;
  }
  return undefined;
}

/** PEFT's list matching for `target_modules` / `exclude_modules`: the exact name or a `.name` suffix. */
export function matchesName(names: readonly string[], target: string): boolean {
  return names.some((n) => n === target || n.endsWith(`.${target}`));
}
