import { ViolationCollector } from '@patchwork/errors';

/** One stored evaluation of an adapter: an evaluation name (task, suite) and its metric values. */
export interface AdapterEvaluation {
  readonly name: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** What the registry keeps about an adapter, as far as searching it is concerned. */
export interface AdapterRecord {
  /** Content address of the adapter (sha256). */
  readonly digest: string;
  /** Digest of the exact base model the adapter applies to. */
  readonly baseModelDigest: string;
  readonly tags: readonly string[];
  readonly evaluations: readonly AdapterEvaluation[];
  /**
   * Set on a ported patch (PortLLM): the digest of the adapter it was ported from. The ported
   * record's own `baseModelDigest` is the base it was ported onto.
   */
  readonly portedFrom?: string;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Checks the records' shapes (INVALID_ARGUMENT listing every problem): a registry with a corrupt
 * entry must say which one instead of ranking around it silently.
 */
export function checkRecords(records: readonly AdapterRecord[]): void {
  const problems = new ViolationCollector();
  if (!Array.isArray(records)) {
    problems.add('records', 'must be an array');
    problems.throwIfAny();
  }
  const seen = new Map<string, number>();
  records.forEach((r, i) => {
    const at = `records[${i}]`;
    if (typeof r !== 'object' || r === null) {
      problems.add(at, 'must be an object');
      return;
    }
    if (!nonEmptyString(r.digest)) problems.add(`${at}.digest`, 'must be a non-empty string');
    else if (seen.has(r.digest)) problems.add(`${at}.digest`, `duplicates records[${seen.get(r.digest)}] (${r.digest})`);
    else seen.set(r.digest, i);
    if (!nonEmptyString(r.baseModelDigest)) problems.add(`${at}.baseModelDigest`, 'must be a non-empty string');
    if (!Array.isArray(r.tags) || !r.tags.every(nonEmptyString)) problems.add(`${at}.tags`, 'must be an array of non-empty strings');
    if (r.portedFrom !== undefined) {
      if (!nonEmptyString(r.portedFrom)) problems.add(`${at}.portedFrom`, 'must be a non-empty string when present');
      else if (r.portedFrom === r.digest) problems.add(`${at}.portedFrom`, 'names the record itself');
    }
    if (!Array.isArray(r.evaluations)) {
      problems.add(`${at}.evaluations`, 'must be an array');
      return;
    }
    r.evaluations.forEach((e, j) => {
      const ev = `${at}.evaluations[${j}]`;
      if (typeof e !== 'object' || e === null) return problems.add(ev, 'must be an object');
      if (!nonEmptyString(e.name)) problems.add(`${ev}.name`, 'must be a non-empty string');
      if (typeof e.metrics !== 'object' || e.metrics === null) return problems.add(`${ev}.metrics`, 'must be an object of numbers');
      for (const [name, value] of Object.entries(e.metrics)) {
        if (typeof value !== 'number' || !Number.isFinite(value)) problems.add(`${ev}.metrics.${name}`, `must be a finite number, got ${String(value)}`);
      }
    });
  });
  problems.throwIfAny();
}
