import { gtaStreaming } from '../streaming/gta-streaming';
import { GtaDefinition, gtaParameters, mergekitGta, validateGta } from './generalized-task-arithmetic';
import { MergeMethod } from './merge-method';

/** A GTA method with mergekit semantics only. */
export function gtaMethod(name: string, def: GtaDefinition): MergeMethod {
  return {
    name,
    requiresBase: true,
    parameters: gtaParameters(def),
    validate: (modelParameters) => validateGta(def, modelParameters),
    merge: (input) => mergekitGta(def, input),
    streaming: gtaStreaming(def),
  };
}
