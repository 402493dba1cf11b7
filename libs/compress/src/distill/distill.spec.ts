import { type Model, loadModel } from '@patchwork/models';
import { SeededRandom, initBackend, tf, withTempDir } from '@patchwork/tensor';
import { causalLmLabels, causalLmLoss } from '@patchwork/training';
import { factorizeModel } from '../factorize/factorize-model';
import type { LowRankModel } from '../low-rank/low-rank-model';
import { maxAbsDiff, peerModelDir } from '../testing/fixtures';
import { tensorDataset } from './dataset';
import { type DistillOptions, distill } from './distill';
import { DISTILL_WEIGHT_DEFAULTS, distillObjective, teacherKernels } from './objective';

const scalar = (t: tf.Tensor | null): number => (t === null ? NaN : t.dataSync()[0]);

/** Random token sequences over the fixture's 100-token vocabulary; the last 3 positions of odd rows are padding. */
function tokens(n: number, length: number, seed: number): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  const rng = new SeededRandom(seed);
  const ids = Int32Array.from({ length: n * length }, () => rng.nextUint32() % 100);
  const mask = Int32Array.from({ length: n * length }, (_, i) => (Math.floor(i / length) % 2 === 1 && i % length >= length - 3 ? 0 : 1));
  return { ids: tf.tensor2d(ids, [n, length], 'int32'), mask: tf.tensor2d(mask, [n, length], 'int32') };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('distillObjective', () => {
  let teacher: Model;
  beforeAll(async () => {
    teacher = await loadModel(peerModelDir('gpt2'));
  });
  afterAll(() => teacher.dispose());

  it('at full rank: FD ≈ 0, WP ≈ eps², task = the dense LM loss, total = their weighted sum', async () => {
    const { lowRank } = await factorizeModel(teacher, { gamma: 0.5, exclude: ['lm_head'] });
    const { kernels, copies } = teacherKernels(teacher, lowRank);
    const { ids, mask } = tokens(4, 12, 1);
    const before = tf.memory().numTensors;
    const weights = { ...DISTILL_WEIGHT_DEFAULTS, alpha: 2, beta: 3, eps: 0.01 };
    const [terms, dense] = tf.tidy(() => {
      const t = distillObjective({ teacher, student: lowRank, kernels, weights }, { inputs: { inputIds: ids, attentionMask: mask } });
      const logits = teacher.forward({ inputIds: ids, attentionMask: mask }).logits;
      const parts = [t.total, t.task, t.featureDistill, t.weightPerturbation] as tf.Tensor[];
      return [parts, causalLmLoss(logits, causalLmLabels(ids, mask))] as [tf.Tensor[], tf.Tensor];
    });
    const [total, task, fd, wp] = terms.map(scalar);
    expect(fd).toBeLessThan(1e-10);
    expect(wp).toBeCloseTo(0.01 ** 2, 7);
    expect(task).toBeCloseTo(scalar(dense), 5);
    expect(total).toBeCloseTo(task + 2 * fd + 3 * wp, 5);
    tf.dispose([...terms, dense]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ids, mask, ...copies]);
    lowRank.dispose();
  });

  it('skips terms whose weight is 0, and the teacher’s forward pass with FD', async () => {
    const { lowRank } = await factorizeModel(teacher, { gamma: 2 });
    const { kernels, copies } = teacherKernels(teacher, lowRank);
    const { ids, mask } = tokens(2, 8, 2);
    const spy = jest.spyOn(teacher, 'forward');
    const t = tf.tidy(() => {
      const r = distillObjective({ teacher, student: lowRank, kernels, weights: { ...DISTILL_WEIGHT_DEFAULTS, alpha: 0, beta: 0 } }, { inputs: { inputIds: ids, attentionMask: mask } });
      expect(r.featureDistill).toBeNull();
      expect(r.weightPerturbation).toBeNull();
      return [r.total, r.task as tf.Tensor];
    });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
    expect(scalar(t[0])).toBeCloseTo(scalar(t[1]), 6);
    tf.dispose([...t, ids, mask, ...copies]);
    lowRank.dispose();
  });
});

describe('distill', () => {
  let teacher: Model;
  let student: LowRankModel;
  let dataset: ReturnType<typeof tensorDataset>;
  const options = (extra: Partial<DistillOptions> = {}): DistillOptions => ({
    dataset,
    steps: 6,
    batchSize: 4,
    optimizer: { lr: 3e-3 },
    schedule: { kind: 'constant' },
    eps: 0,
    ...extra,
  });

  beforeAll(async () => {
    teacher = await loadModel(peerModelDir('gpt2'));
    student = (await factorizeModel(teacher, { gamma: 4 })).lowRank;
    const { ids, mask } = tokens(16, 16, 3);
    dataset = tensorDataset({ inputIds: ids, attentionMask: mask });
  });
  afterAll(() => {
    dataset.dispose();
    student.dispose();
    teacher.dispose();
  });

  it('trains only the factors, pulls the student toward the teacher, and reports every term per step', async () => {
    const before = tf.memory().numTensors;
    const teacherBefore = tf.clone(teacher.weights.get('transformer.h.0.mlp.c_fc.weight') as tf.Tensor);
    const progress: number[] = [];
    const result = await distill(teacher, student, { ...options(), onProgress: (p) => progress.push(p.step), progressEvery: 2 });
    expect(progress).toEqual([2, 4, 6]);
    expect(result.history.map((h) => h.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const h of result.history) {
      expect(h.total).toBeCloseTo((h.task as number) + (h.featureDistill as number) + (h.weightPerturbation as number), 4);
    }
    const first = result.history[0];
    const last = result.history[5];
    expect(last.featureDistill as number).toBeLessThan(first.featureDistill as number);
    expect(last.weightPerturbation as number).toBeLessThan(first.weightPerturbation as number);
    // Factors moved; every other student parameter and the teacher did not.
    const trained = result.student;
    const module = 'transformer.h.0.mlp.c_fc';
    expect(maxAbsDiff(trained.factors.get(module)?.down as tf.Tensor, student.factors.get(module)?.down as tf.Tensor)).toBeGreaterThan(1e-4);
    for (const [key, t] of student.weights) expect(maxAbsDiff(trained.weights.get(key) as tf.Tensor, t)).toBe(0);
    expect(maxAbsDiff(teacher.weights.get('transformer.h.0.mlp.c_fc.weight') as tf.Tensor, teacherBefore)).toBe(0);
    expect(trained.settings.distillation).toEqual({ steps: 6, alpha: 1, beta: 1, eps: 0, taskWeight: 1 });
    teacherBefore.dispose();
    trained.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with trainable "all", updates biases and norms too', async () => {
    const result = await distill(teacher, student, options({ steps: 2, trainable: 'all' }));
    const key = 'transformer.h.0.ln_1.weight';
    expect(maxAbsDiff(result.student.weights.get(key) as tf.Tensor, student.weights.get(key) as tf.Tensor)).toBeGreaterThan(0);
    result.student.dispose();
  });

  it('resumes after cancellation to the same factors and the whole term history', async () => {
    await withTempDir(async (dir) => {
      const straight = await distill(teacher, student, options({ steps: 4 }));
      const controller = new AbortController();
      const checkpoint = { dir, every: 1 };
      await expect(distill(teacher, student, options({ steps: 4, checkpoint, signal: controller.signal, onProgress: (p) => p.step === 2 && controller.abort() }))).rejects.toMatchObject({ code: 'CANCELLED' });
      const resumed = await distill(teacher, student, options({ steps: 4, checkpoint }));
      expect(resumed.resumedFromStep).toBe(2);
      expect(resumed.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
      resumed.history.forEach((h, i) => {
        expect(h.featureDistill).toBeCloseTo(straight.history[i].featureDistill as number, 6);
        expect(h.total).toBeCloseTo(straight.history[i].total, 6);
      });
      for (const [module, f] of straight.student.factors) {
        expect(maxAbsDiff(resumed.student.factors.get(module)?.up as tf.Tensor, f.up)).toBeLessThan(1e-6);
      }
      straight.student.dispose();
      resumed.student.dispose();
    });
  });

  it('validates its options up front', async () => {
    await expect(distill(teacher, student, options({ alpha: -1, steps: 0 }))).rejects.toThrow(/distill\.alpha: must be a finite number >= 0.*distill\.steps: must be a positive integer/);
    await expect(distill(teacher, student, options({ taskWeight: 0, alpha: 0, beta: 0 }))).rejects.toThrow(/nothing to train/);
    await expect(distill(teacher, student, { ...options(), dataset: { size: 0 } as never })).rejects.toThrow(/distill\.dataset/);
  });
});
