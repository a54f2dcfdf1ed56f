/**
 * The edge between requests and the QoE bus: turns the CMCD a request or an event report carried, and
 * the CMSD a CDN probe answered with, into QoeSignals (./observe) and publishes them on the bus. Knows
 * the config's CDNs (to tell which one a report is about) and geo headers; keeps, per session, the few
 * numbers that turn absolute player counters into deltas (bounded LRU).
 */
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema';
import type { CmcdPayload } from './cmcd';
import type { CmsdReading } from './cmsd';
import { geoOf, type GeoHeaders } from './geo';
import { signalFromCmcd, type SessionMarks } from './observe';
import type { QoeSignal, QoeSignalBus } from './signals';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Longest player-chosen session id kept (CMCD `sid`: a GUID, at most 64 characters by the spec). */
const MAX_SID = 128;
const MARKS_MAX = 100_000;
const MARKS_TTL_MS = 10 * 60_000;

export interface ReaderDeps {
  readonly bus: QoeSignalBus;
  /** The CDN a session is on, from session memory (for reports that do not name it). */
  readonly sessionCdn: (sessionId: string, now: number) => string | undefined;
}

export interface RequestReport {
  readonly at: number;
  readonly payload: CmcdPayload;
  readonly via: 'query' | 'header';
  readonly carrier: 'manifest' | 'segment';
  /** Switchyard's session id (from the signed token, or the one just minted). */
  readonly sessionId: string;
  /** The CDN the session was on when it sent this (before this request's decision). */
  readonly cdn: string | undefined;
  readonly headers: Headers;
}

export interface EventReport {
  readonly at: number;
  readonly reports: readonly CmcdPayload[];
  /** Switchyard's session id when the report URL carried a valid session token. */
  readonly sessionId?: string;
  readonly headers: Headers;
  /** The sender's address. */
  readonly client: string;
}

export class QoeReader {
  private geo: GeoHeaders;
  private cdnIds = new Set<string>();
  /** `scheme://host:port` of each CDN's base URL, and bare host names that only one CDN uses. */
  private byOrigin = new Map<string, string>();
  private byHost = new Map<string, string>();
  private readonly marks = new LRUCache<string, SessionMarks>({
    max: MARKS_MAX,
    ttl: MARKS_TTL_MS,
    ttlAutopurge: false,
  });
  /** Signals published, by source (for /metrics). */
  readonly published: Record<QoeSignal['source'], number> = {
    'cmcd-query': 0,
    'cmcd-header': 0,
    'cmcd-event': 0,
    cmsd: 0,
    server: 0,
  };

  constructor(
    private readonly deps: ReaderDeps,
    config: Config,
  ) {
    this.geo = config.qoe.geoHeaders;
    this.configure(config);
  }

  /** The CDNs and geo headers of a (re)loaded config. */
  configure(config: Config): void {
    this.geo = config.qoe.geoHeaders;
    this.cdnIds = new Set(config.cdns.map((c) => c.id));
    this.byOrigin = new Map();
    const hosts = new Map<string, string | null>();
    for (const c of config.cdns) {
      const u = new URL(c.baseUrl);
      this.byOrigin.set(u.origin, c.id);
      hosts.set(u.hostname, hosts.has(u.hostname) ? null : c.id);
    }
    this.byHost = new Map(
      [...hosts].flatMap(([h, id]) => (id === null ? [] : [[h, id] as [string, string]])),
    );
  }

  /** CMCD that came with a playlist or redirect-mode segment request. */
  fromRequest(r: RequestReport): void {
    const geo = geoOf(r.headers, this.geo);
    const cdn = r.cdn ?? this.cdnNamed(r.payload);
    this.publish(r.payload, {
      at: r.at,
      source: r.via === 'query' ? 'cmcd-query' : 'cmcd-header',
      carrier: r.carrier,
      sessionId: r.sessionId,
      ...(cdn === undefined ? {} : { cdn }),
      ...geo,
    });
  }

  /** A batch of event-mode reports; returns how many signals it published. */
  fromEvents(r: EventReport): number {
    const geo = geoOf(r.headers, this.geo);
    let published = 0;
    for (const payload of r.reports) {
      const sid =
        typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid.slice(0, MAX_SID) : undefined;
      // A signed session is Switchyard's own id; otherwise the player's sid, limited per address.
      const sessionId = r.sessionId ?? (sid === undefined ? undefined : `cmcd:${sid}`);
      const cdn =
        this.cdnNamed(payload) ??
        (r.sessionId !== undefined ? this.deps.sessionCdn(r.sessionId, r.at) : undefined);
      this.publish(payload, {
        at: r.at,
        source: 'cmcd-event',
        carrier: 'event',
        ...(sessionId === undefined ? {} : { sessionId }),
        ...(cdn === undefined ? {} : { cdn }),
        ...geo,
        ...(r.sessionId === undefined ? { client: r.client } : {}),
      });
      published++;
    }
    return published;
  }

  /** CMSD a CDN sent on a health probe: duress and the server's own estimates, about that CDN. */
  fromProbe(cdn: string, at: number, cmsd: CmsdReading, latencyMs: number | null): void {
    const signal: QoeSignal = {
      at,
      source: 'cmsd',
      cdn,
      ...(cmsd.duress ? { duress: true } : {}),
      ...(cmsd.etp === undefined ? {} : { throughputKbps: cmsd.etp }),
      ...(latencyMs === null ? {} : { ttfbMs: Math.round(latencyMs) }),
    };
    this.published.cmsd++;
    this.deps.bus.publish(signal);
  }

  private publish(payload: CmcdPayload, ctx: Parameters<typeof signalFromCmcd>[1]): void {
    const key = ctx.sessionId;
    const previous = key === undefined ? undefined : this.marks.get(key);
    const { signal, marks } = signalFromCmcd(payload, ctx, previous);
    if (key !== undefined) this.marks.set(key, marks);
    this.published[signal.source]++;
    this.deps.bus.publish(signal);
  }

  /** The configured CDN a report names: CMCD `cdn` (an id), else the host of `url` or `h`. */
  private cdnNamed(payload: CmcdPayload): string | undefined {
    const named = payload.cdn;
    if (typeof named === 'string' && this.cdnIds.has(named)) return named;
    const url = payload.url;
    if (typeof url === 'string' && url.length <= 4096) {
      try {
        const u = new URL(url);
        const id = this.byOrigin.get(u.origin) ?? this.byHost.get(u.hostname);
        if (id !== undefined) return id;
      } catch {
        // a relative or malformed url names no CDN
      }
    }
    const h = payload.h;
    if (typeof h === 'string') {
      const host = h.replace(/:\d+$/, '');
      return this.byOrigin.get(`http://${h}`) ?? this.byOrigin.get(`https://${h}`) ?? this.byHost.get(host);
    }
    return undefined;
  }
}
