import { TensorChunks, WholeModelContext } from '../methods/merge-method';

/**
 * One tensor's chunks seen as a whole model of one tensor, so a whole-model method's statistics
 * walks (PCB, paper TIES) give the per-tensor version of the method in bounded memory.
 */
export function chunksAsModel(tensor: TensorChunks): WholeModelContext {
  return { tensorCount: 1, forEachTensor: (visit) => tensor.forEachChunk(visit) };
}
