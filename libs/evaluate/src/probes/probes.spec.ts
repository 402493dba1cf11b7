import * as path from 'node:path';
import * as path2 from 'node:path';
import { assertNoLeaks, initBackend, tf, withTempDir } from '@patchwork/tensor';
import { loadTokenizer } from '@patchwork/tokenizers';
import { PythonRandom } from '../stats/python-random';
import { PEER_TOKENIZERS, tinyGpt2 } from '../testing/tiny-models';
import { behaviourRate } from './behaviour-rate';
import { minimizeLbfgs } from './lbfgs';
import { pooledHiddenStates, resolveLayer } from './pool';
import { probeDirection } from './probe';
import { loadProbe, saveProbe } from './probe-io';
import { fitSoftmaxRegression, linearScores } from './softmax-regression';
import { trainProbe } from './train-probe';

describe('L-BFGS', () => {
  it('solves a convex quadratic', () => {
    // f(x) = ½ xᵀAx − bᵀx with A = [[4, 1], [1, 3]], b = [1, 2]: x* = A⁻¹b = [1/11, 7/11].
    const r = minimizeLbfgs(
      (x, g) => {
        g[0] = 4 * x[0] + x[1] - 1;
        g[1] = x[0] + 3 * x[1] - 2;
        return 0.5 * (4 * x[0] * x[0] + 2 * x[0] * x[1] + 3 * x[1] * x[1]) - x[0] - 2 * x[1];
      },
      new Float64Array(2),
    );
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(1 / 11, 8);
    expect(r.x[1]).toBeCloseTo(7 / 11, 8);
  });
});

describe('softmax regression', () => {
  function data(n: number, d: number, c: number, seed: number): { x: Float64Array; y: Int32Array } {
    const rng = new PythonRandom(seed);
    const x = new Float64Array(n * d);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % c;
      for (let j = 0; j < d; j++) x[i * d + j] = 3 * rng.random() - 1.5 + (j === y[i] ? 4 : 0) + 10 * (j === 1 ? 1 : 0);
    }
    return { x, y };
  }

  it('reaches the regularised optimum (first-order conditions in raw coordinates)', () => {
    const n = 60;
    const d = 4;
    const c = 3;
    const l2 = 0.05;
    const { x, y } = data(n, d, c, 1);
    const fit = fitSoftmaxRegression(x, n, d, y, c, { l2 });
    expect(fit.converged).toBe(true);
    // σ² per feature (the penalty is on standardised weights W·σ).
    const mean = Array.from({ length: d }, (_, j) => Array.from({ length: n }, (_, i) => x[i * d + j]).reduce((a, b) => a + b) / n);
    const variance = Array.from({ length: d }, (_, j) => Array.from({ length: n }, (_, i) => (x[i * d + j] - mean[j]) ** 2).reduce((a, b) => a + b) / n);
    const scores = linearScores(fit.weight, fit.bias, x, n, d);
    const gradW = new Float64Array(c * d);
    const gradB = new Float64Array(c);
    for (let i = 0; i < n; i++) {
      const row = Array.from(scores.subarray(i * c, (i + 1) * c));
      const m = Math.max(...row);
      const z = row.reduce((a, s) => a + Math.exp(s - m), 0);
      for (let k = 0; k < c; k++) {
        const r = (Math.exp(row[k] - m) / z - (k === y[i] ? 1 : 0)) / n;
        gradB[k] += r;
        for (let j = 0; j < d; j++) gradW[k * d + j] += r * (x[i * d + j] - mean[j]);
      }
    }
    for (let k = 0; k < c; k++) {
      expect(Math.abs(gradB[k])).toBeLessThan(1e-6);
      // ∂/∂W_std of the objective, from raw weights (W_std = W·σ); the solver's tolerance bounds it.
      for (let j = 0; j < d; j++) expect(Math.abs((gradW[k * d + j] + l2 * fit.weight[k * d + j] * variance[j]) / Math.sqrt(variance[j]))).toBeLessThan(1e-6);
    }
  });

  it('gives exactly opposite rows for two classes and separates separable data', () => {
    const { x, y } = data(40, 3, 2, 2);
    const fit = fitSoftmaxRegression(x, 40, 3, y, 2, { l2: 1e-3 });
    for (let j = 0; j < 3; j++) expect(fit.weight[j] + fit.weight[3 + j]).toBeCloseTo(0, 6);
    const scores = linearScores(fit.weight, fit.bias, x, 40, 3);
    let right = 0;
    for (let i = 0; i < 40; i++) if ((scores[2 * i + 1] > scores[2 * i] ? 1 : 0) === y[i]) right++;
    expect(right / 40).toBeGreaterThan(0.9);
  });

  it('validates its inputs', () => {
    expect(() => fitSoftmaxRegression(new Float64Array(4), 2, 2, Int32Array.from([0, 2]), 2, { l2: 1 })).toThrow(/labels/);
    expect(() => fitSoftmaxRegression(new Float64Array(4), 2, 2, Int32Array.from([0, 1]), 2, { l2: 0 })).toThrow(/l2/);
  });
});

describe('behaviour probes on a tiny GPT-2', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  // Class 0 sequences draw tokens from 10..29, class 1 from 300..319.
  function corpus(n: number, seed: number): { inputs: number[][]; labels: number[] } {
    const rng = new PythonRandom(seed);
    const inputs: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = i % 2;
      const len = 3 + Math.floor(rng.random() * 6);
      inputs.push(Array.from({ length: len }, () => (label ? 300 : 10) + Math.floor(rng.random() * 20)));
      labels.push(label);
    }
    return { inputs, labels };
  }

  it('mean pooling ignores padding; last-token pooling reads the last real token', () => {
    const model = tinyGpt2(600, 32);
    const short = [5, 6, 7];
    const long = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const batched = pooledHiddenStates({ model, inputs: [short, long], layer: -1, pooling: 'mean', batchSize: 2 });
    const alone = pooledHiddenStates({ model, inputs: [short], layer: 2, pooling: 'mean' });
    expect(batched.layer).toBe(2);
    alone.features.forEach((v, j) => expect(batched.features[j]).toBeCloseTo(v, 5));
    const last = pooledHiddenStates({ model, inputs: [short, long], layer: 1, pooling: 'last', batchSize: 2 });
    const h = tf.tidy(() => model.forward({ inputIds: tf.tensor2d([short], undefined, 'int32') }, { outputHiddenStates: true }).hiddenStates![1].arraySync() as number[][][]);
    h[0][2].forEach((v, j) => expect(last.features[j]).toBeCloseTo(v, 5));
    expect(() => resolveLayer(3, 2)).toThrow(/layer/);
    model.dispose();
  });

  it('trains a probe that separates the behaviours, deterministically, and reports rates', async () => {
    const model = tinyGpt2(600, 32);
    const { inputs, labels } = corpus(80, 3);
    // Embedding-layer states: the two token sets are linearly separable there by construction
    // (deeper layers of a random model mix them).
    const options = { model, inputs, labels, classes: ['desired', 'undesired'], layer: 0, pooling: 'mean' as const, seed: 7 };
    const result = await assertNoLeaks(() => trainProbe(options));
    expect(result.n_test).toBe(8);
    expect(result.n_train).toBe(72);
    expect(result.converged).toBe(true);
    expect(result.train_accuracy).toBe(1);
    expect(result.test_accuracy).toBe(1);
    expect(result.probe).toMatchObject({ layer: 0, pooling: 'mean', hiddenSize: 16, classes: ['desired', 'undesired'] });
    // Same seed, same probe; another seed holds out other documents.
    const again = trainProbe(options);
    expect(Array.from(again.probe.weight)).toEqual(Array.from(result.probe.weight));
    expect(Array.from(trainProbe({ ...options, seed: 8 }).probe.weight)).not.toEqual(Array.from(result.probe.weight));
    const direction = probeDirection(result.probe, 'undesired');
    expect(Array.from(direction)).toEqual(Array.from(result.probe.weight.subarray(16, 32)));

    const held = corpus(20, 11);
    const bad = behaviourRate(model, held.inputs.filter((_, i) => held.labels[i] === 1), result.probe);
    const good = behaviourRate(model, held.inputs.filter((_, i) => held.labels[i] === 0), result.probe);
    expect(bad.target_class).toBe('undesired');
    expect(bad.rate).toBeGreaterThanOrEqual(0.9);
    expect(good.rate).toBeLessThanOrEqual(0.1);
    expect(bad.mean_probability).toBeGreaterThan(good.mean_probability);
    expect(behaviourRate(model, held.inputs.slice(0, 4), result.probe, { targetClass: 'desired' }).target_class).toBe('desired');
    model.dispose();
  });

  it('pools text through the tokenizer and refuses a probe of another width', async () => {
    const tok = await loadTokenizer(path.join(PEER_TOKENIZERS, 'bpe-bytelevel'));
    const model = tinyGpt2(tok.vocabSize, 32);
    const texts = ['Call me Ishmael.', 'The whale!', 'Some years ago.', 'Thar she blows!'];
    const r = trainProbe({ model, tokenizer: tok, inputs: texts, labels: [0, 1, 0, 1], layer: 1, pooling: 'last', testFraction: 0 });
    expect(r.test_accuracy).toBeNull();
    const wide = { ...r.probe, hiddenSize: 32, weight: new Float32Array(64) };
    expect(() => behaviourRate(model, texts, wide, { tokenizer: tok })).toThrow(/32-wide hidden states; this model's are 16/);
    expect(() => trainProbe({ model, inputs: texts, labels: [0, 1, 0, 1], layer: 1, pooling: 'last' })).toThrow(/tokenizer/);
    expect(() => trainProbe({ model, tokenizer: tok, inputs: texts, labels: [0, 0, 0, 0], classes: ['a', 'b'], layer: 1, pooling: 'last' })).toThrow(/class 1 \(b\) has no examples/);
    model.dispose();
  });

  it('saves and loads a probe as safetensors', async () => {
    const probe = {
      format: 'patchwork.probe/v1' as const,
      layer: 3,
      pooling: 'last' as const,
      hiddenSize: 2,
      classes: ['ok', 'toxic'],
      weight: Float32Array.from([1, -2, -1, 2]),
      bias: Float32Array.from([0.5, -0.5]),
      l2: 0.01,
    };
    await withTempDir(async (dir) => {
      const file = path2.join(dir, 'probe.safetensors');
      await saveProbe(probe, file);
      expect(await loadProbe(file)).toEqual(probe);
    });
  });
});
