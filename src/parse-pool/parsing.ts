/**
 * Where a manifest is parsed: inline when it is small (a thread round trip costs more than the parse),
 * in the parse pool (./pool.ts) from `offThreadBytes` up, so a big manifest never holds the event loop.
 * Either way the result is the ParsedManifest parseManifest returns, and errors keep their codes.
 */
import { availableParallelism } from 'node:os';
import { SwitchyardError } from '../errors';
import { parseManifest, type ParsedManifest } from '../manifest/load';
import type { ManifestLimits } from '../manifest/limits';
import { ParsePool, PoolUnavailable, type PoolEvents, type PoolSettings, type PoolStats } from './pool';
import { parseWorkerEntry, type WorkerEntry } from './entry';
import { unpackManifest } from './wire';

export interface ParseSettings extends PoolSettings {
  /** 0: every manifest is parsed inline. */
  readonly workers: number;
  /** Manifests of at least this many characters (bytes, for ASCII text) are parsed in the pool. */
  readonly offThreadBytes: number;
}

/** `limits.parse.workers: auto`: one thread per core beyond the first, at most four. */
export function autoWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export type ParseWhere = 'inline' | 'worker';

export interface ParseObserver extends PoolEvents {
  /** A parse ended: `result` is 'ok' or the error code; `seconds` the parse's own time, when it ran. */
  parsed?(where: ParseWhere, result: string, seconds: number | undefined): void;
}

const NO_POOL: PoolStats = { workers: 0, busy: 0, queued: 0, restarts: 0 };

export class ManifestParsing {
  private pool: ParsePool | undefined;
  private restartsBefore = 0;
  private closed = false;

  constructor(
    private settings: ParseSettings,
    private readonly observer: ParseObserver = {},
    /** Where threads start (default: ./worker beside this module, resolved when first needed). */
    private readonly entry?: WorkerEntry,
  ) {}

  configure(settings: ParseSettings): void {
    this.settings = settings;
    if (this.pool === undefined) return;
    if (settings.workers === 0) {
      // Parses in flight or waiting finish in their threads; nothing new goes to the pool.
      const pool = this.pool;
      this.restartsBefore += pool.stats().restarts;
      this.pool = undefined;
      void pool.retire();
      return;
    }
    this.pool.configure(settings);
  }

  stats(): PoolStats {
    if (this.pool === undefined) return { ...NO_POOL, restarts: this.restartsBefore };
    const s = this.pool.stats();
    return { ...s, restarts: s.restarts + this.restartsBefore };
  }

  async parse(
    text: string,
    manifestUrl: string,
    originBase: string,
    contentType: string | undefined,
    limits: ManifestLimits,
    /** "Now" for a dynamic MPD's segment timeline: the server's clock, on either thread. */
    now: number = Date.now(),
  ): Promise<ParsedManifest> {
    const s = this.settings;
    if (s.workers > 0 && text.length >= s.offThreadBytes && !this.closed) {
      const pool = (this.pool ??= new ParsePool(s, this.observer, this.entry ?? parseWorkerEntry()));
      if (!pool.unavailable) {
        try {
          const answer = await pool.parse({ text, manifestUrl, originBase, contentType, limits, now });
          this.observer.parsed?.('worker', 'ok', answer.parseMs / 1000);
          return await unpackManifest(answer.packed);
        } catch (err) {
          if (!(err instanceof PoolUnavailable)) {
            this.observer.parsed?.('worker', codeOf(err), undefined);
            throw err;
          }
        }
      }
    }
    const started = performance.now();
    try {
      const parsed = parseManifest(text, manifestUrl, originBase, contentType, limits, now);
      this.observer.parsed?.('inline', 'ok', (performance.now() - started) / 1000);
      return parsed;
    } catch (err) {
      this.observer.parsed?.('inline', codeOf(err), (performance.now() - started) / 1000);
      throw err;
    }
  }

  /** Fails the parses in the pool and ends its threads; later parses run inline. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}

function codeOf(err: unknown): string {
  return err instanceof SwitchyardError ? err.code : 'INTERNAL';
}
