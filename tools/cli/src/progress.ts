/** A one-line progress bar on stderr when it is a terminal, plain lines otherwise (CI logs). */
export class ProgressLine {
  private lastPlain = 0;
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  update(label: string, fraction: number, detail = ''): void {
    const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
    const width = 28;
    const filled = Math.round(clamped * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const line = `${label.padEnd(8)} [${bar}] ${(clamped * 100).toFixed(0).padStart(3)}% ${detail}`;
    if (this.tty) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 100) - 1).padEnd((this.stream.columns ?? 100) - 1)}`);
    } else if (Date.now() - this.lastPlain > 1000 || clamped === 1) {
      this.lastPlain = Date.now();
      this.stream.write(`${line}\n`);
    }
  }

  done(message: string): void {
    if (this.tty) this.stream.write('\n');
    this.stream.write(`${message}\n`);
  }
}
