import { z } from 'zod';
import { unitHash } from '../policy/hash';
import type { CdnView, Selection, SelectionRequest } from '../policy/types';

/**
 * The decision log's line format. Bump the version on any change that is not a new optional field;
 * readers (`switchyard decisions`, `switchyard whatif`) accept every version they know and report
 * lines of other versions as unreadable. README "Decision log" documents each field.
 */
export const DECISION_SCHEMA_VERSION = 1;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const cdnViewSchema = z.object({
  id: z.string(),
  healthy: z.boolean(),
  weight: z.number(),
  share: z.number(),
  errorRate: z.number(),
  latencyMs: z.number().nullable(),
  tags: z.record(z.string(), z.string()).optional(),
  /** QoE score of the CDN (share of voting sessions that did not suffer, 0..1), when enough voted. */
  qoe: z.number().optional(),
});

export const decisionRecordSchema = z.object({
  v: z.literal(DECISION_SCHEMA_VERSION),
  /** When the decision was made: ISO 8601, UTC, milliseconds. */
  at: z.string().refine((s) => Number.isFinite(Date.parse(s)), 'expected an ISO 8601 time'),
  session: z.string(),
  stream: z.string(),
  protocol: z.enum(['hls', 'dash']),
  live: z.boolean(),
  /** Whether the decision placed segments (a media playlist, a redirect) or only informed (a master). */
  places: z.boolean(),
  /** In the sample (true), or recorded only because the session switched CDN (false). */
  sampled: z.boolean(),
  /** The fraction of sessions sampled when it was recorded. */
  rate: z.number().min(0).max(1),
  /** The live config's version on the instance that decided. */
  config: z.number().int(),
  policy: z.string(),
  /** The rollout arm the session was in, when a canary rollout ran. */
  arm: z.enum(['control', 'canary']).optional(),
  client: z.object({
    country: z.string().optional(),
    region: z.string().optional(),
    asn: z.string().optional(),
    uaFamily: z.string().optional(),
    userAgent: z.string().optional(),
    /** The request headers the policies route on (geo headers), lower-case names. */
    headers: z.record(z.string(), z.string()).optional(),
    cmcd: z.record(z.string(), scalar).optional(),
  }),
  /** The CDN the session was on before this decision, when known. */
  previous: z.string().optional(),
  cdns: z.array(cdnViewSchema),
  cdn: z.string(),
  reason: z.string(),
  ranked: z.array(z.string()).optional(),
  switched: z.object({ from: z.string(), to: z.string() }).optional(),
  /** Media this decision sends to `cdn` (estimated as for the cost ledger). */
  delivery: z.object({ mediaSeconds: z.number(), bitrateBps: z.number() }).optional(),
});

export type DecisionRecord = z.output<typeof decisionRecordSchema>;
export type RecordedCdnView = DecisionRecord['cdns'][number];

/**
 * Whether a session is in the sample: a property of the session id (the same on every instance and at
 * every reload), so a sampled session's decisions are all in the log and replays see whole sessions.
 */
export function inSample(sessionId: string, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return unitHash(sessionId, 0x5e1ec7) < rate;
}

export interface RecordContext {
  readonly request: SelectionRequest;
  readonly selection: Selection;
  readonly places: boolean;
  readonly sampled: boolean;
  readonly rate: number;
  readonly configVersion: number;
  readonly policy: string;
  readonly arm?: 'control' | 'canary';
  /** Lower-case names of the headers worth keeping (what the policies route on). */
  readonly headerNames: readonly string[];
  readonly delivery?: { readonly mediaSeconds: number; readonly bitrateBps: number };
  /** QoE score per CDN (0..1) where one is known. */
  readonly qoe?: ReadonlyMap<string, number>;
}

const MAX_UA = 256;
const MAX_HEADER_VALUE = 128;

/** One decision as the log keeps it (pure). */
export function decisionRecord(ctx: RecordContext): DecisionRecord {
  const { request, selection } = ctx;
  const headers: Record<string, string> = {};
  let kept = 0;
  for (const name of ctx.headerNames) {
    const value = request.client.headers?.[name];
    if (typeof value === 'string' && value !== '') {
      headers[name] = value.slice(0, MAX_HEADER_VALUE);
      kept++;
    }
  }
  const ua = request.client.userAgent;
  const geo = geoOf(headers);
  const previous = request.session.previous ?? selection.switched?.from;
  return {
    v: DECISION_SCHEMA_VERSION,
    at: new Date(request.now).toISOString(),
    session: request.session.id,
    stream: request.stream.id,
    protocol: request.stream.protocol,
    live: request.stream.live,
    places: ctx.places,
    sampled: ctx.sampled,
    rate: ctx.rate,
    config: ctx.configVersion,
    policy: ctx.policy,
    ...(ctx.arm === undefined ? {} : { arm: ctx.arm }),
    client: {
      ...geo,
      ...(ua === undefined ? {} : { uaFamily: userAgentFamily(ua), userAgent: ua.slice(0, MAX_UA) }),
      ...(kept === 0 ? {} : { headers }),
      ...(request.client.cmcd === undefined ? {} : { cmcd: { ...request.client.cmcd } }),
    },
    ...(previous === undefined ? {} : { previous }),
    cdns: request.cdns.map((v) => recordedView(v, ctx.qoe?.get(v.id))),
    cdn: selection.cdn,
    reason: selection.reason,
    ...(selection.ranked === undefined ? {} : { ranked: [...selection.ranked] }),
    ...(selection.switched === undefined
      ? {}
      : { switched: { from: selection.switched.from, to: selection.switched.to } }),
    ...(ctx.delivery === undefined ? {} : { delivery: { ...ctx.delivery } }),
  };
}

function recordedView(v: CdnView, qoe: number | undefined): RecordedCdnView {
  return {
    id: v.id,
    healthy: v.healthy,
    weight: v.weight,
    share: round(v.share),
    errorRate: round(v.errorRate),
    latencyMs: v.latencyMs === null ? null : Math.round(v.latencyMs * 10) / 10,
    ...(Object.keys(v.tags).length === 0 ? {} : { tags: { ...v.tags } }),
    ...(qoe === undefined ? {} : { qoe: round(qoe) }),
  };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** The geo headers every built-in policy reads by default (the rules policy's `headers` defaults). */
export const GEO_HEADERS = {
  country: ['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code'],
  region: ['cloudfront-viewer-country-region', 'x-region'],
  asn: ['cloudfront-viewer-asn', 'x-asn'],
} as const;

function geoOf(headers: Readonly<Record<string, string>>): {
  country?: string;
  region?: string;
  asn?: string;
} {
  const first = (names: readonly string[]) => {
    for (const n of names) if (headers[n] !== undefined) return headers[n];
    return undefined;
  };
  const country = first(GEO_HEADERS.country);
  const region = first(GEO_HEADERS.region);
  const asn = first(GEO_HEADERS.asn);
  return {
    ...(country === undefined ? {} : { country: country.toUpperCase() }),
    ...(region === undefined ? {} : { region }),
    ...(asn === undefined ? {} : { asn: asn.replace(/^AS/i, '') }),
  };
}

/**
 * The headers a policy config routes on: the geo defaults plus every header a `rules` policy in it
 * names (its `headers` option), lower-cased. Walks nested policies.
 */
export function routedHeaders(policy: unknown): string[] {
  const names = new Set<string>([...GEO_HEADERS.country, ...GEO_HEADERS.region, ...GEO_HEADERS.asn]);
  const walk = (node: unknown, depth: number): void => {
    if (depth > 32 || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
      return;
    }
    const record = node as Record<string, unknown>;
    if (record.type === 'rules' && typeof record.headers === 'object' && record.headers !== null) {
      for (const list of Object.values(record.headers as Record<string, unknown>))
        if (Array.isArray(list)) for (const h of list) if (typeof h === 'string') names.add(h.toLowerCase());
    }
    for (const value of Object.values(record)) walk(value, depth + 1);
  };
  walk(policy, 0);
  return [...names];
}

const FAMILIES: readonly [RegExp, string][] = [
  [/AppleCoreMedia|AVPlayer/i, 'applecoremedia'],
  [/ExoPlayer|AndroidXMedia3/i, 'exoplayer'],
  [/Lavf|ffmpeg/i, 'ffmpeg'],
  [/VLC/i, 'vlc'],
  [/Roku/i, 'roku'],
  [/Tizen|Web0S|webOS|SMART-TV|SmartTV/i, 'smarttv'],
  [/Edg\//, 'edge'],
  [/Firefox\//, 'firefox'],
  [/Chrome\/|Chromium\//, 'chrome'],
  [/Safari\//, 'safari'],
  [/curl\//i, 'curl'],
];

/** A coarse, bounded family name for a User-Agent (for summaries; policies see the whole header). */
export function userAgentFamily(ua: string): string {
  for (const [re, name] of FAMILIES) if (re.test(ua)) return name;
  return 'other';
}

/**
 * Parses one line of a decision log: the record, or why not (bad JSON, another schema version, a
 * missing field) with the first problem's path.
 */
export function parseDecisionLine(line: string): DecisionRecord | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== DECISION_SCHEMA_VERSION)
    return {
      error: `schema version ${JSON.stringify((raw as { v: unknown }).v)} (this reader knows ${DECISION_SCHEMA_VERSION})`,
    };
  const parsed = decisionRecordSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return { error: `${issue?.path.join('.') || '(record)'}: ${issue?.message ?? 'invalid'}` };
}
