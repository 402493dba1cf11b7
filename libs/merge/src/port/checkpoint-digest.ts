import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';

const WEIGHTS = /\.safetensors$|\.safetensors\.index\.json$/;

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 8 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Content digest of a model's weights: sha256 over the lines `<file name> <sha256 of the file>`
 * of its safetensors files and index, sorted by name. Independent of where the directory lives,
 * so the same base copied elsewhere has the same digest; config and tokenizer files do not count
 * unless named in `alsoCounted` (an adapter's config, which sets its scaling).
 */
export async function checkpointDigest(dir: string, alsoCounted: readonly string[] = []): Promise<string> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => WEIGHTS.test(n) || alsoCounted.includes(n)).sort();
  } catch (err) {
    throw new PatchworkError('NOT_FOUND', `cannot read model directory ${dir}: ${(err as Error).message}`);
  }
  if (names.length === 0) throw new PatchworkError('NOT_FOUND', `${dir} holds no safetensors weights`);
  const lines: string[] = [];
  for (const name of names) lines.push(`${name} ${await fileDigest(path.join(dir, name))}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}
