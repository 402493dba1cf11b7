import { jobsStreamName, queueConsumerName, shardQueueName } from '@patchwork/platform';
import { evaluateServiceModule } from '@patchwork/service-evaluate';
import { readNatsInstall } from '../nats/nats-install';
import { OVERLAYS, type Overlay } from '../repo-paths';
import { containerConfigs, named, ofKind, renderOverlay } from './rendered';

/** research/platform.md 2.3: the metadata fields of KEDA's nats-jetstream trigger, exactly. */
const TRIGGER_FIELDS = ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold', 'activationLagThreshold', 'useHttps'];
const REQUIRED_FIELDS = ['natsServerMonitoringEndpoint', 'account', 'stream', 'consumer', 'lagThreshold'];
/** Which workers KEDA scales in each overlay (dev runs without KEDA). */
const SCALED: Record<Overlay, string[]> = { dev: [], prod: ['patchwork-evaluate-worker', 'patchwork-train-worker'] };

interface ScaledObjectSpec {
  scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  fallback?: { failureThreshold: number; replicas: number };
  triggers: Array<{ type: string; metadata: Record<string, string> }>;
}

describe.each(OVERLAYS)('overlay %s: KEDA', (overlay) => {
  const objects = renderOverlay(overlay);
  const configs = containerConfigs(objects);
  const scaledObjects = ofKind(objects, 'ScaledObject');
  const nats = readNatsInstall();

  it('scales exactly the expected workers, and nothing else autoscales them', () => {
    expect(scaledObjects.map((s) => (s['spec'] as ScaledObjectSpec).scaleTargetRef.name).sort()).toEqual(SCALED[overlay]);
    expect(ofKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  const scaledWorkers = SCALED[overlay];
  if (scaledWorkers.length > 0) it.each(scaledWorkers)('%s: targets the JetStream consumer its workers create, through the NATS monitoring endpoint', (worker) => {
    const scaled = scaledObjects.find((s) => (s['spec'] as ScaledObjectSpec).scaleTargetRef.name === worker)!;
    const spec = scaled['spec'] as ScaledObjectSpec;
    const target = named(objects, 'Deployment', worker);
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker });
    // KEDA owns the count; one in the manifest would be reset by every apply.
    expect(target['spec']).not.toHaveProperty('replicas');

    const { config } = configs.get(worker)!;
    expect(config.workers).toBe(true);
    expect(config.services).toHaveLength(1);
    const [queue] = config.services;

    // One trigger per queue the workers consume: their jobs, and their shards where they fan out.
    const fansOut = queue === evaluateServiceModule.name && evaluateServiceModule.shardHandler !== undefined;
    const consumers = [queueConsumerName(config.natsPrefix, queue), ...(fansOut ? [queueConsumerName(config.natsPrefix, shardQueueName(queue))] : [])];
    expect(spec.triggers.map((t) => t.metadata['consumer'])).toEqual(consumers);
    for (const trigger of spec.triggers) {
      expect(trigger.type).toBe('nats-jetstream');
      expect(Object.keys(trigger.metadata).filter((k) => !TRIGGER_FIELDS.includes(k))).toEqual([]);
      expect(REQUIRED_FIELDS.filter((k) => trigger.metadata[k] === undefined)).toEqual([]);
      expect(trigger.metadata['stream']).toBe(jobsStreamName(config.natsPrefix));
      expect(trigger.metadata['account']).toBe('$G');
      // The headless service of the same NATS release the workers connect to, on its monitoring port.
      expect(config.natsServers.map((s) => new URL(s).hostname)).toContain(nats.clientHost);
      expect(trigger.metadata['natsServerMonitoringEndpoint']).toBe(`${nats.headlessHost}:${nats.monitorPort}`);
      expect(trigger.metadata['useHttps'] ?? 'false').toBe('false');
      for (const field of ['lagThreshold', 'activationLagThreshold']) {
        if (trigger.metadata[field] !== undefined) expect(trigger.metadata[field]).toMatch(/^\d+$/);
      }
      expect(Number(trigger.metadata['lagThreshold'])).toBeGreaterThan(0);
    }

    expect(spec.minReplicaCount).toBe(0);
    expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(1);
    // Scale-to-zero plus a consumer that only exists once a worker ran: the fallback starts one.
    expect(spec.fallback?.replicas).toBeGreaterThanOrEqual(1);
  });

  if (overlay === 'prod') {
    it('scales evaluate on consumers jobs-evaluate and jobs-evaluate-shards of stream JOBS, the names the platform creates with the default empty prefix', () => {
      const evaluate = scaledObjects.find((s) => (s['spec'] as ScaledObjectSpec).scaleTargetRef.name === 'patchwork-evaluate-worker')!;
      const triggers = (evaluate['spec'] as ScaledObjectSpec).triggers.map(({ metadata }) => ({ stream: metadata['stream'], consumer: metadata['consumer'] }));
      expect(triggers).toEqual([
        { stream: jobsStreamName(''), consumer: queueConsumerName('', 'evaluate') },
        { stream: jobsStreamName(''), consumer: queueConsumerName('', shardQueueName('evaluate')) },
      ]);
      expect(triggers).toEqual([
        { stream: 'JOBS', consumer: 'jobs-evaluate' },
        { stream: 'JOBS', consumer: 'jobs-evaluate-shards' },
      ]);
      expect(configs.get('patchwork-evaluate-worker')!.config.natsPrefix).toBe('');
    });
  }
});
