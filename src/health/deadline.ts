/**
 * A timeout that counts only the time this process could have read an answer. A plain timer also
 * counts the time the event loop was stalled or queued behind other work, so an overloaded Switchyard
 * would judge every healthy CDN too slow, mark them all down, and move every viewer at once. Here the
 * deadline advances in ticks of `tickMs` and a late tick counts as one tick: a loop stalled 2 s spends
 * one tick of the budget. The budget is stretched at most `maxStretch` times in wall-clock terms, so a
 * CDN that never answers still fails. Expiry is judged after the loop has read pending I/O once more
 * (setImmediate runs after the poll phase), so an answer that arrived during a stall wins.
 */
export interface Deadline {
  /** Stops the deadline (the answer came). */
  cancel(): void;
}

/** How far (x the timeout, in wall-clock time) a deadline stretches at most while the loop lags. */
export const MAX_STRETCH = 4;

export function lagTolerantDeadline(
  timeoutMs: number,
  onExpire: () => void,
  options: { tickMs?: number; maxStretch?: number; now?: () => number } = {},
): Deadline {
  const tickMs = Math.max(1, Math.min(options.tickMs ?? 50, timeoutMs));
  const maxStretch = options.maxStretch ?? MAX_STRETCH;
  const now = options.now ?? (() => performance.now());
  const started = now();
  let budget = timeoutMs;
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  let last = started;
  const expire = () => {
    immediate = setImmediate(() => {
      immediate = undefined;
      if (done) return;
      done = true;
      onExpire();
    });
  };
  const tick = () => {
    timer = undefined;
    if (done) return;
    const t = now();
    // A tick that came late counts as one tick, not as the time the loop was away.
    budget -= Math.min(t - last, tickMs);
    last = t;
    if (budget <= 0 || t - started >= timeoutMs * maxStretch) return expire();
    timer = setTimeout(tick, Math.min(tickMs, budget));
  };
  timer = setTimeout(tick, Math.min(tickMs, budget));
  return {
    cancel() {
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      if (immediate !== undefined) clearImmediate(immediate);
    },
  };
}
