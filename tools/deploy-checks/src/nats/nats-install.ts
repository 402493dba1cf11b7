import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { readYamlDocument } from '../kustomize/yaml-files';
import { isObject } from '../kustomize/strategic-merge';
import { NATS_DIR } from '../repo-paths';

/** The NATS installation deploy/nats/README.md prescribes and the values it installs with. */
export interface NatsInstall {
  release: string;
  namespace: string;
  chartVersion: string;
  values: Record<string, unknown>;
  /** The chart's client Service, `<release>.<namespace>.svc.cluster.local`. */
  clientHost: string;
  /** The chart's headless Service (per-server DNS names), `<release>-headless.<namespace>.svc.cluster.local`. */
  headlessHost: string;
  monitorPort: number;
}

export function readNatsInstall(): NatsInstall {
  const readme = readFileSync(path.join(NATS_DIR, 'README.md'), 'utf8');
  const command = /helm upgrade --install (\S+) nats\/nats --namespace (\S+) --version (\S+) --values deploy\/nats\/values\.yaml/.exec(readme);
  if (!command) {
    throw new PatchworkError('NOT_FOUND', 'deploy/nats/README.md: no `helm upgrade --install <release> nats/nats --namespace <ns> --version <v> --values deploy/nats/values.yaml` command');
  }
  const [, release, namespace, chartVersion] = command;
  const values = readYamlDocument(path.join(NATS_DIR, 'values.yaml'));
  if (!isObject(values)) throw new PatchworkError('INVALID_ARGUMENT', 'deploy/nats/values.yaml must be a mapping');
  const monitor = (values['config'] as { monitor?: { port?: number } } | undefined)?.monitor;
  return {
    release,
    namespace,
    chartVersion,
    values,
    clientHost: `${release}.${namespace}.svc.cluster.local`,
    headlessHost: `${release}-headless.${namespace}.svc.cluster.local`,
    monitorPort: monitor?.port ?? 8222,
  };
}
