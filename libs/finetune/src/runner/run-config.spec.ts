import { parseRunConfig } from './run-config';

function violations(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    const err = e as { code?: string; details?: { violations?: Array<{ field: string }> }; violations?: Array<{ field: string }> };
    expect(err.code).toBe('INVALID_ARGUMENT');
    const list = err.violations ?? err.details?.violations ?? [];
    return list.map((v) => v.field);
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('parseRunConfig', () => {
  it('reads YAML with transformers-style trainer names and fills defaults', () => {
    const c = parseRunConfig(`
method: adaloRA
base_model: bert-tiny
task: spam
parameters: { init_r: 12, target_r: 8 }
data: { max_length: 48, labels_per_class: 30 }
trainer: { steps: 200, lr: 0.001, batch_size: 8, warmup: 0.1, schedule: cosine, grad_accum: 2, clip: 0.5, eval_every: 50, early_stopping: 3, checkpoint_every: 25, seed: 7 }
`);
    expect(c.method).toBe('adalora');
    expect(c.parameters).toEqual({ init_r: 12, target_r: 8 });
    expect(c.data).toMatchObject({ maxLength: 48, labelsPerClass: 30 });
    expect(c.trainer).toMatchObject({ steps: 200, lr: 0.001, batchSize: 8, warmup: { ratio: 0.1 }, schedule: 'cosine', gradAccum: 2, clip: 0.5, evalEvery: 50, checkpointEvery: 25, seed: 7 });
    expect(c.trainer.earlyStopping).toEqual({ patience: 3, metric: 'eval_loss', mode: 'min', threshold: 0 });
  });

  it('defaults a bare config', () => {
    const c = parseRunConfig({ method: 'lora', task: 'spam' });
    expect(c.trainer).toMatchObject({ steps: 100, lr: 5e-5, batchSize: 16, warmup: { steps: 0 }, schedule: 'linear', gradAccum: 1, clip: 1, seed: 42, evalEvery: 100, checkpointEvery: 100 });
    expect(c.trainer.earlyStopping).toBeUndefined();
  });

  it('reports every bad field at once', () => {
    const fields = violations(() =>
      parseRunConfig({ method: 'dora', task: '', trainer: { steps: 0, lr: -1, warmup: 2.5, schedule: 'step', early_stopping: { patience: 0, metric: 'bleu' }, colour: 1 }, data: { max_length: 2 } }),
    );
    expect(fields).toEqual(
      expect.arrayContaining(['method', 'task', 'trainer.steps', 'trainer.lr', 'trainer.warmup', 'trainer.schedule', 'trainer.early_stopping.patience', 'trainer.early_stopping.metric', 'trainer.colour', 'data.max_length']),
    );
  });

  it('requires a prompt for LiST and for a prompt head', () => {
    expect(violations(() => parseRunConfig({ method: 'list', task: 'spam' }))).toContain('prompt');
    expect(violations(() => parseRunConfig({ method: 'lora', task: 'spam', head: 'prompt' }))).toContain('prompt');
    expect(violations(() => parseRunConfig('method: [unclosed'))).toContain('config');
  });
});
