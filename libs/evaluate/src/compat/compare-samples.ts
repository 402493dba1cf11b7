import { PatchworkError, ViolationCollector, invalidArgument } from '@patchwork/errors';

/** The fields of a per-sample log line (lm-eval layout plus `pred`) that comparisons read. */
export interface ComparableSample {
  readonly doc_id: number;
  readonly target?: unknown;
  readonly pred?: number | null;
  readonly doc_hash?: string;
  readonly [metric: string]: unknown;
}

export interface CompareOptions {
  /**
   * Per-document score for MUSCLE's score-difference variants: a metric key of the samples (a
   * number such as acc or exact_match, or a `[loglikelihood, units]` pair read as log-likelihood
   * per unit), or a function. Default: `acc` when the samples have it, else the first metric the
   * samples list.
   */
  readonly score?: string | ((sample: ComparableSample) => number);
}

/** The four outcomes of a document under the old and the new model. */
export interface FlipCounts {
  readonly both_correct: number;
  /** Old right, new wrong: negative flips. */
  readonly old_correct_new_wrong: number;
  /** Old wrong, new right: positive flips. */
  readonly old_wrong_new_correct: number;
  readonly both_wrong_same_prediction: number;
  readonly both_wrong_different_prediction: number;
}

/** MUSCLE's continuous-score variants: D_i = S(new) − S(old), any drop counts (no tolerance). */
export interface ScoreDifference {
  readonly score: string;
  readonly mean_old: number;
  readonly mean_new: number;
  /** mean 1[D_i > 0] */
  readonly positive_flip_rate: number;
  /** mean 1[D_i < 0] */
  readonly negative_flip_rate: number;
  /** m_g = Σ D_i·1[D_i > 0] / (N·PFR): the mean gain where the score rose; null when it never did. */
  readonly mean_gain: number | null;
  /** m_r = Σ |D_i|·1[D_i < 0] / (N·NFR): the mean loss where it fell; null when it never did. */
  readonly mean_regression: number | null;
}

export interface CompatibilityReport {
  readonly n: number;
  /** Present when both logs predict a class or choice (classification, multiple_choice). */
  readonly accuracy_old?: number;
  readonly accuracy_new?: number;
  readonly counts?: FlipCounts;
  /** NFR: old right and new wrong, over all documents. */
  readonly negative_flip_rate?: number;
  /** PFR: old wrong and new right. */
  readonly positive_flip_rate?: number;
  /** MUSCLE's NFR_mc: new wrong and a prediction different from the old one (NFR plus wrong → other wrong). */
  readonly inconsistency_flip_rate?: number;
  /** Both wrong with different predictions (the part NFR_mc adds to NFR). */
  readonly wrong_to_other_wrong_rate?: number;
  readonly score_difference: ScoreDifference;
}

function byDocId(samples: readonly ComparableSample[], side: string, problems: ViolationCollector): Map<number, ComparableSample> {
  const out = new Map<number, ComparableSample>();
  samples.forEach((s, i) => {
    if (!Number.isInteger(s?.doc_id)) problems.add(`${side}[${i}].doc_id`, 'must be an integer');
    else if (out.has(s.doc_id)) problems.add(`${side}[${i}].doc_id`, `doc_id ${s.doc_id} appears twice`);
    else out.set(s.doc_id, s);
  });
  return out;
}

function listSome(ids: number[]): string {
  return ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more`;
}

function scoreReader(option: CompareOptions['score'], sample: ComparableSample): { name: string; read: (s: ComparableSample) => number } {
  if (typeof option === 'function') return { name: option.name || 'custom', read: option };
  const metrics = Array.isArray(sample.metrics) ? (sample.metrics as unknown[]) : [];
  const name = option ?? ('acc' in sample ? 'acc' : typeof metrics[0] === 'string' ? (metrics[0] as string) : undefined);
  if (name === undefined) throw invalidArgument('score', 'the samples list no metric; name the per-sample score to compare');
  return {
    name,
    read: (s) => {
      const v = s[name];
      if (typeof v === 'number') return v;
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' && v[1] > 0) return v[0] / v[1];
      throw invalidArgument(`score`, `doc ${s.doc_id} has no numeric ${name} (got ${JSON.stringify(v)})`);
    },
  };
}

function scoreDifference(pairs: [ComparableSample, ComparableSample][], score: CompareOptions['score']): ScoreDifference {
  const { name, read } = scoreReader(score, pairs[0][0]);
  let sumOld = 0;
  let sumNew = 0;
  let up = 0;
  let down = 0;
  let gain = 0;
  let loss = 0;
  for (const [o, n] of pairs) {
    const so = read(o);
    const sn = read(n);
    if (!Number.isFinite(so) || !Number.isFinite(sn)) throw invalidArgument('score', `doc ${o.doc_id}: ${name} is not finite`);
    sumOld += so;
    sumNew += sn;
    const d = sn - so;
    if (d > 0) {
      up++;
      gain += d;
    } else if (d < 0) {
      down++;
      loss -= d;
    }
  }
  const n = pairs.length;
  return {
    score: name,
    mean_old: sumOld / n,
    mean_new: sumNew / n,
    positive_flip_rate: up / n,
    negative_flip_rate: down / n,
    mean_gain: up === 0 ? null : gain / up,
    mean_regression: down === 0 ? null : loss / down,
  };
}

function isLabel(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/**
 * MUSCLE compatibility of a model update from the per-sample logs of the old and the new model
 * on the same documents, matched by doc_id. Both logs must hold exactly the same doc_ids
 * (INVALID_ARGUMENT lists the differences); documents whose hashes or targets disagree are
 * FAILED_PRECONDITION, since the flips would then compare different questions.
 */
export function compareSamples(oldSamples: readonly ComparableSample[], newSamples: readonly ComparableSample[], options: CompareOptions = {}): CompatibilityReport {
  const problems = new ViolationCollector();
  if (!Array.isArray(oldSamples) || oldSamples.length === 0) problems.add('oldSamples', 'must be a non-empty list of per-sample logs');
  if (!Array.isArray(newSamples) || newSamples.length === 0) problems.add('newSamples', 'must be a non-empty list of per-sample logs');
  problems.throwIfAny();
  const olds = byDocId(oldSamples, 'oldSamples', problems);
  const news = byDocId(newSamples, 'newSamples', problems);
  problems.throwIfAny();
  const onlyOld = [...olds.keys()].filter((id) => !news.has(id)).sort((a, b) => a - b);
  const onlyNew = [...news.keys()].filter((id) => !olds.has(id)).sort((a, b) => a - b);
  if (onlyOld.length > 0) problems.add('newSamples', `lacks doc_ids ${listSome(onlyOld)} that the old log has`);
  if (onlyNew.length > 0) problems.add('oldSamples', `lacks doc_ids ${listSome(onlyNew)} that the new log has`);
  problems.throwIfAny();

  const ids = [...olds.keys()].sort((a, b) => a - b);
  const pairs = ids.map((id) => [olds.get(id), news.get(id)] as [ComparableSample, ComparableSample]);
  for (const [o, n] of pairs) {
    if (typeof o.doc_hash === 'string' && typeof n.doc_hash === 'string' && o.doc_hash !== n.doc_hash) {
      throw new PatchworkError('FAILED_PRECONDITION', `doc ${o.doc_id} differs between the logs (doc_hash ${o.doc_hash.slice(0, 12)} vs ${n.doc_hash.slice(0, 12)}); compare runs of the same task split`);
    }
    if (JSON.stringify(o.target) !== JSON.stringify(n.target)) {
      throw new PatchworkError('FAILED_PRECONDITION', `doc ${o.doc_id} has target ${JSON.stringify(o.target)} in the old log and ${JSON.stringify(n.target)} in the new one`);
    }
  }
  const n = pairs.length;
  const score_difference = scoreDifference(pairs, options.score);
  const predicts = pairs.every(([o, nw]) => isLabel(o.pred) && isLabel(nw.pred) && isLabel(o.target));
  if (!predicts) return { n, score_difference };

  let bothCorrect = 0;
  let negative = 0;
  let positive = 0;
  let wrongSame = 0;
  let wrongOther = 0;
  for (const [o, nw] of pairs) {
    const oldRight = o.pred === o.target;
    const newRight = nw.pred === o.target;
    if (oldRight && newRight) bothCorrect++;
    else if (oldRight) negative++;
    else if (newRight) positive++;
    else if (o.pred === nw.pred) wrongSame++;
    else wrongOther++;
  }
  return {
    n,
    accuracy_old: (bothCorrect + negative) / n,
    accuracy_new: (bothCorrect + positive) / n,
    counts: {
      both_correct: bothCorrect,
      old_correct_new_wrong: negative,
      old_wrong_new_correct: positive,
      both_wrong_same_prediction: wrongSame,
      both_wrong_different_prediction: wrongOther,
    },
    negative_flip_rate: negative / n,
    positive_flip_rate: positive / n,
    inconsistency_flip_rate: (negative + wrongOther) / n,
    wrong_to_other_wrong_rate: wrongOther / n,
    score_difference,
  };
}

/** MUSCLE's ΔNFR_c and Δ%NFR_c of a compatibility-trained model against the plain update. */
export function nfrReduction(plain: CompatibilityReport, compatible: CompatibilityReport): { delta: number; relative_percent: number | null } {
  if (plain.negative_flip_rate === undefined || compatible.negative_flip_rate === undefined) {
    throw invalidArgument('reports', 'both reports need negative flip rates (classification or multiple-choice samples)');
  }
  const delta = compatible.negative_flip_rate - plain.negative_flip_rate;
  return { delta, relative_percent: plain.negative_flip_rate === 0 ? null : (100 * delta) / plain.negative_flip_rate };
}
