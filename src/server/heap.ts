import { getHeapStatistics } from 'node:v8';

/** How often the heap is measured at most: a request between two samples uses the last one. */
const SAMPLE_MS = 200;

/** 85% of V8's heap limit: room for the GC to work before the process would die of out-of-memory. */
export function defaultHeapBudget(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.85);
}

/**
 * Whether the heap is above its budget, measured with process.memoryUsage() at most every 200 ms (on
 * demand: no timer runs). Above it, Switchyard sheds new manifest work instead of growing until V8
 * aborts the process, which would drop every viewer at once.
 */
export class HeapGuard {
  private sampledAt = -Infinity;
  private used = 0;

  constructor(
    private readonly budget: () => number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** heapUsed at the last sample, in bytes. */
  get heapUsed(): number {
    return this.used;
  }

  over(): boolean {
    const now = this.clock();
    if (now - this.sampledAt >= SAMPLE_MS) {
      this.used = process.memoryUsage().heapUsed;
      this.sampledAt = now;
    }
    return this.used > this.budget();
  }

  /** Measure again at the next request (after a reload changed the budget). */
  invalidate(): void {
    this.sampledAt = -Infinity;
  }
}
