import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { safetensorsBytes } from './encode-bytes';
import { writeSafetensors } from './write-file';

describe('safetensorsBytes', () => {
  it('builds the same bytes writeSafetensors writes to a file', async () => {
    const tensors = {
      pixel_values: { dtype: 'F32' as const, shape: [1, 1, 2, 3], data: Float32Array.from([0, 0.5, -1, 2, 1e-3, 7]) },
      ids: { dtype: 'I64' as const, shape: [3], data: Int32Array.from([1, 2, 50_000]) },
      half: { dtype: 'BF16' as const, shape: [2], data: Float32Array.from([1.5, -3]) },
    };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'st-bytes-'));
    try {
      const file = path.join(dir, 'x.safetensors');
      await writeSafetensors(file, tensors, { format: 'pt' });
      expect(safetensorsBytes(tensors, { format: 'pt' }).equals(await fs.readFile(file))).toBe(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
