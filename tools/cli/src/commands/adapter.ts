import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { LORA_COMBINATIONS, LoraCombination, combineLoraAdapters } from '@patchwork/merge';
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

export interface AdapterCombineOptions {
  adapters: string[];
  weights: string[];
  method: string;
  density?: string;
  svdRank?: string;
  seed?: string;
  out: string;
}

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new PatchworkError('INVALID_ARGUMENT', `${flag}: must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/** `patchwork adapter combine`: PEFT's add_weighted_adapter, writing a new PEFT adapter directory. */
export async function adapterCombine(options: AdapterCombineOptions): Promise<void> {
  if (options.weights.length !== options.adapters.length) {
    throw new PatchworkError('INVALID_ARGUMENT', `--weights: ${options.weights.length} weight(s) for ${options.adapters.length} adapter(s)`);
  }
  if (!(LORA_COMBINATIONS as readonly string[]).includes(options.method)) {
    throw new PatchworkError('INVALID_ARGUMENT', `--method: unknown combination ${JSON.stringify(options.method)} (expected ${LORA_COMBINATIONS.join(', ')})`);
  }
  const result = await combineLoraAdapters(
    options.adapters.map((dir, i) => ({ dir: path.resolve(dir), weight: numberFlag(options.weights[i], `--weights[${i}]`) as number })),
    {
      method: options.method as LoraCombination,
      outDir: path.resolve(options.out),
      density: numberFlag(options.density, '--density'),
      svdRank: numberFlag(options.svdRank, '--svd-rank'),
      seed: numberFlag(options.seed, '--seed'),
    },
  );
  process.stderr.write(`combined ${options.adapters.length} adapter(s) with ${result.method}: rank ${result.rank}, ${result.modules} modules -> ${path.resolve(options.out)}\n`);
}
