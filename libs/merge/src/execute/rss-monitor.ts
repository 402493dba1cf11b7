/**
 * Peak resident set size of the process while a merge runs: sampled on a timer (unref'd, so it
 * never keeps the process alive) and at the executor's allocation points (after a chunk is read
 * and after it is merged), where the working set peaks; a timer alone misses peaks inside
 * synchronous compute.
 */
export class RssMonitor {
  /** RSS when the merge started: the runtime's own footprint (code, heap, loaded modules). */
  readonly baseline: number;
  private peakBytes: number;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(intervalMs = 10) {
    this.baseline = process.memoryUsage.rss();
    this.peakBytes = this.baseline;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  get peak(): number {
    return this.peakBytes;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakBytes) this.peakBytes = rss;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
