/**
 * A binary max-heap of (count, pair) entries for the BPE trainer. Entries may go stale as counts
 * change; the trainer checks each popped entry against the live count (lazy deletion), which keeps
 * every update O(log n) instead of re-heapifying.
 */
export class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  /** `before(k1, k2)` breaks ties between equal counts: true when pair k1 ranks first. */
  constructor(private readonly before: (k1: number, k2: number) => boolean) {}

  get size(): number {
    return this.keys.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.up(this.keys.length - 1);
  }

  /** Removes the best entry into `out` (count, key); false when empty. */
  pop(out: { count: number; key: number }): boolean {
    const n = this.keys.length;
    if (n === 0) return false;
    out.count = this.counts[0];
    out.key = this.keys[0];
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    if (n > 1) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      this.down(0);
    }
    return true;
  }

  private ranksFirst(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci !== cj ? ci > cj : this.before(this.keys[i], this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.ranksFirst(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.keys.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && this.ranksFirst(left, best)) best = left;
      if (right < n && this.ranksFirst(right, best)) best = right;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}
