import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'tools/cli/bin/patchwork.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A private nats-server with JetStream on its own port and store, which the test may restart. */
export class NatsServer {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    private readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await fs.mkdir(this.storeDir, { recursive: true });
    this.child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await listening(this.port)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await listening(this.port))) throw new Error(`nats-server did not listen on ${this.port}`);
  }

  /** A clean stop (SIGTERM: JetStream flushes its store) and a start on the same port and store. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    await exited(child);
    this.child = undefined;
  }
}

/** One `patchwork serve --only <service>` process: its own data dir, NATS for everything shared. */
export class ServiceProcess {
  private child?: ChildProcess;
  readonly log: string[] = [];

  /** A fixed port, so a restarted replica answers where the killed one did. */
  constructor(
    readonly service: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'serve', '--only', this.service, '--port', String(this.port)], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    await new Promise<number>((resolve, reject) => {
      let buffered = '';
      child.stderr?.on('data', (d: Buffer) => {
        buffered += String(d);
        this.log.push(String(d));
        const m = /serving [a-z, ]+ on [^\s:]+:(\d+)/.exec(buffered);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code, signal) => reject(new Error(`${this.service} exited (${code ?? signal}) before serving:\n${buffered}`)));
    });
  }

  /** Kills without warning: no shutdown hook runs, the job in flight is left to redelivery. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await exited(child);
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited(child);
    clearTimeout(timer);
    this.child = undefined;
  }
}
