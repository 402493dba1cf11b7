import type { CurvePoint, LifecycleResult, MergeRow, TrainedAdapter } from '../../lifecycle/lifecycle-result';

/** A small deterministic generator, so fixture curves look noisy but never change between runs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A loss curve decaying from `start` to about `end`, with validation every `evalEvery` steps. */
export function fixtureCurve(options: { steps: number; start: number; end: number; finalAccuracy: number; evalEvery: number; seed: number }): CurvePoint[] {
  const rand = mulberry32(options.seed);
  const out: CurvePoint[] = [];
  for (let step = 1; step <= options.steps; step++) {
    const progress = step / options.steps;
    const loss = options.end + (options.start - options.end) * Math.exp(-4 * progress) + (rand() - 0.5) * 0.08 * options.start * (1 - progress * 0.7);
    const lr = 5e-4 * Math.min(1, step / 10) * (1 - progress * 0.9);
    const evaluated = step % options.evalEvery === 0 || step === options.steps;
    const accuracy = 0.5 + (options.finalAccuracy - 0.5) * (1 - Math.exp(-5 * progress)) + (rand() - 0.5) * 0.02;
    out.push(evaluated ? { step, loss, lr, evalAccuracy: Math.min(1, accuracy) } : { step, loss, lr });
  }
  return out;
}

function adapter(task: string, seed: number, testAccuracy: number, seconds: number): TrainedAdapter {
  const curve = fixtureCurve({ steps: 120, start: 0.72, end: 0.12 + seed * 0.01, finalAccuracy: testAccuracy + 0.01, evalEvery: 20, seed });
  return {
    jobId: `train-${task}-0001`,
    seconds,
    task,
    method: 'lora',
    digest: `sha256:${seed.toString(16).padStart(2, '0').repeat(32)}`,
    trainableParameters: 24_576,
    metrics: { eval_accuracy: curve[curve.length - 1].evalAccuracy as number, test_accuracy: testAccuracy, train_loss: curve[curve.length - 1].loss },
    curve,
  };
}

function mergeRow(method: string, digestByte: string, spam: number, party: number, fineTuned: { spam: number; 'sotu-party': number }): MergeRow {
  return {
    method,
    digest: `sha256:${digestByte.repeat(32)}`,
    accuracy: { spam, 'sotu-party': party },
    normalizedAverage: (spam / fineTuned.spam + party / fineTuned['sotu-party']) / 2,
  };
}

/**
 * A LifecycleResult shaped like a real quickstart run (bert-tiny, two text tasks, four merge
 * methods, a promoted PCB merge, two injected faults). `overrides` replaces whole top-level steps.
 */
export function lifecycleFixture(overrides: Partial<LifecycleResult> = {}): LifecycleResult {
  const spam = adapter('spam', 7, 0.946, 41.8);
  const party = adapter('sotu-party', 11, 0.872, 38.2);
  const fineTuned = { spam: 0.946, 'sotu-party': 0.872 };
  const modules = ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'intermediate.dense', 'output.dense'];
  const layers = [0, 1].flatMap((layer) =>
    modules.map((m, i) => ({ module: `bert.encoder.layer.${layer}.${m}`, rank: i >= 4 ? 48 : 32, relError: 0.08 + 0.015 * i + 0.02 * layer })),
  );
  const base: LifecycleResult = {
    startedAt: '2026-11-27T16:20:03.412Z',
    finishedAt: '2026-11-27T16:22:41.907Z',
    seconds: 158.5,
    fabric: 'embedded',
    backbone: { jobId: 'backbone-bert-tiny', seconds: 0.42, name: 'bert-tiny', digest: `sha256:${'3c'.repeat(32)}`, parameters: 4_386_816 },
    compress: {
      jobId: 'compress-0001',
      seconds: 9.6,
      digest: `sha256:${'5e'.repeat(32)}`,
      gamma: 0.6,
      paramsBefore: 4_386_816,
      paramsAfter: 3_521_280,
      flopsPerTokenBefore: 8_650_752,
      flopsPerTokenAfter: 6_919_680,
      layers,
    },
    training: [spam, party],
    merge: {
      jobId: 'merge-0001',
      seconds: 12.3,
      digest: `sha256:${'9a'.repeat(32)}`,
      method: 'pcb',
      rows: [
        mergeRow('task-arithmetic', '61', 0.902, 0.781, fineTuned),
        mergeRow('ties', '62', 0.915, 0.806, fineTuned),
        mergeRow('dare-ties', '63', 0.909, 0.797, fineTuned),
        { ...mergeRow('pcb', '9a', 0.931, 0.829, fineTuned) },
      ],
    },
    evaluation: {
      jobId: 'evaluate-0001',
      seconds: 6.1,
      task: 'spam',
      metrics: { accuracy: 0.931, macro_f1: 0.9127, negative_flip_rate: 0.018, positive_flip_rate: 0.047 },
      gate: { rule: 'accuracy >= 0.9 and negative_flip_rate <= 0.05', decision: 'promoted', reasons: ['accuracy 0.931 >= 0.9', 'negative_flip_rate 0.018 <= 0.05'] },
      compatibility: {
        oldModel: 'task-arithmetic merge',
        newModel: 'pcb merge',
        samples: 500,
        negativeFlipRate: 0.018,
        positiveFlipRate: 0.047,
        oldAccuracy: 0.902,
        newAccuracy: 0.931,
      },
    },
    retrieval: {
      jobId: 'retrieve-0001',
      seconds: 3.4,
      routedCorrectly: 94,
      inputs: 100,
      predictedCorrectly: 87,
      routes: { [spam.digest]: 52, [party.digest]: 48 },
    },
    faults: [
      { at: '2026-11-27T16:21:02.118Z', injected: 'SIGKILL train worker pid 41213', observed: 'job train-sotu-party-0001 redelivered after the ack deadline; attempt 2 finished' },
      { at: '2026-11-27T16:21:40.560Z', injected: 'restart nats-server', observed: 'clients reconnected in 1.2 s; merge-0001 resumed from its checkpoint' },
    ],
  };
  return { ...base, ...overrides };
}
