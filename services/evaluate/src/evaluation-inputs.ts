import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EvaluableAdapter, EvaluableModel, loadTaskConfig, parseTaskYaml, TaskConfig } from '@patchwork/evaluate';
import { loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import type { Runtime } from '@patchwork/platform';
import { loadTokenizer, Tokenizer } from '@patchwork/tokenizers';
import type { EvaluationSpec } from './evaluation-spec';

export interface EvaluationInputs {
  model: EvaluableModel;
  adapter?: EvaluableAdapter;
  tokenizer?: Tokenizer;
  task: TaskConfig;
  modelName: string;
  dispose(): void;
}

export function loadTask(task: string): Promise<TaskConfig> {
  return task.includes('\n') ? Promise.resolve(parseTaskYaml(task, 'task')) : loadTaskConfig(task);
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Resolves and loads what an evaluation runs on: the model, its adapter, tokenizer and task. */
export async function loadEvaluationInputs(runtime: Runtime, spec: EvaluationSpec): Promise<EvaluationInputs> {
  const task = await loadTask(spec.task);
  const modelDir = await runtime.resolveModel(spec.modelRef, 'model');
  const model = await loadModel(modelDir);
  try {
    const adapter = spec.adapterDigest ? await loadAdapter(await runtime.artifacts.materialize(spec.adapterDigest), model) : undefined;
    const tokenizerFile = path.join(modelDir, 'tokenizer.json');
    const tokenizer = (await exists(tokenizerFile)) ? await loadTokenizer(tokenizerFile) : undefined;
    return {
      model,
      adapter,
      tokenizer,
      task,
      modelName: spec.adapterDigest ? `${spec.modelRef}+adapter:${spec.adapterDigest}` : spec.modelRef,
      dispose: () => {
        adapter?.dispose();
        model.dispose();
      },
    };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
