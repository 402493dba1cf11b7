import * as path from 'node:path';
import { applyAdapterForward, mergeAdapterIntoModel } from '@patchwork/peft';
import { initBackend } from '@patchwork/tensor';

/** `patchwork adapter forward`: like `model forward`, with a PEFT-layout adapter active. */
export async function adapterForward(options: { model: string; adapter: string; inputs: string; out: string; backend?: string }): Promise<void> {
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const result = await applyAdapterForward({
    modelDir: path.resolve(options.model),
    adapterDir: path.resolve(options.adapter),
    inputsPath: path.resolve(options.inputs),
    outPath: path.resolve(options.out),
    outputHiddenStates: true,
  });
  process.stderr.write(`${result.modelType} + ${result.peftType} (${result.adaptedModules.length} modules): logits [${result.logitsShape.join(', ')}] -> ${path.resolve(options.out)}\n`);
}

/** `patchwork adapter merge`: a full Hugging Face model with the adapter merged in. */
export async function adapterMerge(options: { model: string; adapter: string; out: string; backend?: string }): Promise<void> {
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const result = await mergeAdapterIntoModel({ modelDir: path.resolve(options.model), adapterDir: path.resolve(options.adapter), outDir: path.resolve(options.out) });
  process.stderr.write(`${result.modelType} + ${result.peftType}: merged ${result.mergedModules.length} modules -> ${path.resolve(options.out)}\n`);
}
