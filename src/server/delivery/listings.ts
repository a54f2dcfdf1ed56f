import { LRUCache } from 'lru-cache';

/*
 * When each version of a live media playlist was first rendered on this instance, and the newest
 * media sequence number (segment, or segment in progress with parts) it listed. A session that
 * leaves a CDN was last given a manifest at a known time; the versions rendered up to then bound what
 * it can hold, so its switch point need not keep segments it never saw on the CDN it left (a dead
 * one, in a failover). One entry per playlist version, not per session: nothing on the hot path.
 */

interface Entry {
  readonly at: number;
  readonly lastMsn: number;
}

interface History {
  /** Ascending by `at`. */
  readonly entries: Entry[];
  /** Once trimmed: the time of the newest entry dropped (nothing is known before it). */
  knownSince: number;
  trimmed: boolean;
}

/** Versions kept per playlist: far more than the reloads between a session's two requests. */
const VERSIONS = 64;

export class ListingHistory {
  private readonly playlists: LRUCache<string, History>;

  constructor(maxPlaylists = 10_000) {
    this.playlists = new LRUCache<string, History>({ max: maxPlaylists });
  }

  /** A version of playlist `key` rendered for the first time at `at`, listing up to `lastMsn`. */
  note(key: string, at: number, lastMsn: number): void {
    let h = this.playlists.get(key);
    if (!h) {
      h = { entries: [], knownSince: at, trimmed: false };
      this.playlists.set(key, h);
    }
    const last = h.entries[h.entries.length - 1];
    // Out of order (a slower render of an older version): keep the list ascending by time.
    const entry = { at: last !== undefined && at < last.at ? last.at : at, lastMsn };
    h.entries.push(entry);
    if (h.entries.length > VERSIONS) {
      const dropped = h.entries.shift() as Entry;
      h.knownSince = dropped.at;
      h.trimmed = true;
    }
  }

  /**
   * The newest msn that any rendering of `key` up to time `seen` listed; null when none had been
   * rendered by then; undefined when this instance cannot tell (no history that far back).
   */
  listedBy(key: string, seen: number): number | null | undefined {
    const h = this.playlists.get(key);
    if (!h) return undefined;
    if (h.trimmed && seen < h.knownSince) return undefined;
    let newest: number | null = null;
    for (const e of h.entries) {
      if (e.at > seen) break;
      if (newest === null || e.lastMsn > newest) newest = e.lastMsn;
    }
    // Trimmed: the dropped versions were all at or before knownSince ≤ seen, and listed no more than
    // the versions kept after them (a live window only moves forward); an empty result is unknown.
    if (newest === null && h.trimmed) return undefined;
    return newest;
  }
}
