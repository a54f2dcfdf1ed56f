/**
 * QoE per CDN x (country, ASN) in fixed windows of wall-clock time, robust to abuse:
 * - one session, one vote per window and key: a session that suffered at all in a window votes bad
 *   once, however many reports it sends; its counts (requests, errors, rebuffering, playing) are capped
 *   at what one real player can do in a window;
 * - an address that reports for many sessions (event mode, where the session id is the player's own
 *   `sid`) votes for at most `sessionsPerClient` of them per window;
 * - consumers see no score below `minSessions` voters (see QoeEstimate).
 * Instances share their own tallies (absolute, per window) through the state store and read the sum
 * of everyone's: see src/state. A session whose reports reach two instances in one window votes on
 * each (at most once per instance).
 */
import { hasDeliveryData, isBad } from './observe';
import type { QoeSignal } from './signals';

export interface QoeWindowSettings {
  /** Length of one window, ms. */
  readonly windowMs: number;
  /** How many of the newest windows (the current one included) an estimate covers. */
  readonly windows: number;
  /** Fewest voters before an estimate is given at all. */
  readonly minSessions: number;
  /** Distinct sessions one sender address may vote for per window (event mode). */
  readonly sessionsPerClient: number;
  /** Voters kept per key and window (more are not counted). */
  readonly maxSessionsPerKey: number;
  /** Keys (CDN x country x ASN) kept per window. */
  readonly maxKeys: number;
  /** A report with throughput below bitrate x margin is bad. */
  readonly throughputMargin: number;
  /** Player-echoed duress (CMSD `du` in CMCD `cmsdd`) needs this many sessions to mark a CDN. */
  readonly duressMinSessions: number;
}

export const DEFAULT_QOE_WINDOWS: QoeWindowSettings = {
  windowMs: 30_000,
  windows: 2,
  minSessions: 20,
  sessionsPerClient: 4,
  maxSessionsPerKey: 50_000,
  maxKeys: 5_000,
  throughputMargin: 1,
  duressMinSessions: 3,
};

/** What a key's voters say over a window (or summed over several windows and instances). */
export interface Tally {
  sessions: number;
  bad: number;
  requests: number;
  errors: number;
  rebufferMs: number;
  playMs: number;
  /** Sessions that echoed duress (CMSD `du`) from this CDN. */
  duress: number;
}

export interface QoeEstimate extends Readonly<Tally> {
  /** Which key answered: the viewer's ASN, its country, or the CDN as a whole. */
  readonly scope: 'asn' | 'country' | 'all';
  /** Share of voters that did not suffer, 0..1. */
  readonly goodShare: number;
  /** Failed segment requests / segment requests (0 without requests). */
  readonly errorRate: number;
  /** Rebuffering / (rebuffering + playing) time (0 without either). */
  readonly rebufferRatio: number;
}

/** What one instance publishes: its own tallies per window index and key. */
export interface QoeSnapshot {
  readonly windowMs: number;
  readonly windows: Readonly<Record<string, Readonly<Record<string, Tally>>>>;
}

interface Vote {
  /** Counted in the tally's sessions (it carried delivery data, not only a duress echo). */
  counted: boolean;
  bad: boolean;
  duress: boolean;
  requests: number;
  errors: number;
  rebufferMs: number;
  playMs: number;
}

interface KeyWindow {
  readonly tally: Tally;
  readonly voters: Map<string, Vote>;
}

interface Window {
  readonly index: number;
  readonly keys: Map<string, KeyWindow>;
  /** Sender address -> sessions it voted for. */
  readonly clients: Map<string, Set<string>>;
}

/** Most segment requests one session counts per second of window (a player fetches a few per second at most). */
const REQUESTS_PER_SECOND = 10;
const PLAYBACK_RATE = 4;

const emptyTally = (): Tally => ({
  sessions: 0,
  bad: 0,
  requests: 0,
  errors: 0,
  rebufferMs: 0,
  playMs: 0,
  duress: 0,
});

/** The key of a CDN and viewer location; `*` stands for unknown or "any". */
export function qoeKey(cdn: string, country?: string, asn?: number): string {
  return `${cdn}|${country ?? '*'}|${asn ?? '*'}`;
}

/** The keys one signal votes under: the CDN as a whole, its country, and its country and ASN. */
export function keysOf(s: QoeSignal): string[] {
  if (s.cdn === undefined) return [];
  const keys = [qoeKey(s.cdn)];
  if (s.country !== undefined) keys.push(qoeKey(s.cdn, s.country));
  if (s.asn !== undefined) keys.push(qoeKey(s.cdn, s.country, s.asn));
  return keys;
}

export interface QoeCounters {
  /** Signals that voted. */
  votes: number;
  /** Signals refused by the per-address limit. */
  refusedClient: number;
  /** Signals refused because a key or window was full. */
  refusedFull: number;
}

/**
 * This instance's windows plus the peers' last snapshots. record() is synchronous and cheap (a few map
 * updates); estimates sum the covered windows on demand.
 */
export class QoeAggregates {
  private settings: QoeWindowSettings;
  private readonly own = new Map<number, Window>();
  private readonly peers = new Map<string, QoeSnapshot>();
  private dirty = false;
  readonly counters: QoeCounters = { votes: 0, refusedClient: 0, refusedFull: 0 };

  constructor(settings: Partial<QoeWindowSettings> = {}) {
    this.settings = { ...DEFAULT_QOE_WINDOWS, ...settings };
  }

  get windowSettings(): QoeWindowSettings {
    return this.settings;
  }

  /** New settings (a config reload); a new window length starts the tallies afresh. */
  configure(settings: Partial<QoeWindowSettings>): void {
    const next = { ...DEFAULT_QOE_WINDOWS, ...settings };
    if (next.windowMs !== this.settings.windowMs) {
      this.own.clear();
      this.peers.clear();
    }
    this.settings = next;
  }

  /** Counts one signal (it votes only when it has a session, a CDN and delivery data). */
  record(s: QoeSignal): void {
    if (s.sessionId === undefined || s.cdn === undefined) return;
    if (!hasDeliveryData(s) && s.duress !== true) return;
    const w = this.window(s.at);
    if (s.client !== undefined) {
      let voted = w.clients.get(s.client);
      if (!voted) {
        if (w.clients.size >= this.settings.maxSessionsPerKey) {
          this.counters.refusedFull++;
          return;
        }
        voted = new Set();
        w.clients.set(s.client, voted);
      }
      if (!voted.has(s.sessionId)) {
        if (voted.size >= this.settings.sessionsPerClient) {
          this.counters.refusedClient++;
          return;
        }
        voted.add(s.sessionId);
      }
    }
    const delivery = hasDeliveryData(s);
    const bad = delivery && isBad(s, this.settings.throughputMargin);
    let counted = false;
    for (const key of keysOf(s)) {
      let kw = w.keys.get(key);
      if (!kw) {
        if (w.keys.size >= this.settings.maxKeys) continue;
        kw = { tally: emptyTally(), voters: new Map() };
        w.keys.set(key, kw);
      }
      let vote = kw.voters.get(s.sessionId);
      if (!vote) {
        if (kw.voters.size >= this.settings.maxSessionsPerKey) continue;
        vote = {
          counted: false,
          bad: false,
          duress: false,
          requests: 0,
          errors: 0,
          rebufferMs: 0,
          playMs: 0,
        };
        kw.voters.set(s.sessionId, vote);
      }
      this.apply(kw.tally, vote, s, delivery, bad);
      counted = true;
    }
    if (counted) {
      this.counters.votes++;
      this.dirty = true;
    } else this.counters.refusedFull++;
  }

  private apply(t: Tally, v: Vote, s: QoeSignal, delivery: boolean, bad: boolean): void {
    const { windowMs } = this.settings;
    if (delivery && !v.counted) {
      v.counted = true;
      t.sessions++;
    }
    if (bad && !v.bad) {
      v.bad = true;
      t.bad++;
    }
    if (s.duress === true && !v.duress) {
      v.duress = true;
      t.duress++;
    }
    const maxRequests = Math.max(1, Math.ceil((windowMs / 1000) * REQUESTS_PER_SECOND));
    const add = (
      field: 'requests' | 'errors' | 'rebufferMs' | 'playMs',
      amount: number | undefined,
      cap: number,
    ) => {
      if (amount === undefined || !(amount > 0)) return;
      const next = Math.min(cap, v[field] + amount);
      t[field] += next - v[field];
      v[field] = next;
    };
    add('requests', s.segmentRequests, maxRequests);
    add('errors', s.segmentErrors, v.requests);
    add('rebufferMs', s.rebufferMs, windowMs);
    add('playMs', s.playMs, windowMs * PLAYBACK_RATE);
  }

  private window(at: number): Window {
    const index = Math.floor(at / this.settings.windowMs);
    let w = this.own.get(index);
    if (!w) {
      w = { index, keys: new Map(), clients: new Map() };
      this.own.set(index, w);
      const oldest = index - this.settings.windows + 1;
      for (const i of [...this.own.keys()]) if (i < oldest) this.own.delete(i);
    }
    return w;
  }

  /** The tallies of `key` over the covered windows, this instance's and every peer's. */
  tally(key: string, now: number): Tally {
    const { windowMs, windows } = this.settings;
    const current = Math.floor(now / windowMs);
    const sum = emptyTally();
    const addTally = (t: Readonly<Tally> | undefined) => {
      if (!t) return;
      sum.sessions += t.sessions;
      sum.bad += t.bad;
      sum.requests += t.requests;
      sum.errors += t.errors;
      sum.rebufferMs += t.rebufferMs;
      sum.playMs += t.playMs;
      sum.duress += t.duress;
    };
    for (let i = current - windows + 1; i <= current; i++) {
      addTally(this.own.get(i)?.keys.get(key)?.tally);
      for (const peer of this.peers.values())
        if (peer.windowMs === windowMs) addTally(peer.windows[String(i)]?.[key]);
    }
    return sum;
  }

  /**
   * The most specific estimate with at least `minSessions` voters for a CDN seen from a viewer's
   * country and ASN: ASN, then country, then the CDN as a whole; undefined without enough evidence.
   */
  estimate(cdn: string, now: number, country?: string, asn?: number): QoeEstimate | undefined {
    const tries: [QoeEstimate['scope'], string][] = [];
    if (country !== undefined && asn !== undefined) tries.push(['asn', qoeKey(cdn, country, asn)]);
    if (country !== undefined) tries.push(['country', qoeKey(cdn, country)]);
    tries.push(['all', qoeKey(cdn)]);
    for (const [scope, key] of tries) {
      const t = this.tally(key, now);
      if (t.sessions >= this.settings.minSessions) return toEstimate(t, scope);
    }
    return undefined;
  }

  /** Whether enough sessions echoed the CDN's duress (CMSD `du`) in the covered windows. */
  duress(cdn: string, now: number): boolean {
    return this.tally(qoeKey(cdn), now).duress >= this.settings.duressMinSessions;
  }

  /** Every key with voters in the covered windows (for /admin/qoe and metrics). */
  keys(now: number): string[] {
    const { windowMs, windows } = this.settings;
    const current = Math.floor(now / windowMs);
    const out = new Set<string>();
    for (let i = current - windows + 1; i <= current; i++) {
      for (const key of this.own.get(i)?.keys.keys() ?? []) out.add(key);
      for (const peer of this.peers.values())
        if (peer.windowMs === windowMs)
          for (const key of Object.keys(peer.windows[String(i)] ?? {})) out.add(key);
    }
    return [...out].sort();
  }

  /** This instance's tallies to publish, or undefined when nothing was counted since the last call. */
  takeSnapshot(force = false): QoeSnapshot | undefined {
    if (!this.dirty && !force) return undefined;
    this.dirty = false;
    const windows: Record<string, Record<string, Tally>> = {};
    for (const [index, w] of this.own) {
      const keys: Record<string, Tally> = {};
      for (const [key, kw] of w.keys) keys[key] = { ...kw.tally };
      windows[String(index)] = keys;
    }
    return { windowMs: this.settings.windowMs, windows };
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** A peer's last snapshot (replacing what was known of it); malformed parts are ignored. */
  setPeer(id: string, snapshot: unknown): void {
    const parsed = parseSnapshot(snapshot);
    if (parsed) this.peers.set(id, parsed);
  }

  /** Keeps only the peers in `ids`. */
  retainPeers(ids: ReadonlySet<string>): void {
    for (const id of [...this.peers.keys()]) if (!ids.has(id)) this.peers.delete(id);
  }
}

export function toEstimate(t: Tally, scope: QoeEstimate['scope']): QoeEstimate {
  return {
    ...t,
    scope,
    goodShare: t.sessions > 0 ? (t.sessions - t.bad) / t.sessions : 1,
    errorRate: t.requests > 0 ? t.errors / t.requests : 0,
    rebufferRatio: t.rebufferMs + t.playMs > 0 ? t.rebufferMs / (t.rebufferMs + t.playMs) : 0,
  };
}

const TALLY_FIELDS = ['sessions', 'bad', 'requests', 'errors', 'rebufferMs', 'playMs', 'duress'] as const;
const MAX_PEER_KEYS = 20_000;

/** A snapshot from the store or IPC, checked field by field (peers' data is input like any other). */
export function parseSnapshot(v: unknown): QoeSnapshot | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { windowMs?: unknown; windows?: unknown };
  if (typeof o.windowMs !== 'number' || !(o.windowMs > 0)) return undefined;
  if (typeof o.windows !== 'object' || o.windows === null) return undefined;
  const windows: Record<string, Record<string, Tally>> = {};
  let count = 0;
  for (const [index, keys] of Object.entries(o.windows as Record<string, unknown>)) {
    if (!/^\d{1,15}$/.test(index) || typeof keys !== 'object' || keys === null) continue;
    const out: Record<string, Tally> = {};
    for (const [key, t] of Object.entries(keys as Record<string, unknown>)) {
      if (count++ >= MAX_PEER_KEYS) break;
      if (typeof t !== 'object' || t === null) continue;
      const tally = emptyTally();
      let ok = true;
      for (const f of TALLY_FIELDS) {
        const n = (t as Record<string, unknown>)[f];
        if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) ok = false;
        else tally[f] = n;
      }
      if (ok) out[key] = tally;
    }
    windows[index] = out;
  }
  return { windowMs: o.windowMs, windows };
}
