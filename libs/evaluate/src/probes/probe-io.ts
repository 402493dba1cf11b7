import { PatchworkError } from '@patchwork/errors';
import { SafetensorsFile, writeSafetensors } from '@patchwork/tensor';
import { type BehaviourProbe, PROBE_FORMAT, checkProbe } from './probe';

/**
 * Writes a probe as safetensors: `weight` [classes, hidden] and `bias` [classes] in F32, with the
 * layer, pooling, classes and L2 in the metadata (the merge service's Model Surgery reads it).
 */
export async function saveProbe(probe: BehaviourProbe, file: string): Promise<void> {
  checkProbe(probe);
  const c = probe.classes.length;
  await writeSafetensors(
    file,
    { weight: { dtype: 'F32', shape: [c, probe.hiddenSize], data: probe.weight }, bias: { dtype: 'F32', shape: [c], data: probe.bias } },
    { format: PROBE_FORMAT, layer: String(probe.layer), pooling: probe.pooling, classes: JSON.stringify(probe.classes), l2: String(probe.l2) },
  );
}

export async function loadProbe(file: string): Promise<BehaviourProbe> {
  const f = await SafetensorsFile.open(file);
  try {
    const meta = f.metadata;
    if (meta.format !== PROBE_FORMAT) throw new PatchworkError('INVALID_ARGUMENT', `${file}: not a behaviour probe (metadata format ${JSON.stringify(meta.format)})`);
    const info = f.info('weight');
    let classes: unknown;
    try {
      classes = JSON.parse(meta.classes ?? '');
    } catch {
      classes = undefined;
    }
    if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) throw new PatchworkError('INVALID_ARGUMENT', `${file}: metadata classes must be a JSON list of names`);
    return checkProbe({
      format: PROBE_FORMAT,
      layer: Number(meta.layer),
      pooling: meta.pooling as BehaviourProbe['pooling'],
      hiddenSize: info.shape[1],
      classes: classes as string[],
      weight: await f.readFloat32('weight'),
      bias: await f.readFloat32('bias'),
      l2: Number(meta.l2),
    });
  } finally {
    await f.close();
  }
}
