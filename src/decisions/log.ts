import { inSample, type DecisionRecord } from './record';

/** Where batches of JSON lines go (a file, a Redis stream). */
export interface DecisionSink {
  readonly name: string;
  /** Newline-terminated JSON lines; rejects when the batch was not stored. */
  write(lines: string): Promise<void>;
  close(): Promise<void>;
}

export interface DecisionLogOptions {
  /** Fraction of sessions whose every decision is recorded (switches are always recorded). */
  readonly sample: number;
  /** Decisions kept in memory, newest last (what `POST /admin/whatif` replays). */
  readonly recent: number;
  /** How often pending lines go to the sinks. */
  readonly flushIntervalMs: number;
  /** Lines waiting for the sinks beyond which new ones are dropped (a stuck disk must not grow memory). */
  readonly maxPending?: number;
  /** After each batch a sink took or refused: for metrics. */
  readonly onBatch?: (sink: string, ok: boolean, records: number) => void;
}

const DEFAULT_MAX_PENDING = 20_000;

/**
 * The decision log: which decisions to keep (sampling), the recent window in memory, and batched
 * writes to the configured sinks. `record` is on the request path: it only pushes; serialising and I/O
 * happen on the flush timer.
 */
export class DecisionLog {
  private ring: DecisionRecord[] = [];
  private pending: DecisionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Records dropped because the sinks fell behind. */
  dropped = 0;
  /** Records taken since start. */
  recorded = 0;

  constructor(
    private options: DecisionLogOptions,
    private sinks: readonly DecisionSink[] = [],
  ) {}

  get sample(): number {
    return this.options.sample;
  }

  /** Whether this decision goes in the log: its session is sampled, or it moved the session. */
  wants(sessionId: string, switched: boolean): boolean {
    return switched || inSample(sessionId, this.options.sample);
  }

  sampled(sessionId: string): boolean {
    return inSample(sessionId, this.options.sample);
  }

  record(record: DecisionRecord): void {
    this.recorded++;
    if (this.options.recent > 0) {
      this.ring.push(record);
      // Trimmed in chunks: one splice per ~10% of the window instead of one shift per record.
      if (this.ring.length > this.options.recent * 1.1 + 10)
        this.ring.splice(0, this.ring.length - this.options.recent);
    }
    if (this.sinks.length === 0) return;
    if (this.pending.length >= (this.options.maxPending ?? DEFAULT_MAX_PENDING)) {
      this.dropped++;
      return;
    }
    this.pending.push(record);
  }

  /** The recent window, oldest first (a copy). */
  recent(): DecisionRecord[] {
    const n = this.options.recent;
    return this.ring.length > n ? this.ring.slice(this.ring.length - n) : [...this.ring];
  }

  /** New settings and sinks (a config reload); the old sinks are flushed and closed. */
  async reconfigure(options: DecisionLogOptions, sinks: readonly DecisionSink[] | undefined): Promise<void> {
    const restart = this.timer !== undefined && options.flushIntervalMs !== this.options.flushIntervalMs;
    this.options = options;
    if (this.ring.length > options.recent) this.ring.splice(0, this.ring.length - options.recent);
    if (restart) {
      this.stop();
      this.start();
    }
    if (sinks === undefined) return;
    // New records go to the new sinks from now on; what is pending still goes to the old ones.
    const old = this.sinks;
    const pending = this.pending;
    this.pending = [];
    this.sinks = sinks;
    this.flushing = this.flushing.then(() => this.write(pending, old));
    await this.flushing;
    await Promise.all(old.map((s) => s.close().catch(() => undefined)));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends what is pending to every sink; resolves when they answered (never rejects). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    await this.write(batch, this.sinks);
  }

  private async write(batch: readonly DecisionRecord[], sinks: readonly DecisionSink[]): Promise<void> {
    if (batch.length === 0 || sinks.length === 0) return;
    let lines = '';
    for (const r of batch) lines += JSON.stringify(r) + '\n';
    await Promise.all(
      sinks.map((sink) =>
        sink.write(lines).then(
          () => this.options.onBatch?.(sink.name, true, batch.length),
          () => {
            this.dropped += batch.length;
            this.options.onBatch?.(sink.name, false, batch.length);
          },
        ),
      ),
    );
  }

  async close(): Promise<void> {
    this.stop();
    await this.flush();
    await Promise.all(this.sinks.map((s) => s.close().catch(() => undefined)));
    this.sinks = [];
  }
}
