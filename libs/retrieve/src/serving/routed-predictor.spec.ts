import { PatchworkError } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { SeededRandom, assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import { BottleneckAdapter } from '../mos/bottleneck-adapter';
import { tinyVit } from '../testing/tiny-vit';
import { AdapterCache } from './adapter-cache';
import { RoutedPredictor } from './routed-predictor';
import { type ServableAdapter, adapterBytes } from './servable-adapter';

function randomBottleneck(model: Model, seed: number): BottleneckAdapter {
  const adapter = BottleneckAdapter.create(model, { bottleneck: 3, scale: 0.5, dropout: 0.1 }, seed);
  const rng = new SeededRandom(seed);
  adapter.assign(new Map([...adapter.toArrays()].map(([k, v]) => [k, rng.fillGaussian(new Float32Array(v.length))])));
  return adapter;
}

const FACTORIES: Record<string, (model: Model) => ServableAdapter> = {
  qv: (m) => LoraAdapter.create(m, { r: 2, lora_alpha: 4, target_modules: ['query', 'value'], init_lora_weights: false }, { seed: 1 }),
  mlp: (m) => LoraAdapter.create(m, { r: 3, lora_alpha: 3, target_modules: ['intermediate.dense', 'output.dense'], init_lora_weights: false }, { seed: 2 }),
  mos: (m) => randomBottleneck(m, 3),
  head: (m) => LoraAdapter.create(m, { r: 2, target_modules: ['key'], modules_to_save: ['classifier'], init_lora_weights: false }, { seed: 4 }),
};

function pixels(n: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, 1, 8, 8], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof PatchworkError ? `${e.code}: ${e.message}` : 'not a PatchworkError';
  }
  return undefined;
}

describeEachBackend('RoutedPredictor', () => {
  let model: Model;
  let reference: Map<string, ServableAdapter>;
  const inputs: tf.Tensor4D[] = [];

  beforeAll(() => {
    model = tinyVit(7);
    reference = new Map(Object.entries(FACTORIES).map(([id, make]) => [id, make(model)]));
    for (let i = 0; i < 8; i++) inputs.push(pixels(1 + (i % 3), 10 + i));
  });

  afterAll(() => {
    for (const a of reference.values()) a.dispose();
    tf.dispose(inputs);
    model.dispose();
  });

  /** One request run on its own: the adapter's own forward, or the model with the adapter's patches. */
  function alone(adapterId: string | null, input: ModelInputs): Float32Array {
    return tf.tidy(() => {
      if (adapterId === null) return model.forward(input).logits.dataSync() as Float32Array;
      const adapter = reference.get(adapterId) as ServableAdapter;
      const out = adapter instanceof LoraAdapter ? adapter.forward(input) : model.forward(input, { patches: adapter.patches() });
      return out.logits.dataSync() as Float32Array;
    });
  }

  function predictor(budgetBytes = 1e9, sizeOf: (a: ServableAdapter) => number = adapterBytes) {
    const loads: string[] = [];
    const cache = new AdapterCache<ServableAdapter>({
      budgetBytes,
      sizeOf,
      load: async (id) => {
        loads.push(id);
        const make = FACTORIES[id];
        if (make === undefined) throw new PatchworkError('NOT_FOUND', `no adapter ${id}`);
        return make(model);
      },
    });
    return { routed: new RoutedPredictor(model, cache), cache, loads };
  }

  const MIXED: Array<[string | null, number]> = [['qv', 0], [null, 1], ['mos', 2], ['mlp', 3], ['qv', 4], ['head', 5], ['mos', 6], [null, 7]];

  it('gives every request the logits it gets when run alone, with one shared base forward', async () => {
    const { routed, cache } = predictor();
    const spy = jest.spyOn(model, 'forward');
    try {
      const requests = MIXED.map(([adapterId, i]) => ({ adapterId, input: { pixelValues: inputs[i] } }));
      const results = await routed.predictBatched(requests);
      // The base model is run once for all shared adapters; the modules_to_save adapter runs its own view.
      expect(spy).toHaveBeenCalledTimes(1);
      expect(routed.lastStats).toEqual({ forwards: 2, waves: 1 });
      results.forEach((r, k) => {
        const [adapterId, i] = MIXED[k];
        expect(r.adapterId).toBe(adapterId);
        expect(r.shape).toEqual([inputs[i].shape[0], 2]);
        expect(maxAbsDiff(r.logits, alone(adapterId, { pixelValues: inputs[i] }))).toBeLessThan(1e-5);
      });
      // Adapters really change the outputs, so the equality above is not trivial.
      expect(maxAbsDiff(results[0].logits, alone(null, { pixelValues: inputs[0] }))).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(results[2].logits, alone(null, { pixelValues: inputs[2] }))).toBeGreaterThan(1e-3);
      // Warm cache: a second call allocates nothing that outlives it.
      await assertNoLeaks(() => routed.predictBatched(requests));
    } finally {
      spy.mockRestore();
      cache.clear();
    }
  });

  it('splits a batch into waves when the cache cannot hold all its adapters, with the same results', async () => {
    const { routed, cache, loads } = predictor(2, () => 1);
    const requests = MIXED.map(([adapterId, i]) => ({ adapterId, input: { pixelValues: inputs[i] } }));
    const results = await routed.predictBatched(requests);
    expect(routed.lastStats.waves).toBe(2);
    expect(new Set(loads)).toEqual(new Set(['qv', 'mos', 'mlp', 'head']));
    results.forEach((r, k) => expect(maxAbsDiff(r.logits, alone(MIXED[k][0], { pixelValues: inputs[MIXED[k][1]] }))).toBeLessThan(1e-5));
    expect(cache.stats().bytes).toBeLessThanOrEqual(2);
    cache.clear();
  });

  it('fans one input out to many adapters', async () => {
    const { routed, cache } = predictor();
    const input = { pixelValues: inputs[1] };
    const ids = ['mos', null, 'qv', 'mlp', 'qv'];
    const results = await routed.predictMany(input, ids);
    expect(results.map((r) => r.adapterId)).toEqual(ids);
    results.forEach((r, k) => expect(maxAbsDiff(r.logits, alone(ids[k], input))).toBeLessThan(1e-5));
    expect(routed.lastStats.forwards).toBe(1);
    cache.clear();
  });

  it('refuses malformed requests with the field at fault, unknown adapters with NOT_FOUND', async () => {
    const { routed, cache } = predictor();
    const wrongSize = tf.zeros([1, 1, 7, 8]);
    const wrongType = tf.zeros([1, 1, 8, 8], 'int32');
    expect(await codeOf(routed.predictBatched([]))).toMatch(/^INVALID_ARGUMENT: requests/);
    expect(await codeOf(routed.predictBatched([{ adapterId: 'qv', input: { pixelValues: inputs[0] } }, { adapterId: 'qv', input: { pixelValues: wrongSize } }]))).toMatch(
      /^INVALID_ARGUMENT: requests\[1\]\.input\.pixelValues: must be \[batch >= 1, 1, 8, 8\]/,
    );
    expect(await codeOf(routed.predictBatched([{ adapterId: null, input: { pixelValues: wrongType } }]))).toMatch(/float32/);
    expect(await codeOf(routed.predictBatched([{ adapterId: null, input: { inputIds: tf.zeros([1, 3], 'int32') } as ModelInputs }]))).toMatch(/pixelValues: is required/);
    expect(await codeOf(routed.predictBatched([{ adapterId: '', input: { pixelValues: inputs[0] } }]))).toMatch(/adapterId/);
    expect(await codeOf(routed.predictBatched([{ adapterId: 'nope', input: { pixelValues: inputs[0] } }]))).toMatch(/^NOT_FOUND/);
    expect(await codeOf(routed.predictMany({ pixelValues: inputs[0] }, []))).toMatch(/^INVALID_ARGUMENT: adapterIds/);
    const other = tinyVit(8);
    const foreign = new RoutedPredictor(other, cache);
    expect(await codeOf(foreign.predictBatched([{ adapterId: 'qv', input: { pixelValues: inputs[0] } }]))).toMatch(/^FAILED_PRECONDITION/);
    other.dispose();
    tf.dispose([wrongSize, wrongType]);
    cache.clear();
  });
});
