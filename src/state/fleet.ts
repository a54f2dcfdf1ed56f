import { createHash } from 'node:crypto';
import { SelectionShare, type SelectionCounter } from './share';
import { periodEnd, periodStart, type BillingPeriod, type VolumeLedger } from './ledger';
import {
  MAX_HANDOFFS,
  SessionMemory,
  type SessionHandoff,
  type SessionMemoryOptions,
  type SessionRecord,
} from './session-memory';
import type { InstanceInfo } from './types';

/*
 * The local mirrors of the shared state. Counters follow one rule: each instance writes only its own
 * totals, as absolute values under its own id, and reads the sum of the others'. A write that is
 * retried, or repeated after a reconnect, is harmless; nothing is counted twice or lost when Redis is
 * away (the instance's own totals keep growing locally and are written again when it is back).
 */

const DAY_MS = 86_400_000;

/** Selection shares over the fleet: this instance's decayed counts plus every peer's last snapshot. */
export class FleetShare implements SelectionCounter {
  readonly local: SelectionShare;
  private readonly peers = new Map<string, { at: number; counts: ReadonlyMap<string, number> }>();
  private dirty = true;

  constructor(halfLifeMs = 30_000, now = Date.now()) {
    this.local = new SelectionShare(halfLifeMs, now);
  }

  record(cdnId: string, now = Date.now()): void {
    this.local.record(cdnId, now);
    this.dirty = true;
  }

  /** A peer's counts as of `at` (they decay from there like ours). */
  setPeer(id: string, at: number, counts: ReadonlyMap<string, number>): void {
    this.peers.set(id, { at, counts });
  }

  /** Keeps only the peers in `ids` (the ones the store still lists). */
  retainPeers(ids: ReadonlySet<string>): void {
    for (const id of [...this.peers.keys()]) if (!ids.has(id)) this.peers.delete(id);
  }

  shares(now = Date.now()): Map<string, number> {
    const totals = this.local.counts(now);
    for (const peer of this.peers.values()) {
      const factor = Math.pow(0.5, Math.max(0, now - peer.at) / this.local.halfLifeMs);
      if (factor < 1e-6) continue;
      for (const [cdn, n] of peer.counts) totals.set(cdn, (totals.get(cdn) ?? 0) + n * factor);
    }
    let sum = 0;
    for (const n of totals.values()) sum += n;
    const out = new Map<string, number>();
    for (const [cdn, n] of totals) out.set(cdn, sum > 0 ? n / sum : 0);
    return out;
  }

  /** This instance's counts to publish, or undefined when nothing was recorded since the last call. */
  takeSnapshot(now: number, force = false): { at: number; counts: Record<string, number> } | undefined {
    if (!this.dirty && !force) return undefined;
    this.dirty = false;
    return { at: now, counts: Object.fromEntries(this.local.counts(now)) };
  }

  markDirty(): void {
    this.dirty = true;
  }
}

/** `2024-05-17` for the UTC day containing `at`: the key of one day's volume hash. */
export function dayKey(at: number): string {
  return new Date(periodStart('day', at)).toISOString().slice(0, 10);
}

/** The UTC days (as keys) of the billing period containing `at`, up to and including `at`'s day. */
export function daysOfPeriod(period: BillingPeriod, at: number): string[] {
  const out: string[] = [];
  const end = Math.min(periodEnd(period, at), periodStart('day', at) + DAY_MS);
  for (let d = periodStart(period, at); d < end; d += DAY_MS) out.push(dayKey(d));
  return out;
}

/**
 * Delivered volume over the fleet: own totals per (day, CDN), which this instance writes, plus the
 * peers' totals per (day, CDN) as last read. Days older than `keepDays` are dropped.
 */
export class FleetLedger implements VolumeLedger {
  private readonly own = new Map<string, Map<string, number>>();
  private readonly peers = new Map<string, ReadonlyMap<string, number>>();
  private readonly dirty = new Set<string>();

  constructor(private readonly keepDays = 40) {}

  add(cdn: string, bytes: number, at: number): void {
    if (!(bytes > 0) || !Number.isFinite(bytes)) return;
    const day = dayKey(at);
    let perCdn = this.own.get(day);
    if (!perCdn) {
      perCdn = new Map();
      this.own.set(day, perCdn);
      this.prune(at);
    }
    perCdn.set(cdn, (perCdn.get(cdn) ?? 0) + bytes);
    this.dirty.add(day);
  }

  delivered(cdn: string, period: BillingPeriod, at: number): number {
    let total = 0;
    for (const day of daysOfPeriod(period, at))
      total += (this.own.get(day)?.get(cdn) ?? 0) + (this.peers.get(day)?.get(cdn) ?? 0);
    return total;
  }

  /** The peers' totals for one day, replacing what was known. */
  setPeers(day: string, totals: ReadonlyMap<string, number>): void {
    this.peers.set(day, totals);
  }

  /** Own totals of the days changed since the last call (absolute values, to write as they are). */
  takeDirty(): { day: string; totals: Map<string, number> }[] {
    const out = [...this.dirty].flatMap((day) => {
      const totals = this.own.get(day);
      return totals ? [{ day, totals: new Map(totals) }] : [];
    });
    this.dirty.clear();
    return out;
  }

  /** Marks days to write again (after a failed write, or every own day after a reconnect). */
  markDirty(days: Iterable<string> = this.own.keys()): void {
    for (const d of days) if (this.own.has(d)) this.dirty.add(d);
  }

  private prune(at: number): void {
    const oldest = dayKey(at - this.keepDays * DAY_MS);
    for (const d of [...this.own.keys()]) if (d < oldest) this.own.delete(d);
    for (const d of [...this.peers.keys()]) if (d < oldest) this.peers.delete(d);
  }
}

export interface SessionWrite {
  readonly id: string;
  readonly record: SessionRecord;
  /** Whether peers should hear of it now (a new session or a changed CDN), not only the store. */
  readonly broadcast: boolean;
}

/**
 * Session memory whose changes go to the fleet. A new session or a CDN change is broadcast, so a
 * session's next request finds its CDN and dwell on whichever instance it reaches; a session that is
 * only seen again refreshes its stored TTL every quarter TTL. A local miss asks the store in the
 * background (`onMiss`), so a record a peer forgot is back for the session's next reload.
 */
export class SharedSessionMemory extends SessionMemory {
  override readonly exactSeen = false;
  private readonly outbox = new Map<string, SessionWrite>();
  private readonly writtenAt = new Map<string, number>();
  onMiss: (sessionId: string) => void = () => undefined;

  constructor(
    options: SessionMemoryOptions = {},
    private readonly maxPending = 50_000,
  ) {
    super(options);
  }

  override get(sessionId: string, now: number): SessionRecord | undefined {
    const rec = super.get(sessionId, now);
    if (rec === undefined) this.onMiss(sessionId);
    return rec;
  }

  override set(sessionId: string, record: SessionRecord): void {
    const prev = super.get(sessionId, record.seenAt);
    const changed =
      prev === undefined ||
      prev.cdn !== record.cdn ||
      prev.since !== record.since ||
      prev.handoffs !== record.handoffs;
    const written = this.writtenAt.get(sessionId);
    super.set(sessionId, record);
    if (changed || written === undefined || record.seenAt - written > this.ttlMs / 4) {
      const pending = this.outbox.get(sessionId);
      this.outbox.delete(sessionId);
      this.outbox.set(sessionId, {
        id: sessionId,
        record,
        broadcast: changed || pending?.broadcast === true,
      });
      this.writtenAt.delete(sessionId);
      this.writtenAt.set(sessionId, record.seenAt);
      this.bound();
    }
  }

  /** A record from a peer or the store: kept unless ours was seen more recently. */
  applyPeer(sessionId: string, record: SessionRecord): void {
    const ours = super.get(sessionId, record.seenAt);
    // Switch points are written once per playlist, maybe on different instances: keep them all.
    if (ours !== undefined && ours.seenAt > record.seenAt) {
      const handoffs = mergeHandoffs(ours.handoffs, record.handoffs);
      if (handoffs !== ours.handoffs) super.set(sessionId, { ...ours, handoffs: handoffs ?? [] });
      return;
    }
    const handoffs = mergeHandoffs(record.handoffs, ours?.handoffs);
    super.set(sessionId, handoffs === record.handoffs ? record : { ...record, handoffs: handoffs ?? [] });
    this.writtenAt.delete(sessionId);
    this.writtenAt.set(sessionId, record.seenAt);
    this.bound();
  }

  /** The writes queued since the last call, oldest first. */
  takeWrites(): SessionWrite[] {
    const out = [...this.outbox.values()];
    this.outbox.clear();
    return out;
  }

  /** Outbox and write marks stay bounded while the store is away (the oldest go first). */
  private bound(): void {
    for (const map of [this.outbox, this.writtenAt] as Map<string, unknown>[]) {
      while (map.size > this.maxPending) {
        const first = map.keys().next();
        if (first.done === true) break;
        map.delete(first.value);
      }
    }
  }
}

/**
 * `primary`'s handoffs with the switch points `other` knows for the same moves (same CDN and time)
 * added where `primary` has none (all of `other`'s when `primary` has none); `primary` itself when
 * that adds nothing.
 */
export function mergeHandoffs(
  primary: readonly SessionHandoff[] | undefined,
  other: readonly SessionHandoff[] | undefined,
): readonly SessionHandoff[] | undefined {
  if (!other || other.length === 0) return primary;
  if (!primary || primary.length === 0) return other;
  let out: SessionHandoff[] | undefined;
  primary.forEach((h, i) => {
    const same = other.find((o) => o.cdn === h.cdn && o.at === h.at);
    if (!same) return;
    const extra = Object.entries(same.points).filter(([k]) => h.points[k] === undefined);
    if (extra.length === 0) return;
    out ??= [...primary];
    out[i] = { ...h, points: { ...h.points, ...Object.fromEntries(extra) } };
  });
  return out ?? primary;
}

function parseHandoffs(v: unknown): SessionHandoff[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: SessionHandoff[] = [];
  for (const h of v.slice(0, MAX_HANDOFFS) as unknown[]) {
    if (typeof h !== 'object' || h === null) return undefined;
    const { cdn, at, points } = h as Record<string, unknown>;
    if (typeof cdn !== 'string' || typeof at !== 'number' || typeof points !== 'object' || points === null)
      return undefined;
    const clean: Record<string, number> = {};
    for (const [k, p] of Object.entries(points)) if (Number.isInteger(p)) clean[k] = p as number;
    out.push({ cdn, at, points: clean });
  }
  return out;
}

/** Parses a stored session record, or undefined when it is not one. */
export function parseSessionRecord(text: string | null | undefined): SessionRecord | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SessionRecord>;
    return typeof v.cdn === 'string' &&
      typeof v.since === 'number' &&
      typeof v.seenAt === 'number' &&
      typeof v.lastReason === 'string'
      ? {
          cdn: v.cdn,
          since: v.since,
          seenAt: v.seenAt,
          lastReason: v.lastReason,
          ...(v.handoffs === undefined ? {} : { handoffs: parseHandoffs(v.handoffs) ?? [] }),
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A short hash of a config, the same on every instance that applied the same config. Listen addresses
 * are left out (they may differ per instance); key order does not matter.
 */
export function configHash(config: Readonly<Record<string, unknown>>): string {
  const rest = Object.fromEntries(Object.entries(config).filter(([k]) => k !== 'listen' && k !== 'admin'));
  const admin = config.admin;
  const adminRest =
    typeof admin === 'object' && admin !== null
      ? Object.fromEntries(Object.entries(admin).filter(([k]) => k !== 'listen'))
      : admin;
  return createHash('sha256')
    .update(canonicalJson({ ...rest, admin: adminRest }))
    .digest('hex')
    .slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Instances with a heartbeat newer than `maxAgeMs`, and whether they all run the same config. */
export function liveInstances(
  all: Iterable<InstanceInfo>,
  now: number,
  maxAgeMs: number,
): { instances: InstanceInfo[]; configConsistent: boolean } {
  const instances = [...all]
    .filter((i) => now - i.seenAt <= maxAgeMs)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { instances, configConsistent: new Set(instances.map((i) => i.configHash)).size <= 1 };
}
