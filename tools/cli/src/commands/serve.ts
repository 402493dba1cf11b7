import { readPlatformConfig, serve } from '@patchwork/platform';
import { backendInfo, initBackend } from '@patchwork/tensor';
import { SERVICE_MODULES } from '../service-modules';

export interface ServeFlags {
  only?: string;
  host?: string;
  port?: string;
  dataDir?: string;
  nats?: string;
  metricsPort?: string;
  noWorkers?: boolean;
}

/** Runs the chosen services (all by default) in this process until SIGTERM/SIGINT. */
export async function serveCommand(flags: ServeFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const config = readPlatformConfig(env, {
    services: flags.only,
    grpcHost: flags.host,
    grpcPort: flags.port,
    dataDir: flags.dataDir,
    natsServers: flags.nats,
    metricsPort: flags.metricsPort,
    workers: flags.noWorkers ? 'false' : undefined,
  });
  // Before any service loads a model: tfjs's default cpu backend is ~30x slower than wasm.
  await initBackend({ backend: config.backend as never });
  const running = await serve({
    config,
    modules: config.services.map((s) => SERVICE_MODULES[s]),
    handleSignals: true,
    backend: () => {
      const b = backendInfo();
      return { backend: b.name, device: b.device, threads: b.threads };
    },
  });
  process.stderr.write(`patchwork: serving ${config.services.join(', ')} on ${config.grpcHost}:${running.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void running.close().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
