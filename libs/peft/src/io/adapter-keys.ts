import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import type { tf } from '@patchwork/tensor';
import { PEFT_KEY_PREFIX } from '../config/peft-format';
import type { KeySpelling } from '../core/adapter-module';

/** An adapter file's tensors sorted by what they belong to. Tensors stay owned by the caller. */
export interface AdapterTensors {
  /** Canonical module -> (method tensor name, e.g. `lora_A.weight`) -> tensor. */
  layers: Map<string, Map<string, tf.Tensor>>;
  /** Fully trained base parameters by canonical key (modules_to_save, biases). */
  params: Map<string, tf.Tensor>;
  /** The spelling the file used for module names. */
  spelling: KeySpelling;
  /** File keys not used (buffers PEFT writes but that carry no state, e.g. AdaLoRA's `ranknum`). */
  ignored: string[];
}

/** Tensor names of other PEFT variants that change the computation; an adapter holding them is refused. */
const UNSUPPORTED_TENSORS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.lora_magnitude_vector(\.weight)?$/, 'DoRA magnitude vectors'],
  [/\.lora_embedding_[AB]$/, 'LoRA on embedding layers'],
];

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Sorts the keys of an adapter file: `base_model.model.<module>.<method tensor>` (method tensors
 * recognised by `layerTensor`, module in either spelling) and full base parameters
 * (`<key>`, `<module>.base_layer.bias`, `<module>.modules_to_save.<p>`). A module the model lacks,
 * a parameter of the wrong shape or an unknown key is INVALID_ARGUMENT naming it (all listed).
 */
export function sortAdapterTensors(model: Model, tensors: ReadonlyMap<string, tf.Tensor>, layerTensor: RegExp, ignore: RegExp, file: string): AdapterTensors {
  const layers = new Map<string, Map<string, tf.Tensor>>();
  const params = new Map<string, tf.Tensor>();
  const ignored: string[] = [];
  const problems = new ViolationCollector();
  let canonicalNames = 0;
  let alternateNames = 0;
  const noteSpelling = (stored: string, canonical: string): void => {
    if (stored === canonical) canonicalNames++;
    else if (model.spellingsOf(canonical).includes(stored)) alternateNames++;
  };
  for (const [key, t] of tensors) {
    for (const [re, what] of UNSUPPORTED_TENSORS) {
      if (re.test(key)) throw new PatchworkError('UNIMPLEMENTED', `${file}: ${key} belongs to ${what}, which is not supported`);
    }
    if (!key.startsWith(PEFT_KEY_PREFIX)) {
      problems.add(`${file}.${key}`, `does not start with ${PEFT_KEY_PREFIX}`);
      continue;
    }
    const rest = key.slice(PEFT_KEY_PREFIX.length);
    if (ignore.test(rest)) {
      ignored.push(key);
      continue;
    }
    const m = layerTensor.exec(rest);
    if (m !== null) {
      const stored = m[1];
      const module = model.resolveModule(stored);
      if (module === undefined || !model.linears.has(module)) {
        problems.add(`${file}.${key}`, `adapts ${stored}, which is not a linear module of this ${model.modelType} model`);
        continue;
      }
      noteSpelling(stored, module);
      const group = layers.get(module) ?? new Map<string, tf.Tensor>();
      group.set(m[2], t);
      layers.set(module, group);
      continue;
    }
    if (/\.original_module\./.test(rest)) {
      ignored.push(key);
      continue;
    }
    const stored = rest.replace(/\.base_layer\.(?=[^.]+$)/, '.').replace(/\.modules_to_save\.(?=[^.]+$)/, '.');
    const canonical = model.canonicalKey(stored);
    const base = model.weights.get(canonical);
    if (base === undefined) {
      problems.add(`${file}.${key}`, `is neither an adapter tensor nor a parameter of this ${model.modelType} model`);
      continue;
    }
    if (!sameShape(base.shape, t.shape)) {
      problems.add(`${file}.${key}`, `has shape [${t.shape.join(', ')}], the model's ${canonical} is [${base.shape.join(', ')}]`);
      continue;
    }
    noteSpelling(stored, canonical);
    params.set(canonical, t);
  }
  problems.throwIfAny('INVALID_ARGUMENT');
  return { layers, params, spelling: alternateNames > canonicalNames ? 'alternate' : 'canonical', ignored };
}
