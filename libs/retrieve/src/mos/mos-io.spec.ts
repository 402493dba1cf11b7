import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { SafetensorsFile, initBackend, withTempDir } from '@patchwork/tensor';
import { TINY_VIT, squares, tinyVit } from '../testing/tiny-vit';
import { MOS_CONFIG_FILE, MOS_WEIGHTS_FILE, loadMosLearner, saveMosLearner } from './mos-io';
import { MosLearner } from './mos-learner';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof PatchworkError ? e.code : 'not a PatchworkError';
  }
  return undefined;
}

describe('MOS adapter sets on disk [wasm]', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  it('saves and loads a learner that predicts identically and keeps learning', async () => {
    const model = tinyVit(11);
    const learner = MosLearner.create(model, { adapter: { bottleneck: 2, dropout: 0 }, training: { epochs: 2, batchSize: 16 }, alignment: { epochs: 2, samplesPerClass: 8, diagonal: true }, seed: 1 });
    const test = squares([0, 1, 2, 3], 3, 5);
    await withTempDir(async (dir) => {
      await learner.learnTask(squares([0, 1], 8, 1));
      await learner.learnTask(squares([2, 3], 8, 2));
      const files = await saveMosLearner(learner, dir, { baseModelNameOrPath: 'tiny-vit' });
      expect(files.map((f) => nodePath.basename(f))).toEqual([MOS_WEIGHTS_FILE, MOS_CONFIG_FILE]);
      const config = JSON.parse(await fs.readFile(nodePath.join(dir, MOS_CONFIG_FILE), 'utf8'));
      expect(config).toMatchObject({ peft_type: 'MOS', format_version: 1, base_model_name_or_path: 'tiny-vit', tasks: [[0, 1], [2, 3]], hidden_size: 16 });
      const file = await SafetensorsFile.open(nodePath.join(dir, MOS_WEIGHTS_FILE));
      expect(file.info('base_model.model.vit.encoder.layer.1.mos_adapters.1.down.weight').shape).toEqual([2, 16]);
      expect(file.info('mos.class_covariances')).toMatchObject({ dtype: 'F64', shape: [4, 16] });
      await file.close();

      const loaded = await loadMosLearner(dir, model);
      try {
        const [a, b] = [learner.predict(test.inputs), loaded.predict(test.inputs)];
        expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
        expect(loaded.retrieve(test.inputs)).toEqual(learner.retrieve(test.inputs));
        await loaded.learnTask(squares([4, 5], 8, 3));
        expect(loaded.classes).toEqual([0, 1, 2, 3, 4, 5]);
      } finally {
        loaded.dispose();
      }

      const other = tinyVit(1, { ...TINY_VIT, hidden_size: 8 });
      expect(await codeOf(loadMosLearner(dir, other))).toBe('FAILED_PRECONDITION');
      other.dispose();
      await fs.writeFile(nodePath.join(dir, MOS_CONFIG_FILE), JSON.stringify({ ...config, peft_type: 'LORA' }));
      expect(await codeOf(loadMosLearner(dir, model))).toBe('INVALID_ARGUMENT');
      await fs.writeFile(nodePath.join(dir, MOS_CONFIG_FILE), JSON.stringify({ ...config, tasks: [[0, 1], [2, 3], [4, 5]] }));
      expect(await codeOf(loadMosLearner(dir, model))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(loadMosLearner(nodePath.join(dir, 'missing'), model))).toBe('NOT_FOUND');
    });
    learner.dispose();
    model.dispose();
  });
});
