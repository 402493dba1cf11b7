import * as tf from '@tensorflow/tfjs';

/**
 * The native TensorFlow bindings are optional and absent or broken on most machines (their
 * install script downloads libtensorflow). They are loaded by name at run time, inside try/catch,
 * so a missing or half-installed package only produces a reason string.
 */
const CANDIDATES = [
  { pkg: '@tensorflow/tfjs-node-gpu', device: 'cuda' },
  { pkg: '@tensorflow/tfjs-node', device: 'cpu' },
] as const;

// A computed name keeps bundlers and Jest's resolver from treating these as static dependencies.
const load = (id: string): unknown => require(id);

export async function startTensorflow(): Promise<{ device: string } | { reason: string }> {
  const reasons: string[] = [];
  for (const { pkg, device } of CANDIDATES) {
    try {
      load(pkg);
    } catch (e) {
      reasons.push(`${pkg} not loadable (${String((e as Error)?.message ?? e).split('\n')[0]})`);
      continue;
    }
    try {
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return { device };
      }
      reasons.push(`${pkg} loaded but the tensorflow backend did not initialise`);
    } catch (e) {
      reasons.push(`${pkg} loaded but failed to initialise (${String((e as Error)?.message ?? e).split('\n')[0]})`);
    }
  }
  return { reason: reasons.join('; ') };
}
