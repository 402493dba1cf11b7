// A service worker in its own process, for tests that run several replicas or SIGKILL one
// mid-job. Configured through the environment like a real deployment; prints "ready" once it
// consumes. TEST_MODULE picks the service (merge, evaluate); the TEST_*_DELAY_MS variables slow
// its work down so a test can act while it is in flight.
import { readPlatformConfig, serve, ServiceModule } from '@patchwork/platform';
import { evaluateServiceModule } from '@patchwork/service-evaluate';
import { slowMergeModule } from './slow-merge-module';

function slowShards(module: ServiceModule, delayMs: number): ServiceModule {
  if (!module.shardHandler || delayMs <= 0) return module;
  const make = module.shardHandler;
  return {
    ...module,
    shardHandler: (runtime) => {
      const handler = make(runtime);
      return async (payload, shard) => {
        process.stdout.write(`shard ${shard.index} started\n`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return handler(payload, shard);
      };
    },
  };
}

async function run(): Promise<void> {
  const which = process.env['TEST_MODULE'] ?? 'merge';
  const module =
    which === 'evaluate'
      ? slowShards(evaluateServiceModule, Number(process.env['TEST_SHARD_DELAY_MS'] ?? '0'))
      : slowMergeModule(Number(process.env['TEST_TENSOR_DELAY_MS'] ?? '0'));
  const config = readPlatformConfig(process.env, { services: which, grpcPort: '0' });
  await serve({ config, modules: [module] });
  process.stdout.write('ready\n');
}

run().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
