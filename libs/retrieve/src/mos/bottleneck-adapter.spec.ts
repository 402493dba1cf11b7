import { type LinearCall, type Model } from '@patchwork/models';
import { SeededRandom, assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import { tinyVit } from '../testing/tiny-vit';
import { BottleneckAdapter, adapterTensorNames } from './bottleneck-adapter';
import { vitFeatures } from './features';

function randomValues(adapter: BottleneckAdapter, seed: number): Map<string, Float32Array> {
  const rng = new SeededRandom(seed);
  return new Map([...adapter.toArrays()].map(([k, v]) => [k, rng.fillGaussian(new Float32Array(v.length))]));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describeEachBackend('BottleneckAdapter', () => {
  let model: Model;
  beforeAll(() => {
    model = tinyVit(3);
  });
  afterAll(() => model.dispose());

  it('starts as the identity: up is zero, so the patched model is the base model', async () => {
    const adapter = BottleneckAdapter.create(model, { bottleneck: 4, scale: 0.1, dropout: 0 }, 5);
    const pixels = tf.randomUniform([3, 1, 8, 8], 0, 1, 'float32', 1);
    await assertNoLeaks(() => {
      const base = tf.tidy(() => model.forward({ pixelValues: pixels }).logits.dataSync());
      const patched = tf.tidy(() => model.forward({ pixelValues: pixels }, { patches: adapter.patches() }).logits.dataSync());
      expect(Array.from(patched)).toEqual(Array.from(base));
    });
    const values = adapter.toArrays();
    expect(values.get(adapterTensorNames(1).up)?.every((v) => v === 0)).toBe(true);
    expect(values.get(adapterTensorNames(0).down)?.every((v) => Math.abs(v) <= 1 / Math.sqrt(16))).toBe(true);
    expect(adapter.numBytes).toBe(4 * 2 * (4 * 16 + 4 + 16 * 4 + 16));
    tf.dispose(pixels);
    adapter.dispose();
  });

  it('adds scale·up(relu(down(x))) of the MLP input to the MLP output', () => {
    const adapter = BottleneckAdapter.create(model, { bottleneck: 3, scale: 0.25, dropout: 0 }, 1);
    const values = randomValues(adapter, 2);
    adapter.assign(values);
    const n = adapterTensorNames(0);
    const x = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 3);
    const y = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 4);
    const patches = adapter.patches();
    const inner = patches.get('vit.encoder.layer.0.intermediate.dense')?.[0];
    const outer = patches.get('vit.encoder.layer.0.output.dense')?.[0];
    const got = tf.tidy(() => {
      const first = tf.zeros([2, 5, 32]);
      expect(inner?.({ x } as LinearCall, first)).toBe(first);
      return outer?.({ x: tf.zeros([2, 5, 32]) } as LinearCall, y).dataSync() as Float32Array;
    });
    const want = tf.tidy(() => {
      const down = tf.tensor2d(values.get(n.down) as Float32Array, [3, 16]);
      const up = tf.tensor2d(values.get(n.up) as Float32Array, [16, 3]);
      const h = tf.relu(tf.add(tf.matMul(x.reshape([10, 16]), down, false, true), values.get(n.downBias) as Float32Array));
      const branch = tf.add(tf.matMul(h, up, false, true), values.get(n.upBias) as Float32Array);
      return tf.add(y, tf.mul(branch, 0.25).reshape([2, 5, 16])).dataSync();
    });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    // The output patch without its input patch having run is a wiring bug, reported as such.
    expect(() => tf.tidy(() => outer?.({ x } as LinearCall, y))).toThrow(/ran before/);
    tf.dispose([x, y]);
    adapter.dispose();
  });

  it('changes the features only through the adapter, drops out only in training, and round-trips its values', () => {
    const adapter = BottleneckAdapter.create(model, { bottleneck: 4, scale: 1, dropout: 0.5 }, 1);
    adapter.assign(randomValues(adapter, 9));
    const pixels = tf.randomUniform([4, 1, 8, 8], 0, 1, 'float32', 2);
    const read = (training: boolean) => tf.tidy(() => vitFeatures(model, pixels, adapter.patches({ training })).dataSync());
    const base = tf.tidy(() => vitFeatures(model, pixels).dataSync());
    expect(maxAbsDiff(read(false), base)).toBeGreaterThan(1e-3);
    expect(Array.from(read(false))).toEqual(Array.from(read(false)));
    expect(maxAbsDiff(read(true), read(false))).toBeGreaterThan(1e-4);
    const copy = BottleneckAdapter.fromArrays(model, adapter.options, adapter.toArrays());
    expect(Array.from(tf.tidy(() => vitFeatures(model, pixels, copy.patches()).dataSync()))).toEqual(Array.from(read(false)));
    tf.dispose(pixels);
    copy.dispose();
    adapter.dispose();
  });

  it('refuses bad options, values of the wrong size and non-ViT models', () => {
    expect(() => BottleneckAdapter.create(model, { bottleneck: 0, scale: 0.1, dropout: 1 })).toThrow(/adapter\.bottleneck.*adapter\.dropout/);
    const adapter = BottleneckAdapter.create(model, { bottleneck: 2, scale: 0.1, dropout: 0 });
    const values = adapter.toArrays();
    values.set(adapterTensorNames(1).up, new Float32Array(3));
    expect(() => BottleneckAdapter.fromArrays(model, adapter.options, values)).toThrow(/layer\.1\.mos_adapter\.up\.weight: has 3 values, expected \[16, 2\]/);
    expect(() => adapter.assign(new Map())).toThrow(/is missing/);
    adapter.dispose();
    expect(() => adapter.patches()).toThrow(/disposed/);
    const notVit = { ...model, modelType: 'bert' } as unknown as Model;
    expect(() => BottleneckAdapter.create(notVit)).toThrow(/ViT/);
  });
});
