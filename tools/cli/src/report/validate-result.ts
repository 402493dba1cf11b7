import { ViolationCollector } from '@patchwork/errors';
import type { LifecycleResult } from '../lifecycle/lifecycle-result';

type Shape = 'string' | 'number' | 'object' | 'array' | 'numberRecord';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Numbers may be null: JSON has no NaN, so a metric that was NaN comes back from lifecycle.json as null. */
function fits(value: unknown, shape: Shape): boolean {
  switch (shape) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' || value === null;
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'numberRecord':
      return isObject(value) && Object.values(value).every((v) => typeof v === 'number' || v === null);
  }
}

const DESCRIPTIONS: Readonly<Record<Shape, string>> = {
  string: 'must be a string',
  number: 'must be a number',
  object: 'must be an object',
  array: 'must be an array',
  numberRecord: 'must be an object of numbers',
};

class Checker {
  readonly problems = new ViolationCollector();

  /** Checks `fields` of `obj` (at `path`) and returns obj when it is an object, for nesting. */
  fields(obj: unknown, path: string, fields: Readonly<Record<string, Shape>>): Record<string, unknown> | undefined {
    if (!isObject(obj)) {
      this.problems.add(path === '' ? 'result' : path, 'must be an object');
      return undefined;
    }
    for (const [name, shape] of Object.entries(fields)) {
      if (!fits(obj[name], shape)) this.problems.add(path === '' ? name : `${path}.${name}`, DESCRIPTIONS[shape]);
    }
    return obj;
  }

  each(list: unknown, path: string, check: (item: unknown, itemPath: string) => void): void {
    if (Array.isArray(list)) list.forEach((item, i) => check(item, `${path}[${i}]`));
  }
}

const STEP = { jobId: 'string', seconds: 'number' } as const;

/**
 * Checks that `value` has the shape of a LifecycleResult before anything is drawn, so a
 * truncated or hand-edited lifecycle.json is reported field by field instead of failing deep
 * inside a chart. Throws INVALID_ARGUMENT listing every problem.
 */
export function validateLifecycleResult(value: unknown): asserts value is LifecycleResult {
  const c = new Checker();
  const root = c.fields(value, '', {
    startedAt: 'string',
    finishedAt: 'string',
    seconds: 'number',
    fabric: 'string',
    backbone: 'object',
    compress: 'object',
    training: 'array',
    merge: 'object',
    evaluation: 'object',
    retrieval: 'object',
    faults: 'array',
  });
  if (root === undefined) c.problems.throwIfAny();
  const r = root as Record<string, unknown>;
  if (isObject(r.backbone)) c.fields(r.backbone, 'backbone', { ...STEP, name: 'string', digest: 'string', parameters: 'number' });
  if (isObject(r.compress)) {
    const compress = c.fields(r.compress, 'compress', {
      ...STEP,
      digest: 'string',
      gamma: 'number',
      paramsBefore: 'number',
      paramsAfter: 'number',
      flopsPerTokenBefore: 'number',
      flopsPerTokenAfter: 'number',
      layers: 'array',
    });
    c.each(compress?.layers, 'compress.layers', (l, p) => c.fields(l, p, { module: 'string', rank: 'number', relError: 'number' }));
  }
  c.each(r.training, 'training', (a, p) => {
    const adapter = c.fields(a, p, { ...STEP, task: 'string', method: 'string', digest: 'string', trainableParameters: 'number', metrics: 'numberRecord', curve: 'array' });
    c.each(adapter?.curve, `${p}.curve`, (point, pp) => {
      const pt = c.fields(point, pp, { step: 'number', loss: 'number', lr: 'number' });
      if (pt !== undefined && pt.evalAccuracy !== undefined && !fits(pt.evalAccuracy, 'number')) c.problems.add(`${pp}.evalAccuracy`, 'must be a number');
    });
  });
  if (isObject(r.merge)) {
    const merge = c.fields(r.merge, 'merge', { ...STEP, digest: 'string', method: 'string', rows: 'array' });
    c.each(merge?.rows, 'merge.rows', (row, p) => c.fields(row, p, { method: 'string', digest: 'string', accuracy: 'numberRecord', normalizedAverage: 'number' }));
  }
  if (isObject(r.evaluation)) {
    const evaluation = c.fields(r.evaluation, 'evaluation', { ...STEP, task: 'string', metrics: 'numberRecord', gate: 'object', compatibility: 'object' });
    const gate = isObject(evaluation?.gate) ? c.fields(evaluation.gate, 'evaluation.gate', { rule: 'string', decision: 'string', reasons: 'array' }) : undefined;
    if (gate !== undefined && typeof gate.decision === 'string' && gate.decision !== 'promoted' && gate.decision !== 'rejected') {
      c.problems.add('evaluation.gate.decision', `must be "promoted" or "rejected", not ${JSON.stringify(gate.decision).slice(0, 40)}`);
    }
    c.each(gate?.reasons, 'evaluation.gate.reasons', (reason, p) => {
      if (typeof reason !== 'string') c.problems.add(p, 'must be a string');
    });
    if (isObject(evaluation?.compatibility)) {
      c.fields(evaluation.compatibility, 'evaluation.compatibility', {
        oldModel: 'string',
        newModel: 'string',
        samples: 'number',
        negativeFlipRate: 'number',
        positiveFlipRate: 'number',
        oldAccuracy: 'number',
        newAccuracy: 'number',
      });
    }
  }
  if (isObject(r.retrieval)) {
    c.fields(r.retrieval, 'retrieval', { ...STEP, routedCorrectly: 'number', inputs: 'number', predictedCorrectly: 'number', routes: 'numberRecord' });
  }
  c.each(r.faults, 'faults', (f, p) => c.fields(f, p, { at: 'string', injected: 'string', observed: 'string' }));
  c.problems.throwIfAny();
}
