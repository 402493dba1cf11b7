import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainClient } from '@patchwork/contracts';
import { callUnary, checkHealth, createGrpcClient, readPlatformConfig, RunningPlatform, serve } from '@patchwork/platform';
import { reflect } from '@patchwork/platform/src/grpc/testing/reflection-client';
import { SERVICE_MODULES } from './service-modules';

describe('patchwork serve (embedded default)', () => {
  let platform: RunningPlatform;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'serve-'));
    const config = readPlatformConfig({}, { dataDir, grpcPort: '0', logLevel: 'silent' });
    platform = await serve({ config, modules: config.services.map((s) => SERVICE_MODULES[s]) });
  });

  afterAll(async () => {
    await platform.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('reports SERVING for the process and for every service', async () => {
    const address = `127.0.0.1:${platform.port}`;
    for (const service of ['', 'Compress', 'Train', 'Merge', 'Evaluate', 'Retrieve', 'Jobs', 'Artifacts']) {
      expect(await checkHealth({ address, service: service && `patchwork.v1.${service}` })).toBe('SERVING');
    }
  });

  it('lists every service through reflection', async () => {
    const response = await reflect(`127.0.0.1:${platform.port}`, 'v1', { listServices: '' });
    const names = response.listServicesResponse?.service.map((s) => s.name) ?? [];
    for (const service of ['Compress', 'Train', 'Merge', 'Evaluate', 'Retrieve', 'Jobs', 'Artifacts']) expect(names).toContain(`patchwork.v1.${service}`);
    expect(names).toContain('grpc.health.v1.Health');
  });

  it('serves the train contract: an empty request is refused, naming what is missing', async () => {
    const train = createGrpcClient(TrainClient, { address: `127.0.0.1:${platform.port}` });
    try {
      await expect(callUnary(train, 'submitTrain', { requestId: 'r', baseModel: undefined, configYaml: '', labels: {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/config_yaml/) });
    } finally {
      train.close();
    }
  });
});
