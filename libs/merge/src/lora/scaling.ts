import { PatchworkError } from '@patchwork/errors';

/**
 * The value a PEFT `rank_pattern` / `alpha_pattern` gives a module: the first key that equals the
 * module path or matches it as a regex anchored at a dotted suffix (`(.*\.)?(key)$`), as PEFT's
 * `get_pattern_key` does.
 */
export function patternValue(pattern: unknown, module: string, field: string): number | undefined {
  if (pattern === undefined || pattern === null) return undefined;
  if (typeof pattern !== 'object' || Array.isArray(pattern)) throw new PatchworkError('INVALID_ARGUMENT', `${field} must be an object of module pattern -> number`);
  for (const [key, value] of Object.entries(pattern as Record<string, unknown>)) {
    let matches = key === module;
    if (!matches) {
      try {
        matches = new RegExp(`^(?:.*\\.)?(?:${key})$`).test(module);
      } catch (err) {
        throw new PatchworkError('INVALID_ARGUMENT', `${field}: key ${JSON.stringify(key)} is not a valid pattern (${(err as Error).message})`);
      }
    }
    if (!matches) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new PatchworkError('INVALID_ARGUMENT', `${field}.${key} must be a number, got ${JSON.stringify(value)}`);
    return value;
  }
  return undefined;
}

/**
 * LoRA scaling of one module: lora_alpha / r, or lora_alpha / √r with `use_rslora`, with
 * rank_pattern / alpha_pattern overrides. The rank comes from the tensors; a config that says
 * otherwise is refused (PEFT would scale by the config's r).
 */
export function loraScaling(config: Record<string, unknown>, module: string, tensorRank: number, where: string): number {
  const r = patternValue(config['rank_pattern'], module, `${where}: rank_pattern`) ?? config['r'];
  const alpha = patternValue(config['alpha_pattern'], module, `${where}: alpha_pattern`) ?? config['lora_alpha'] ?? 8; // PEFT's default lora_alpha
  if (typeof r === 'number' && r !== tensorRank) {
    throw new PatchworkError('FAILED_PRECONDITION', `${where}: ${module} has rank ${tensorRank} in its tensors but ${r} in the config`);
  }
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new PatchworkError('INVALID_ARGUMENT', `${where}: lora_alpha must be a number, got ${JSON.stringify(alpha)}`);
  return config['use_rslora'] === true ? alpha / Math.sqrt(tensorRank) : alpha / tensorRank;
}
