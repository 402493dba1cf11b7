import { patternKeyFor } from '../targeting/patterns';

export interface RankAlpha {
  r: number;
  alpha: number;
}

/**
 * A module's rank and alpha after PEFT's `rank_pattern` / `alpha_pattern` overrides (the first
 * pattern key matching the end of any spelling of the module name wins).
 */
export function rankAlphaFor(names: readonly string[], r: number, alpha: number, rankPattern: Record<string, number>, alphaPattern: Record<string, number>, field: string): RankAlpha {
  const rKey = patternKeyFor(Object.keys(rankPattern), names, `${field}.rank_pattern`);
  const aKey = patternKeyFor(Object.keys(alphaPattern), names, `${field}.alpha_pattern`);
  return { r: rKey === undefined ? r : rankPattern[rKey], alpha: aKey === undefined ? alpha : alphaPattern[aKey] };
}
