import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { EvaluateService } from '@patchwork/contracts';
import { nullLogger, startGrpcServer, unimplementedServiceModule, type RunningServer } from '@patchwork/platform';
import { PROBE_SCRIPT } from '../manifests/probes';
import { REPO_ROOT } from '../repo-paths';

// The exec probe components/tls puts in every pod, run as the kubelet runs it: a fresh Node process
// whose exit code is the verdict. The platform's own test certificates name localhost; the probe
// dials 127.0.0.1, as it does inside a pod.
const CERTS = path.join(REPO_ROOT, 'libs/platform/src/grpc/testing/certs');
const cert = (name: string) => path.join(CERTS, name);

interface ProbeRun {
  code: number | null;
  output: string;
}

function probe(...args: string[]): Promise<ProbeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, PROBE_SCRIPT), ...args], { cwd: REPO_ROOT });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

jest.setTimeout(30_000);

describe('grpc-health-probe.cjs against a plaintext server', () => {
  let server: grpc.Server;
  let port: number;

  beforeAll(async () => {
    server = new grpc.Server();
    new HealthImplementation({ '': 'SERVING', 'patchwork.v1.Evaluate': 'NOT_SERVING' }).addToServer(server);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
  });

  afterAll(() => server.forceShutdown());

  it('exits 0 for a SERVING key, 1 for NOT_SERVING and for a key the server does not know', async () => {
    const [whole, evaluate, unknown] = await Promise.all([
      probe(`--port=${port}`),
      probe(`--port=${port}`, '--service=patchwork.v1.Evaluate'),
      probe(`--port=${port}`, '--service=patchwork.v1.Nope'),
    ]);
    expect(whole).toEqual({ code: 0, output: expect.stringContaining('health "": SERVING') });
    expect(evaluate).toEqual({ code: 1, output: expect.stringContaining('"patchwork.v1.Evaluate": NOT_SERVING') });
    expect(unknown).toEqual({ code: 1, output: expect.stringContaining('NOT_FOUND') });
  });

  it('exits 2 when nothing answers: TLS against a plaintext port, or a closed port', async () => {
    const closed = new grpc.Server();
    const closedPort = await new Promise<number>((resolve, reject) =>
      closed.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    closed.forceShutdown();
    const [tls, refused] = await Promise.all([probe(`--port=${port}`, '--tls', '--timeout-ms=2000'), probe(`--port=${closedPort}`, '--timeout-ms=2000')]);
    expect(tls.code).toBe(2);
    expect(refused).toEqual({ code: 2, output: expect.stringContaining('UNAVAILABLE') });
  });

  it('exits 64 on bad usage, naming the problem', async () => {
    const runs = await Promise.all([probe('--service=x'), probe('--port=http'), probe('--port=1', '--tls-ca=ca.crt')]);
    expect(runs.map((r) => r.code)).toEqual([64, 64, 64]);
    expect(runs.map((r) => r.output.split('\n')[0])).toEqual([
      'grpc-health-probe: --port is required',
      'grpc-health-probe: --port must be an integer in [1, 65535], got "http"',
      'grpc-health-probe: --tls-ca needs --tls',
    ]);
  });
});

describe('grpc-health-probe.cjs against the platform gRPC server over TLS', () => {
  let server: RunningServer;

  beforeAll(async () => {
    const evaluate = unimplementedServiceModule('evaluate', 'patchwork.v1.Evaluate', EvaluateService);
    server = await startGrpcServer({
      host: '127.0.0.1',
      port: 0,
      services: [{ name: evaluate.grpcName, definition: evaluate.definition, implementation: evaluate.implementation(undefined as never) }],
      tls: { cert: readFileSync(cert('server.crt')), key: readFileSync(cert('server.key')) },
      logger: nullLogger(),
      shutdown: { handleSignals: false, graceMs: 1000 },
    });
  });

  afterAll(() => server?.shutdown('test done'));

  it('checks health over TLS, with or without verifying the chain, and fails plaintext', async () => {
    const [unverified, verified, wrongCa, plaintext] = await Promise.all([
      probe(`--port=${server.port}`, '--tls'),
      probe(`--port=${server.port}`, '--tls', `--tls-ca=${cert('ca.crt')}`),
      probe(`--port=${server.port}`, '--tls', `--tls-ca=${cert('client.crt')}`, '--timeout-ms=2000'),
      probe(`--port=${server.port}`, '--timeout-ms=2000'),
    ]);
    expect(unverified).toEqual({ code: 0, output: expect.stringContaining('SERVING') });
    expect(verified).toEqual({ code: 0, output: expect.stringContaining('SERVING') });
    expect(wrongCa.code).toBe(2);
    expect(plaintext.code).toBe(2);
  });

  it('follows a service marked not serving while the server as a whole stays live', async () => {
    server.setServing('patchwork.v1.Evaluate', false);
    const [readiness, liveness] = await Promise.all([probe(`--port=${server.port}`, '--tls', '--service=patchwork.v1.Evaluate'), probe(`--port=${server.port}`, '--tls')]);
    expect(readiness).toEqual({ code: 1, output: expect.stringContaining('"patchwork.v1.Evaluate": NOT_SERVING') });
    expect(liveness.code).toBe(0);
    server.setServing('patchwork.v1.Evaluate', true);
    expect((await probe(`--port=${server.port}`, '--tls', '--service=patchwork.v1.Evaluate')).code).toBe(0);
  });
});
