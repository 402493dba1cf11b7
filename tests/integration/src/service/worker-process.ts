// A merge worker in its own process, for tests that SIGKILL it mid-job. Configured through the
// environment like a real deployment; prints "ready" once it consumes.
import { readPlatformConfig, serve } from '@patchwork/platform';
import { slowMergeModule } from './slow-merge-module';

async function run(): Promise<void> {
  const config = readPlatformConfig(process.env, { services: 'merge', grpcPort: '0' });
  const delay = Number(process.env['TEST_TENSOR_DELAY_MS'] ?? '0');
  await serve({ config, modules: [slowMergeModule(delay)] });
  process.stdout.write('ready\n');
}

run().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
