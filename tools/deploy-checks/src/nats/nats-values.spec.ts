import { readNatsInstall } from './nats-install';

/** Releases that lose max-delivered messages on R3 WorkQueue streams (nats-server#7817). */
const BROKEN_SERVER_RELEASES = ['2.12.3', '2.12.4'];

const at = (values: Record<string, unknown>, dotted: string): unknown =>
  dotted.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);

describe('deploy/nats: the JetStream cluster Patchwork runs on', () => {
  const nats = readNatsInstall();

  it('runs three clustered servers with JetStream on persistent file storage', () => {
    expect(at(nats.values, 'config.cluster.enabled')).toBe(true);
    expect(at(nats.values, 'config.cluster.replicas')).toBe(3);
    expect(at(nats.values, 'config.jetstream.enabled')).toBe(true);
    expect(at(nats.values, 'config.jetstream.fileStore.enabled')).toBe(true);
    expect(at(nats.values, 'config.jetstream.fileStore.pvc.enabled')).toBe(true);
    expect(at(nats.values, 'config.jetstream.memoryStore.enabled')).toBe(false);
  });

  it('serves the monitoring endpoint KEDA reads, on 8222', () => {
    expect(at(nats.values, 'config.monitor.enabled')).toBe(true);
    expect(nats.monitorPort).toBe(8222);
  });

  it('pins an exact server release that is not one of the WorkQueue-loss releases, matching the pinned chart', () => {
    const tag = at(nats.values, 'container.image.tag');
    expect(typeof tag).toBe('string');
    const version = /^(\d+\.\d+\.\d+)(-[a-z0-9]+)?$/.exec(tag as string)?.[1];
    expect({ tag, version }).toEqual({ tag, version: expect.any(String) });
    expect(BROKEN_SERVER_RELEASES).not.toContain(version);
    expect(nats.chartVersion).toMatch(/^\d+\.\d+\.\d+$/);
    // Since chart 2.12.1 the chart's version is the server release it was made for.
    expect(nats.chartVersion).toBe(version);
  });

  it('requires a client token, taken from a Secret rather than written into the values', () => {
    expect(at(nats.values, 'config.merge.authorization.token')).toBe('<< $NATS_TOKEN >>');
    expect(at(nats.values, 'container.env.NATS_TOKEN.valueFrom.secretKeyRef')).toEqual({ name: 'nats-auth', key: 'token' });
  });
});
