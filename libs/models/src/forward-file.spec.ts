import { PatchworkError } from '@patchwork/errors';
import { SafetensorsFile, tf } from '@patchwork/tensor';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { forwardFile } from './forward-file';
import { disposeAll, maxAbsDiff, peerModelDir, readAll } from './testing/fixtures';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(nodePath.join(tmpdir(), 'patchwork-forward-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const referenceOf = (name: string): string => nodePath.join(peerModelDir(name), 'reference.safetensors');

describe('forwardFile', () => {
  it('writes F32 logits and every hidden state that match the reference (text model)', async () => {
    const before = tf.memory().numTensors;
    const outPath = nodePath.join(tmp, 'llama-out.safetensors');
    const result = await forwardFile({ modelDir: peerModelDir('llama'), inputsPath: referenceOf('llama'), outPath, outputHiddenStates: true });
    expect(result).toEqual({ modelType: 'llama', logitsShape: [2, 10, 100], hiddenStates: 3 });
    expect(tf.memory().numTensors).toBe(before);

    const file = await SafetensorsFile.open(outPath);
    expect(file.tensors.map((t) => [t.name, t.dtype])).toEqual([
      ['logits', 'F32'],
      ['hidden_states.0', 'F32'],
      ['hidden_states.1', 'F32'],
      ['hidden_states.2', 'F32'],
    ]);
    await file.close();
    const [got, ref] = [await readAll(outPath), await readAll(referenceOf('llama'))];
    for (const [name, t] of got) expect(maxAbsDiff(t, ref.get(name) as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([...got.values(), ...ref.values()]);
  });

  it('reads pixel_values for a vision model and writes only logits unless asked', async () => {
    const outPath = nodePath.join(tmp, 'vit-out.safetensors');
    await forwardFile({ modelDir: peerModelDir('vit'), inputsPath: referenceOf('vit'), outPath });
    const [got, ref] = [await readAll(outPath), await readAll(referenceOf('vit'))];
    expect([...got.keys()]).toEqual(['logits']);
    expect(maxAbsDiff(got.get('logits') as tf.Tensor, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([...got.values(), ...ref.values()]);
  });

  it('names the input a model needs when the file lacks it', async () => {
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      await forwardFile({ modelDir: peerModelDir('gpt2'), inputsPath: referenceOf('vit'), outPath: nodePath.join(tmp, 'never.safetensors') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchworkError);
    expect((err as PatchworkError).code).toBe('INVALID_ARGUMENT');
    expect((err as PatchworkError).message).toContain('input_ids');
    expect(tf.memory().numTensors).toBe(before);
  });
});
