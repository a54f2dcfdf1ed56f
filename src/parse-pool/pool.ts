/**
 * A small bounded pool of parse worker threads (node:worker_threads), so a big manifest's parse never
 * holds the event loop that every other viewer's request waits on.
 *
 * - At most `workers` threads parse, one manifest each; at most `maxQueued` more wait, first come first
 *   served. Past that a parse is refused at once with `503 OVERLOADED` (Retry-After): the queue, and
 *   the manifest texts it holds, stay bounded.
 * - A parse has `timeoutMs` from the moment its thread gets it: past that the thread is terminated and
 *   the parse answered `502 MANIFEST_TOO_COMPLEX` (key `limits.parse.timeout`).
 * - A thread that dies (its heap past `workerHeapBytes`: `502 MANIFEST_TOO_COMPLEX`, key
 *   `limits.parse.workerHeapBytes`; anything else: `500 INTERNAL`) fails only its own parse, and is
 *   replaced. Waiting parses go to the replacement.
 * - Every parse handed to the pool settles exactly once: answered, failed, refused, or failed by
 *   close(). No promise is left pending and no timer or thread outlives close().
 * - Threads start when first needed and are unref()'d while idle (an idle pool keeps no process alive).
 * - When threads cannot start at all (three in a row exit before they are ready: a broken install),
 *   the pool says so (`unavailable`) and its callers parse inline.
 */
import { Worker } from 'node:worker_threads';
import { SwitchyardError } from '../errors';
import { parseWorkerEntry, type WorkerEntry } from './entry';
import { fromWireError, type PackedManifest, type ParseRequest, type WorkerMessage } from './wire';

export interface PoolSettings {
  /** Threads at most (at least 1). */
  readonly workers: number;
  /** Parses waiting for a thread at most. */
  readonly maxQueued: number;
  /** Time budget of one parse, from when its thread gets it (ms). */
  readonly timeoutMs: number;
  /** V8 heap of one thread (old generation), bytes. */
  readonly workerHeapBytes: number;
}

export type RestartReason = 'timeout' | 'oom' | 'crash';

export interface PoolEvents {
  /** A thread ended other than by close() or a resize, and (if the pool still needs it) was replaced. */
  onRestart?(reason: RestartReason, detail: string): void;
  /** Threads cannot start: the pool is unavailable from now on. */
  onUnavailable?(error: string): void;
}

export interface PoolStats {
  /** Threads alive (starting, idle or busy). */
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly restarts: number;
}

export interface PoolAnswer {
  readonly packed: PackedManifest;
  /** How long the thread took (parse and pack), on its own clock. */
  readonly parseMs: number;
}

export type PoolJob = Omit<ParseRequest, 'id'>;

/** Thrown by parse() when the pool cannot run parses (threads do not start): parse inline instead. */
export class PoolUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolUnavailable';
  }
}

interface Job {
  readonly id: number;
  readonly request: PoolJob;
  resolve(answer: PoolAnswer): void;
  reject(err: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly generation: number;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Why the pool itself ends this thread (then its exit is no crash). */
  stopping: 'timeout' | 'retire' | undefined;
  error: Error | undefined;
}

const MIB = 1024 * 1024;
/** Consecutive threads that exit before they are ready before the pool gives up on threads. */
const START_FAILURES = 3;
/** Retry-After (seconds) of a parse refused because the pool and its queue are full. */
const FULL_RETRY_AFTER_S = 1;

export class ParsePool {
  private readonly threads = new Set<Thread>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private generation = 0;
  private startFailures = 0;
  private restartCount = 0;
  private closed = false;
  private unavailableReason: string | undefined;
  private readonly exited = new Set<Promise<void>>();
  /** retire(): no new parses; these wait for the last one in flight or queued to settle. */
  private retiring = false;
  private readonly drained: (() => void)[] = [];

  constructor(
    private settings: PoolSettings,
    private readonly events: PoolEvents = {},
    private readonly entry: WorkerEntry = parseWorkerEntry(),
  ) {}

  /** New settings: the size and queue bound at once, the time budget for parses not started yet; a new heap size for new threads (idle ones are replaced). */
  configure(settings: PoolSettings): void {
    const heapChanged = settings.workerHeapBytes !== this.settings.workerHeapBytes;
    this.settings = settings;
    if (heapChanged) this.generation++;
    for (const t of this.threads) if (t.job === undefined && !this.keeps(t)) this.end(t, 'retire');
    this.pump();
  }

  get unavailable(): boolean {
    return this.unavailableReason !== undefined;
  }

  stats(): PoolStats {
    let busy = 0;
    for (const t of this.threads) if (t.job !== undefined) busy++;
    return { workers: this.threads.size, busy, queued: this.queue.length, restarts: this.restartCount };
  }

  parse(request: PoolJob): Promise<PoolAnswer> {
    if (this.closed) return Promise.reject(closedError());
    if (this.retiring) return Promise.reject(new PoolUnavailable('the parse pool is being retired'));
    if (this.unavailableReason !== undefined)
      return Promise.reject(new PoolUnavailable(this.unavailableReason));
    const { busy, queued } = this.stats();
    if (busy + queued >= this.settings.workers + this.settings.maxQueued) {
      return Promise.reject(
        new SwitchyardError(
          'OVERLOADED',
          `every manifest parse worker is busy and ${this.settings.maxQueued} parses wait already; retry shortly`,
          {
            details: {
              retryAfter: FULL_RETRY_AFTER_S,
              limit: this.settings.maxQueued,
              key: 'limits.parse.maxQueued',
            },
          },
        ),
      );
    }
    return new Promise<PoolAnswer>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, resolve, reject });
      this.pump();
    });
  }

  /** Takes no new parse; those in flight or waiting finish, then every thread ends. */
  async retire(): Promise<void> {
    this.retiring = true;
    const { busy, queued } = this.stats();
    if (busy + queued > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    await this.close();
  }

  /** Fails every parse in flight or waiting, and ends every thread. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(closedError());
    for (const resolve of this.drained.splice(0)) resolve();
    for (const t of this.threads) {
      const job = this.release(t);
      job?.reject(closedError());
      this.end(t, 'retire');
    }
    await Promise.all([...this.exited]);
  }

  /** Hands waiting parses to idle threads, and starts the threads that are needed. */
  private pump(): void {
    if (this.drained.length > 0) {
      const { busy, queued } = this.stats();
      if (busy + queued === 0) for (const resolve of this.drained.splice(0)) resolve();
    }
    if (this.closed || this.unavailableReason !== undefined) return;
    for (const t of this.threads) {
      if (this.queue.length === 0) break;
      if (t.ready && t.job === undefined && t.stopping === undefined && this.keeps(t))
        this.assign(t, this.queue.shift() as Job);
    }
    // Threads start on demand, up to the size; a replacement keeps a started pool at its size.
    let idle = 0;
    let live = 0;
    for (const t of this.threads) {
      if (t.stopping !== undefined || !this.keeps(t)) continue;
      live++;
      if (t.job === undefined) idle++;
    }
    while (live < this.settings.workers && idle < this.queue.length) {
      this.spawn();
      live++;
      idle++;
    }
  }

  /** A thread this pool keeps: of the current heap setting, and within the size. */
  private keeps(t: Thread): boolean {
    if (t.generation !== this.generation) return false;
    let rank = 0;
    for (const other of this.threads) {
      if (other === t) break;
      if (other.stopping === undefined && other.generation === this.generation) rank++;
    }
    return rank < this.settings.workers;
  }

  private spawn(): void {
    const worker = new Worker(this.entry.script, {
      ...this.entry.options,
      resourceLimits: {
        maxOldGenerationSizeMb: Math.max(1, Math.floor(this.settings.workerHeapBytes / MIB)),
      },
    });
    worker.unref();
    const t: Thread = {
      worker,
      generation: this.generation,
      ready: false,
      job: undefined,
      timer: undefined,
      stopping: undefined,
      error: undefined,
    };
    this.threads.add(t);
    worker.on('message', (msg: WorkerMessage) => this.onMessage(t, msg));
    worker.on('error', (err) => {
      t.error = err;
    });
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.exited.delete(exited);
        this.onExit(t, code);
        resolve();
      });
    });
    this.exited.add(exited);
  }

  private assign(t: Thread, job: Job): void {
    t.job = job;
    t.worker.ref();
    t.timer = setTimeout(() => this.expire(t), this.settings.timeoutMs);
    const message: ParseRequest = { id: job.id, ...job.request };
    t.worker.postMessage(message);
  }

  /** The thread's parse, detached from it (timer cleared, thread unref'd). */
  private release(t: Thread): Job | undefined {
    const job = t.job;
    clearTimeout(t.timer);
    t.timer = undefined;
    t.job = undefined;
    t.worker.unref();
    return job;
  }

  private onMessage(t: Thread, msg: WorkerMessage): void {
    if (msg.type === 'ready') {
      t.ready = true;
      this.startFailures = 0;
      this.pump();
      return;
    }
    if (t.job?.id !== msg.id) return;
    const job = this.release(t) as Job;
    if (msg.type === 'parsed') job.resolve({ packed: msg.packed, parseMs: msg.parseMs });
    else job.reject(fromWireError(msg.error));
    if (!this.keeps(t)) this.end(t, 'retire');
    this.pump();
  }

  private expire(t: Thread): void {
    const job = this.release(t);
    if (job === undefined) return;
    const limit = this.settings.timeoutMs;
    // Counted now, before the parse is answered: whoever sees the answer sees the restart.
    this.restartCount++;
    this.events.onRestart?.('timeout', `a parse ran past ${limit} ms`);
    job.reject(
      new SwitchyardError(
        'MANIFEST_TOO_COMPLEX',
        `manifest too complex: its parse took longer than ${limit} ms (limits.parse.timeout)`,
        { details: { limit, key: 'limits.parse.timeout' } },
      ),
    );
    this.end(t, 'timeout');
  }

  private end(t: Thread, why: 'timeout' | 'retire'): void {
    if (t.stopping !== undefined) return;
    t.stopping = why;
    // terminate() settles with the exit code; the 'exit' handler does the bookkeeping.
    t.worker.terminate().catch(() => undefined);
  }

  private onExit(t: Thread, code: number): void {
    this.threads.delete(t);
    const job = this.release(t);
    const oom = (t.error as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const reason: RestartReason | undefined =
      t.stopping === 'timeout' ? 'timeout' : t.stopping === 'retire' ? undefined : oom ? 'oom' : 'crash';
    if (job !== undefined) job.reject(this.crashError(oom, t.error, code));
    if (this.closed) return;
    if (!t.ready && t.stopping === undefined) {
      // Died before it could take a parse: a thread that cannot start, not a manifest that killed it.
      if (++this.startFailures >= START_FAILURES) {
        this.unavailableReason = `manifest parse threads do not start: ${t.error?.message ?? `exit code ${code}`}`;
        for (const waiting of this.queue.splice(0))
          waiting.reject(new PoolUnavailable(this.unavailableReason));
        this.events.onUnavailable?.(this.unavailableReason);
        this.pump();
        return;
      }
    }
    if (reason !== undefined) {
      if (reason !== 'timeout') {
        this.restartCount++;
        this.events.onRestart?.(reason, t.error?.message ?? `exit code ${code}`);
      }
      // Replace it now, so the next big manifest does not wait for a thread to start.
      if (!this.retiring && this.threads.size < this.settings.workers) this.spawn();
    }
    this.pump();
  }

  private crashError(oom: boolean, error: Error | undefined, code: number): SwitchyardError {
    if (oom) {
      const limit = this.settings.workerHeapBytes;
      return new SwitchyardError(
        'MANIFEST_TOO_COMPLEX',
        `manifest too complex: parsing it needs more than ${limit} bytes of heap (limits.parse.workerHeapBytes)`,
        { details: { limit, key: 'limits.parse.workerHeapBytes' } },
      );
    }
    return new SwitchyardError('INTERNAL', 'manifest parse worker crashed', {
      cause: error ?? new Error(`exit code ${code}`),
    });
  }
}

function closedError(): SwitchyardError {
  return new SwitchyardError('OVERLOADED', 'Switchyard is shutting down; retry shortly', {
    details: { retryAfter: FULL_RETRY_AFTER_S },
  });
}
