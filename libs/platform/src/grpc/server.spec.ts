import { reflect } from './testing/reflection-client';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PatchworkError } from '@patchwork/errors';
import { createLogger } from '../observability/logger';
import { callUnary } from './client';
import { unary } from './handlers';
import { checkHealth } from './health-client';
import { startGrpcServer } from './server';
import { ECHO_PROTO, ECHO_SERVICE_NAME, loadEcho, type EchoRequest } from './testing/echo';
import { rejection, startEcho } from './testing/harness';

const say = unary(async (request: EchoRequest) => ({ text: request.text, index: 0 }));
const echoImpl = () => ({ say, count: unary(async () => ({})), collect: unary(async () => ({})) });

describe('startGrpcServer: health', () => {
  it('reports SERVING for the server and each service, follows setServing, and NOT_SERVING once shutdown starts', async () => {
    const h = await startEcho(echoImpl());
    const address = h.server.address;
    try {
      expect(await checkHealth({ address })).toBe('SERVING');
      expect(await checkHealth({ address, service: ECHO_SERVICE_NAME })).toBe('SERVING');
      await expect(checkHealth({ address, service: 'patchwork.v1.Nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });

      h.server.setServing(ECHO_SERVICE_NAME, false);
      expect(await checkHealth({ address, service: ECHO_SERVICE_NAME })).toBe('NOT_SERVING');
      expect(await checkHealth({ address })).toBe('SERVING');
      h.server.setServing(ECHO_SERVICE_NAME, true);
      expect(() => h.server.setServing('patchwork.v1.Nope', true)).toThrow(/not served here/);

      // Hold shutdown in a hook so health can be read while it drains.
      let release!: () => void;
      const hookRunning = new Promise<void>((started) => h.server.onShutdown(() => new Promise<void>((r) => ((release = r), started()))));
      const closing = h.server.shutdown('test');
      await hookRunning;
      expect(await checkHealth({ address })).toBe('NOT_SERVING');
      expect(await checkHealth({ address, service: ECHO_SERVICE_NAME })).toBe('NOT_SERVING');
      h.server.setServing(ECHO_SERVICE_NAME, true);
      expect(await checkHealth({ address, service: ECHO_SERVICE_NAME })).toBe('NOT_SERVING');
      release();
      await closing;
      await expect(h.server.closed).resolves.toBeUndefined();
      await expect(checkHealth({ address }, { timeoutMs: 500 })).rejects.toMatchObject({ code: expect.stringMatching(/UNAVAILABLE|DEADLINE_EXCEEDED/) });
    } finally {
      await h.close();
    }
  });
});

describe('startGrpcServer: reflection', () => {
  it('lists the hosted services, health and reflection in both protocol versions, and serves descriptors', async () => {
    const h = await startEcho(echoImpl(), { reflection: { packageDefinition: loadEcho().packageDefinition } });
    try {
      for (const version of ['v1', 'v1alpha'] as const) {
        const listed = await reflect(h.server.address, version, { listServices: '' });
        expect(listed.listServicesResponse!.service.map((s) => s.name).sort()).toEqual(
          ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection', ECHO_SERVICE_NAME].sort(),
        );
      }
      const file = await reflect(h.server.address, 'v1', { fileContainingSymbol: ECHO_SERVICE_NAME });
      expect(file.fileDescriptorResponse!.fileDescriptorProto.length).toBeGreaterThan(0);
      expect(Buffer.concat(file.fileDescriptorResponse!.fileDescriptorProto).toString('latin1')).toContain('Collect');
    } finally {
      await h.close();
    }
  });

  it('loads reflection from .proto files', async () => {
    const h = await startEcho(echoImpl(), { reflection: { protoFiles: [path.basename(ECHO_PROTO)], includeDirs: [path.dirname(ECHO_PROTO)] } });
    try {
      const listed = await reflect(h.server.address, 'v1', { listServices: '' });
      expect(listed.listServicesResponse!.service.map((s) => s.name)).toContain(ECHO_SERVICE_NAME);
    } finally {
      await h.close();
    }
  });

  it('is off by default', async () => {
    const h = await startEcho(echoImpl());
    try {
      await expect(reflect(h.server.address, 'v1', { listServices: '' })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      await h.close();
    }
  });
});

describe('startGrpcServer: options', () => {
  const logger = createLogger({ service: 't', level: 'silent' });
  const echo = loadEcho();

  it('reports every invalid option at once, naming the fields', async () => {
    const err = await rejection(startGrpcServer({
      port: 70000,
      services: [
        { name: 'patchwork.testing.Other', definition: echo.definition, implementation: { say } },
        { name: 'patchwork.testing.Other', definition: echo.definition, implementation: {} },
      ],
      auth: { token: ' ' },
      maxReceiveMessageBytes: 0,
      logger,
    }));
    expect(err).toBeInstanceOf(PatchworkError);
    expect(err.code).toBe('INVALID_ARGUMENT');
    const fields = err.violations.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining(['port', 'services[0].definition.say', 'services[0].implementation.count', 'services[1].name', 'auth.token', 'maxReceiveMessageBytes']),
    );
  });

  it('rejects a reflection source that lacks a hosted service', async () => {
    const other = protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'));
    await expect(
      startGrpcServer({ port: 0, host: '127.0.0.1', services: [{ name: ECHO_SERVICE_NAME, definition: echo.definition, implementation: echoImpl() }], reflection: { packageDefinition: other }, logger }),
    ).rejects.toThrow(/does not describe patchwork.testing.Echo/);
  });

  it('fails with UNAVAILABLE when the port is taken', async () => {
    jest.spyOn(console, 'error').mockImplementation(() => undefined); // grpc-js reports the bind failure itself
    const h = await startEcho(echoImpl());
    try {
      const [, port] = h.server.address.split(':');
      await expect(
        startGrpcServer({ port: Number(port), host: '127.0.0.1', services: [{ name: ECHO_SERVICE_NAME, definition: echo.definition, implementation: echoImpl() }], logger }),
      ).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`127.0.0.1:${port}`) });
    } finally {
      jest.restoreAllMocks();
      await h.close();
    }
  });

  it('logs the listening address', async () => {
    const h = await startEcho(echoImpl());
    try {
      const client = h.client();
      expect(await callUnary(client, 'say', { text: 'hi' })).toMatchObject({ text: 'hi' });
      expect(h.logs.find('gRPC server listening')[0]).toMatchObject({ address: h.server.address, services: [ECHO_SERVICE_NAME] });
    } finally {
      await h.close();
    }
  });

  it('accepts handlers keyed by the proto-loader original name', async () => {
    const raw = grpc.loadPackageDefinition(echo.packageDefinition) as unknown as { patchwork: { testing: { Echo: grpc.ServiceClientConstructor } } };
    const definition = raw.patchwork.testing.Echo.service;
    expect(Object.keys(definition)).toEqual(['Say', 'Count', 'Collect']);
    const server = await startGrpcServer({ port: 0, host: '127.0.0.1', services: [{ name: ECHO_SERVICE_NAME, definition, implementation: echoImpl() }], logger, shutdown: { handleSignals: false } });
    const client = new echo.Client(server.address, grpc.credentials.createInsecure());
    try {
      expect(await callUnary(client, 'say', { text: 'original' })).toMatchObject({ text: 'original' });
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});
