/** Concurrency limits for the browser helpers and the player matrix (no I/O of their own). */

/**
 * A counting semaphore: at most `n` calls of `fn` run at once, the others wait their turn (FIFO). A
 * released slot is handed to the first waiter as it is, so a caller arriving meanwhile cannot take it
 * too (n + 1 at once).
 */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/**
 * Runs jobs of two kinds in `slots` slots: a free slot takes the next "long" job while fewer than
 * `longSlots` run, else the next short one, else whatever waits (FIFO within each kind). The player
 * matrix runs its live cells (real time, mostly waiting) as long jobs beside the short, CPU-bound ones
 * (VOD cells, origin checks), so neither kind waits for the other to finish.
 */
export function twoKindScheduler(
  slots: number,
  longSlots: number,
): <T>(long: boolean, fn: () => Promise<T>) => Promise<T> {
  const queues = { long: [] as (() => void)[], short: [] as (() => void)[] };
  let running = 0;
  let runningLong = 0;
  let pumping = false;
  // Jobs queued in one go (a loop over both kinds) are all seen before the first slot is given: the
  // slots are handed out once the queuing code has run.
  const later = (): void => {
    if (pumping) return;
    pumping = true;
    queueMicrotask(() => {
      pumping = false;
      pump();
    });
  };
  const pump = (): void => {
    while (running < slots) {
      const kind =
        queues.long.length > 0 && (runningLong < longSlots || queues.short.length === 0)
          ? 'long'
          : queues.short.length > 0
            ? 'short'
            : undefined;
      if (kind === undefined) return;
      running++;
      if (kind === 'long') runningLong++;
      (queues[kind].shift() as () => void)();
    }
  };
  return <T>(long: boolean, fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queues[long ? 'long' : 'short'].push(() => {
        // A job that throws synchronously still frees its slot.
        void Promise.resolve()
          .then(fn)
          .then(resolve, reject)
          .finally(() => {
            running--;
            if (long) runningLong--;
            later();
          });
      });
      later();
    });
}
