import * as path from 'node:path';
import { forwardFile } from '@patchwork/models';
import { initBackend } from '@patchwork/tensor';

export interface ModelForwardOptions {
  model: string;
  inputs: string;
  out: string;
  backend?: string;
}

/** `patchwork model forward`: logits and every hidden state of a Hugging Face checkpoint. */
export async function modelForward(options: ModelForwardOptions): Promise<void> {
  const backend = await initBackend({ backend: (options.backend ?? 'auto') as never });
  const started = Date.now();
  const result = await forwardFile({
    modelDir: path.resolve(options.model),
    inputsPath: path.resolve(options.inputs),
    outPath: path.resolve(options.out),
    outputHiddenStates: true,
  });
  process.stderr.write(
    `${result.modelType}: logits [${result.logitsShape.join(', ')}], ${result.hiddenStates} hidden states, ` +
      `${Date.now() - started} ms on ${backend.name} (${backend.device}, ${backend.threads} thread(s)) -> ${path.resolve(options.out)}\n`,
  );
}
