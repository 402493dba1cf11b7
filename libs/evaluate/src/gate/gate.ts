import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { CompatibilityReport } from '../compat/compare-samples';
import type { EvalResults } from '../runner/results';

export const GATE_OPS = ['>=', '>', '<=', '<', '==', '!='] as const;
export type GateOp = (typeof GATE_OPS)[number];

export interface GateCondition {
  readonly metric: string;
  readonly op: GateOp;
  readonly value: number;
}

/** A promotion rule: a condition, or all / any of nested rules. */
export type GateRule = GateCondition | { readonly all: readonly GateRule[] } | { readonly any: readonly GateRule[] };

export interface GateDecision {
  readonly promoted: boolean;
  /** One line per condition checked, saying what was compared and whether it held. */
  readonly reasons: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(raw: unknown, field: string, problems: ViolationCollector): void {
  if (!isRecord(raw)) {
    problems.add(field, 'must be {metric, op, value}, {all: [...]} or {any: [...]}');
    return;
  }
  const keys = Object.keys(raw);
  if ('all' in raw || 'any' in raw) {
    const key = 'all' in raw ? 'all' : 'any';
    if (keys.length !== 1) problems.add(field, `a {${key}} rule has no other keys, got ${keys.join(', ')}`);
    const list = raw[key];
    if (!Array.isArray(list) || list.length === 0) problems.add(`${field}.${key}`, 'must be a non-empty list of rules');
    else list.forEach((r, i) => check(r, `${field}.${key}[${i}]`, problems));
    return;
  }
  for (const k of keys) if (!['metric', 'op', 'value'].includes(k)) problems.add(`${field}.${k}`, 'unknown key (expected metric, op, value)');
  if (typeof raw.metric !== 'string' || raw.metric === '') problems.add(`${field}.metric`, 'must name a metric');
  if (!GATE_OPS.includes(raw.op as GateOp)) problems.add(`${field}.op`, `must be one of ${GATE_OPS.join(' ')}, got ${JSON.stringify(raw.op)}`);
  if (typeof raw.value !== 'number' || !Number.isFinite(raw.value)) problems.add(`${field}.value`, 'must be a finite number');
}

/** Validates a rule (from a job spec or YAML); INVALID_ARGUMENT lists every problem. */
export function parseGateRule(raw: unknown): GateRule {
  const problems = new ViolationCollector();
  check(raw, 'rule', problems);
  problems.throwIfAny();
  return raw as GateRule;
}

function holds(actual: number, op: GateOp, value: number): boolean {
  switch (op) {
    case '>=':
      return actual >= value;
    case '>':
      return actual > value;
    case '<=':
      return actual <= value;
    case '<':
      return actual < value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

function decide(rule: GateRule, metrics: Readonly<Record<string, number | null | undefined>>, reasons: string[]): boolean {
  if ('all' in rule) return rule.all.map((r) => decide(r, metrics, reasons)).every(Boolean);
  if ('any' in rule) return rule.any.map((r) => decide(r, metrics, reasons)).some(Boolean);
  const actual = metrics[rule.metric];
  if (typeof actual !== 'number' || Number.isNaN(actual)) {
    reasons.push(`${rule.metric} ${rule.op} ${rule.value}: not met, ${rule.metric} is ${actual === undefined ? 'missing' : 'not a number'}`);
    return false;
  }
  const ok = holds(actual, rule.op, rule.value);
  reasons.push(`${rule.metric} ${rule.op} ${rule.value}: ${ok ? 'met' : 'not met'} (${rule.metric} = ${actual})`);
  return ok;
}

/**
 * Applies a promotion rule to named metric values. Every condition is evaluated (no short
 * circuit) so the reasons explain the whole decision; a missing or NaN metric fails its
 * condition, since an unmeasured quality cannot justify a promotion.
 */
export function evaluateGate(rule: GateRule, metrics: Readonly<Record<string, number | null | undefined>>): GateDecision {
  const parsed = parseGateRule(rule);
  if (!isRecord(metrics)) throw new PatchworkError('INVALID_ARGUMENT', 'metrics: expected a mapping of metric names to numbers');
  const reasons: string[] = [];
  const promoted = decide(parsed, metrics, reasons);
  return { promoted, reasons };
}

/**
 * Flattens results and a compatibility report into the names rules use: each `<metric>,none`
 * of the results as `<metric>` and `<task>/<metric>` (plus `accuracy` for acc), and the report's
 * rates (negative_flip_rate, positive_flip_rate, inconsistency_flip_rate, ...; the score-difference
 * variants prefixed `score_`).
 */
export function gateMetrics(results?: EvalResults, compatibility?: CompatibilityReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [task, row] of Object.entries(results?.results ?? {})) {
    for (const [key, value] of Object.entries(row)) {
      const m = /^(.+),none$/.exec(key);
      if (m === null || typeof value !== 'number') continue;
      out[`${task}/${m[1]}`] = value;
      out[m[1]] = value;
      if (m[1] === 'acc') out.accuracy = value;
    }
  }
  if (compatibility !== undefined) {
    const { score_difference: sd, counts: _counts, n: _n, ...rates } = compatibility;
    for (const [k, v] of Object.entries(rates)) if (typeof v === 'number') out[k] = v;
    out.score_negative_flip_rate = sd.negative_flip_rate;
    out.score_positive_flip_rate = sd.positive_flip_rate;
    if (sd.mean_gain !== null) out.score_mean_gain = sd.mean_gain;
    if (sd.mean_regression !== null) out.score_mean_regression = sd.mean_regression;
  }
  return out;
}
