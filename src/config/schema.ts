import { z } from 'zod';
import { duration } from '../duration';
import { authSchema } from '../signing/config';
import { fraction } from './fraction';
import { DEFAULT_MANIFEST_LIMITS } from '../manifest/limits';

/**
 * Sessions one process remembers by default (`state.maxSessions`; src/state/session-memory.ts). A
 * record costs about 200 bytes; the memory must hold every session still playing, or a session
 * evicted between two reloads loses its switch points, and a move would re-list its segments on the
 * new CDN.
 */
export const DEFAULT_MAX_SESSIONS = 250_000;

/**
 * `streams[].steering.startupTtl`: a player asks for its first steering manifest while it loads, and
 * shaka-player (4.16 to 5.2) throws at a steering reload that comes before playback has started
 * (`ContentSteeringManager.addQueryParams_` asks a not-yet-created AbrManager for its bandwidth), after
 * which it never reloads again. A first answer lives at least this long, which covers start-up.
 */
export const DEFAULT_STEERING_STARTUP_TTL = 5_000;

/** Defaults of `limits.parse` (the worker count defaults to 'auto'). */
export const DEFAULT_PARSE_SETTINGS = Object.freeze({
  workers: 'auto' as const,
  offThreadBytes: 128 * 1024,
  maxQueued: 16,
  timeout: 10_000,
  workerHeapBytes: 256 * 1024 * 1024,
});

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const id = (what: string) =>
  z
    .string()
    .regex(
      ID,
      `expected a ${what} id of letters, digits, "-" or "_" (at most 64), starting with a letter or digit`,
    );

const httpBase = (what: string) =>
  z
    .string()
    .refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
      } catch {
        return false;
      }
    }, `expected an absolute http(s) ${what} URL without query or fragment`)
    .refine(
      (s) => s.endsWith('/'),
      `the ${what} URL must end with "/" (it is a base that paths are appended to)`,
    );

const healthFields = {
  /** Path probed on each CDN, relative to its baseUrl. */
  path: z.string(),
  interval: duration,
  timeout: duration,
  /** Consecutive successes that make an unhealthy CDN healthy again. */
  rise: z.number().int().min(1),
  /** Consecutive failures that make a healthy CDN unhealthy. */
  fall: z.number().int().min(1),
  /** HTTP statuses below this count as success. */
  maxStatus: z.number().int().min(200).max(600),
};

const healthSchema = z.strictObject({
  path: healthFields.path.default('/'),
  interval: healthFields.interval.default(2000),
  timeout: healthFields.timeout.default(1000),
  rise: healthFields.rise.default(2),
  fall: healthFields.fall.default(2),
  maxStatus: healthFields.maxStatus.default(400),
});

/**
 * Per-CDN overrides hold only what is written: `healthSchema.partial()` would fill in its defaults and
 * so override the global `health` settings the runtime merges these over.
 */
const healthOverrideSchema = z.strictObject(healthFields).partial();

/** First path segments Switchyard routes itself; a stream cannot use them as its id. */
export const RESERVED_STREAM_IDS: ReadonlySet<string> = new Set([
  's',
  'seg',
  'admin',
  'healthz',
  'readyz',
  'metrics',
  'ui',
  'favicon.ico',
  'cmcd',
]);

export const PATH_PLACEHOLDER = '{path}';

const cdnSchema = z.strictObject({
  id: id('CDN'),
  baseUrl: httpBase('CDN base'),
  weight: z.number().min(0).default(1),
  /**
   * Where a segment lives on this CDN, relative to baseUrl: `{stream}` is the stream id, `{path}` the
   * segment's path under the stream's origin (with its query). `{path}` must come last.
   */
  pathTemplate: z
    .string()
    .default('{stream}/{path}')
    .refine(
      (t) =>
        t.endsWith(PATH_PLACEHOLDER) && t.indexOf(PATH_PLACEHOLDER) === t.length - PATH_PLACEHOLDER.length,
      'expected a template ending in {path}, e.g. "{stream}/{path}" or "vod/{path}"',
    ),
  tags: z.record(z.string(), z.string()).default({}),
  health: healthOverrideSchema.optional(),
  /** URL signing (token authentication) this CDN requires; see README "CDN token authentication". */
  auth: authSchema.optional(),
});

const count = (max: number) => z.number().int().min(1).max(max);
const manifestLimitsSchema = z.strictObject({
  maxLines: count(100_000_000).default(DEFAULT_MANIFEST_LIMITS.maxLines),
  maxSegments: count(100_000_000).default(DEFAULT_MANIFEST_LIMITS.maxSegments),
  maxVariants: count(1_000_000).default(DEFAULT_MANIFEST_LIMITS.maxVariants),
  maxLineLength: count(100_000_000).default(DEFAULT_MANIFEST_LIMITS.maxLineLength),
  maxElements: count(100_000_000).default(DEFAULT_MANIFEST_LIMITS.maxElements),
  // Deeper nesting than a few thousand levels would overflow the recursive walk's stack.
  maxDepth: count(1_000).default(DEFAULT_MANIFEST_LIMITS.maxDepth),
  maxAttributes: count(1_000_000).default(DEFAULT_MANIFEST_LIMITS.maxAttributes),
  maxBaseUrls: count(1_000_000).default(DEFAULT_MANIFEST_LIMITS.maxBaseUrls),
});

/**
 * Where manifests are parsed (src/parse-pool): big ones in worker threads, so their parse never holds
 * the event loop every other viewer waits on; small ones inline (a thread round trip costs more).
 */
const parseSchema = z.strictObject({
  /** Parse threads: auto is one per core beyond the first (at most 4); 0 parses everything inline. */
  workers: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
  /** Manifests of at least this many characters (bytes, for ASCII text) are parsed in a thread. */
  offThreadBytes: z.number().int().min(0).default(DEFAULT_PARSE_SETTINGS.offThreadBytes),
  /** Parses waiting for a thread at most; past it, 503 OVERLOADED with Retry-After. */
  maxQueued: z.number().int().min(0).max(10_000).default(DEFAULT_PARSE_SETTINGS.maxQueued),
  /** Time budget of one parse in a thread: past it the thread is terminated, 502 MANIFEST_TOO_COMPLEX. */
  timeout: duration
    .refine((ms) => ms >= 1, 'expected a parse time budget of at least 1ms')
    .default(DEFAULT_PARSE_SETTINGS.timeout),
  /** V8 heap of one parse thread (bytes); a parse that needs more: 502 MANIFEST_TOO_COMPLEX. */
  workerHeapBytes: z
    .number()
    .int()
    .min(16 * 1024 * 1024)
    .max(64 * 1024 * 1024 * 1024)
    .default(DEFAULT_PARSE_SETTINGS.workerHeapBytes),
});

const keysSchema = z.strictObject({
  /** origin: keys load from the origin URL; cdn: from the chosen CDN; server: from `server`. */
  via: z.enum(['origin', 'cdn', 'server']).default('origin'),
  /** Base URL of a key server; a key at `<origin base><p>` loads from `<server><p>`. */
  server: httpBase('key server').optional(),
});

const streamSchema = z.strictObject({
  id: id('stream'),
  origin: httpBase('origin'),
  /**
   * rewrite: segment URIs point straight at the chosen CDN (switch at playlist reloads);
   * redirect: segment URIs point at Switchyard, which 302s to the CDN chosen at that moment;
   * steering: Content Steering — one pathway per CDN, Switchyard serves the steering manifest.
   */
  mode: z.enum(['rewrite', 'redirect', 'steering']).default('rewrite'),
  /**
   * manifest: masters and MPDs also offer the other CDNs, ranked for the session (HLS redundant
   * variants pinned per CDN, DASH BaseURLs with serviceLocation and dvb:priority), so players move at
   * the first failed segment; none: one CDN per manifest; auto: manifest for DASH (every player in
   * the matrix reads the extra BaseURLs or ignores them), none for HLS (clients that read every
   * variant, e.g. ffmpeg -map 0, would fetch each copy). Steering mode lists every CDN anyway.
   */
  failover: z.enum(['auto', 'manifest', 'none']).default('auto'),
  /**
   * LL-HLS: the least PART-HOLD-BACK Switchyard writes in the stream's media playlists (players in
   * low-latency mode keep that much buffer): a duration; auto: 2s where players fall back inside the
   * player (failover: manifest, steering mode), else the origin's; origin: always the origin's. It
   * only ever raises the origin's value.
   */
  partHoldBack: z
    .union([
      z.enum(['auto', 'origin']),
      duration.refine((ms) => ms >= 1 && ms <= 60_000, 'expected a PART-HOLD-BACK from 1ms to 60s'),
    ])
    .default('auto'),
  steering: z
    .strictObject({
      /** How long a player keeps a steering manifest before asking again. */
      ttl: duration.default(10_000),
      /**
       * The least TTL of a session's first steering answer when the request names no pathway yet (a
       * player still starting up): shaka-player stops steering for good when its first reload comes
       * before playback has started. Never lowers `ttl`.
       */
      startupTtl: duration
        .refine((ms) => ms >= 0 && ms <= 60_000, 'expected a startup TTL from 0s to 60s')
        .default(DEFAULT_STEERING_STARTUP_TTL),
      /**
       * DASH: ContentSteering@queryBeforeStart, whether players fetch the steering manifest before
       * their first segment; unset keeps the origin MPD's own value (false when it has none).
       */
      queryBeforeStart: z.boolean().optional(),
    })
    .default({ ttl: 10_000, startupTtl: DEFAULT_STEERING_STARTUP_TTL }),
  keys: keysSchema.default({ via: 'origin' }),
  /**
   * Query parameters of player requests forwarded to the origin (and part of the cache key), besides
   * the LL-HLS directives; every other parameter is dropped. E.g. ["token"] for a signed origin.
   */
  originQuery: z
    .array(z.string().regex(/^[A-Za-z0-9_.~-]{1,64}$/, 'expected a query parameter name'))
    .max(32)
    .default([]),
});

export const ROLLOUT_METRICS = ['segment_error_rate', 'rebuffer_ratio', 'manifest_error_rate'] as const;

const guardSchema = z
  .strictObject({
    /**
     * segment_error_rate: failed / requested segments (QoE signals: CMCD, CMSD); rebuffer_ratio:
     * rebuffering / playing time (QoE signals); manifest_error_rate: Switchyard's 5xx manifest answers.
     */
    metric: z.enum(ROLLOUT_METRICS),
    /** The canary's value may be at most this multiple of the control arm's. */
    max_ratio: z.number().positive().optional(),
    /** The canary's value may be at most this. */
    max: z.number().min(0).optional(),
    /** Below this the control value counts as this for max_ratio (a ratio to zero is no evidence). */
    floor: z.number().positive().default(0.001),
  })
  .refine((g) => g.max_ratio !== undefined || g.max !== undefined, 'expected max_ratio or max (or both)');

const rolloutSchema = z
  .strictObject({
    /** A full config file (validated like the live one), relative to this config's folder. */
    candidate: z.string().min(1),
    /** Share of sessions in the canary at the start. */
    share: fraction.default(0.05),
    guards: z.array(guardSchema).default([]),
    /** Sessions each arm needs in a metric before its guard gives a verdict. */
    minSessions: z.number().int().min(1).default(200),
    /** How often the guards are evaluated (an abort happens at the first evaluation that fails). */
    interval: duration.default(10_000),
    /** Each step lasts `every` and advances only on a passing verdict; after the last, promotion. */
    step: z
      .strictObject({
        every: duration,
        to: z.array(fraction).min(1, 'expected at least one share'),
      })
      .optional(),
    /** automatic: a failed guard aborts the rollout; manual: it is flagged and an operator decides. */
    rollback: z.enum(['automatic', 'manual']).default('automatic'),
    /** Where promotion writes the candidate's text (e.g. the live config file itself). */
    writeTo: z.string().min(1).optional(),
  })
  .superRefine((r, ctx) => {
    const to = r.step?.to ?? [];
    to.forEach((share, i) => {
      if (i > 0 && share < (to[i - 1] as number))
        ctx.addIssue({
          code: 'custom',
          path: ['step', 'to', i],
          message: 'expected shares that never decrease',
        });
    });
    if (to.length > 0 && (to[0] as number) < r.share)
      ctx.addIssue({
        code: 'custom',
        path: ['step', 'to', 0],
        message: `expected a first step of at least share (${r.share})`,
      });
  });

export const configSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * Processes serving the port (node:cluster): a number, or "auto" for one per CPU. With more
         * than one, the primary process probes health, watches the config and coordinates the workers.
         */
        workers: z
          .union([
            z.number().int().min(1, 'expected at least 1 worker').max(256, 'expected at most 256 workers'),
            z.literal('auto'),
          ])
          .default(1),
      })
      .default({ host: '127.0.0.1', port: 8080, workers: 1 }),
    /** Absolute base URL players reach Switchyard at; default: root-relative URIs in manifests. */
    publicUrl: httpBase('public').optional(),
    secrets: z
      .array(z.string().min(16, 'expected a secret of at least 16 characters'))
      .min(1, 'expected at least one secret (the first signs, all verify)'),
    session: z.strictObject({ maxAge: duration.default(24 * 3_600_000) }).default({ maxAge: 24 * 3_600_000 }),
    streams: z.array(streamSchema).min(1, 'expected at least one stream'),
    cdns: z.array(cdnSchema).min(1, 'expected at least one CDN'),
    /**
     * A built-in `{ type: NAME, ...options }` or a custom `{ module: PATH, options: {...} }`. The policy
     * registry checks the rest (options, CDN ids, nested policies) and reports each problem by its path.
     */
    policy: z
      .looseObject({ type: z.string().optional(), module: z.string().optional() })
      .superRefine((p, ctx) => {
        if (p.type === undefined && p.module === undefined) {
          ctx.addIssue({
            code: 'custom',
            message:
              'expected { type: NAME, ...options } (a built-in policy) or { module: PATH, options: {...} } (a custom one)',
          });
        }
      })
      .default({ type: 'weighted' }),
    health: healthSchema.default({
      path: '/',
      interval: 2000,
      timeout: 1000,
      rise: 2,
      fall: 2,
      maxStatus: 400,
    }),
    cache: z
      .strictObject({
        maxEntries: z.number().int().min(1).default(10_000),
        /** Byte budget of the manifest cache (estimated size of parsed manifests); LRU past it. */
        maxBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(256 * 1024 * 1024),
        /** TTL of master playlists. */
        masterTtl: duration.default(30_000),
        /** TTL of VOD (ENDLIST) media playlists. */
        vodTtl: duration.default(300_000),
        /** How long a stale copy may be served while the origin fails. */
        maxStale: duration.default(30_000),
        /** How long to wait before asking a failing origin again. */
        errorRetry: duration.default(1_000),
      })
      .default({
        maxEntries: 10_000,
        maxBytes: 256 * 1024 * 1024,
        masterTtl: 30_000,
        vodTtl: 300_000,
        maxStale: 30_000,
        errorRetry: 1_000,
      }),
    origin: z
      .strictObject({
        connectTimeout: duration.default(2_000),
        headersTimeout: duration.default(5_000),
        bodyTimeout: duration.default(5_000),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .default(8 * 1024 * 1024),
        maxRedirects: z.number().int().min(0).max(10).default(3),
        /**
         * Origins on loopback, private (RFC 1918), link-local, unique-local or CGNAT addresses are
         * refused (checked on the address actually connected, so DNS cannot smuggle one in) unless
         * this is true: set it when the origin really is on a private network (the fixtures, the demo).
         */
        allowPrivateAddresses: z.boolean().default(false),
        /** Origin fetches in flight per origin (scheme://host:port); more wait their turn. */
        maxConcurrent: z.number().int().min(1).max(10_000).default(64),
        /**
         * LL-HLS blocking reloads in flight per origin, in a pool of their own: held reloads never take
         * the slots that plain reloads and masters need.
         */
        maxBlocking: z.number().int().min(1).max(10_000).default(32),
        /** Per-origin circuit breaker: fail fast (stale copies still served) while an origin is dead. */
        breaker: z
          .strictObject({
            /** Consecutive transient failures (unreachable, timeout, 5xx) that open the circuit. */
            failures: z.number().int().min(1).default(5),
            /** How long the circuit stays open before one probe fetch is let through. */
            coolDown: duration.default(5_000),
          })
          .default({ failures: 5, coolDown: 5_000 }),
      })
      .default({
        connectTimeout: 2_000,
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
        maxBodyBytes: 8 * 1024 * 1024,
        maxRedirects: 3,
        allowPrivateAddresses: false,
        maxConcurrent: 64,
        maxBlocking: 32,
        breaker: { failures: 5, coolDown: 5_000 },
      }),
    /** Bounds on what one client, one connection or one request may cost (see README, Security). */
    limits: z
      .strictObject({
        /** LL-HLS blocking reloads one client address may have in flight at once (then 429). */
        blockingPerClient: z.number().int().min(1).max(100_000).default(16),
        /** Structure one manifest may have (src/manifest/limits.ts); past it, 502 MANIFEST_TOO_COMPLEX. */
        manifest: manifestLimitsSchema.default(DEFAULT_MANIFEST_LIMITS),
        /** Parse worker threads for big manifests (README, Security and operations). */
        parse: parseSchema.default(DEFAULT_PARSE_SETTINGS),
        /** Requests one connection may have waiting for their answers (pipelining); more closes it. */
        maxPipelined: z.number().int().min(1).max(10_000).default(16),
        /** Answer bytes one connection may leave unread before a new request on it closes it. */
        maxUnreadBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .default(8 * 1024 * 1024),
        /** Socket timeouts, read at start: request headers, the whole request, idle keep-alive. */
        headersTimeout: duration.default(10_000),
        requestTimeout: duration.default(30_000),
        keepAliveTimeout: duration.default(65_000),
        /** A connection that moves no bytes for this long while it owes output is closed. */
        idleTimeout: duration.default(30_000),
        /**
         * Heap bytes (process.memoryUsage().heapUsed) above which new manifest work (new sessions,
         * origin fetches) is shed with 503 OVERLOADED + Retry-After; default 85% of V8's heap limit.
         */
        heapBudget: z.number().int().min(1).optional(),
      })
      .default({
        blockingPerClient: 16,
        manifest: DEFAULT_MANIFEST_LIMITS,
        parse: DEFAULT_PARSE_SETTINGS,
        maxPipelined: 16,
        maxUnreadBytes: 8 * 1024 * 1024,
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 65_000,
        idleTimeout: 30_000,
      })
      .refine((l) => l.requestTimeout === 0 || l.headersTimeout <= l.requestTimeout, {
        message: 'limits.headersTimeout must not be longer than limits.requestTimeout',
        path: ['headersTimeout'],
      }),
    cors: z.strictObject({ allowOrigin: z.string().default('*') }).default({ allowOrigin: '*' }),
    /** Operator API under /admin/*: off unless a bearer token is configured. */
    admin: z
      .strictObject({
        token: z.string().min(16, 'expected an admin token of at least 16 characters').optional(),
        /** Serve /admin/* on its own listener instead of the player-facing one. */
        listen: z
          .strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535) })
          .optional(),
      })
      .default({}),
    /**
     * Prometheus `/metrics`. On the separate admin listener it is open unless `token` is set; on the
     * player-facing listener it needs `Authorization: Bearer` with `token`, else the admin token, and
     * is off when neither is configured (operational data is not for the open internet).
     */
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        token: z.string().min(16, 'expected a metrics token of at least 16 characters').optional(),
      })
      .default({ enabled: true }),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** One info line per player request (event "access"): session, stream, CDN, status, bytes, ms. */
        access: z.boolean().default(false),
      })
      .default({ level: 'info', access: false }),
    /**
     * Where instances share health verdicts, drains, selection shares, session memory, the volume
     * ledger and config versions. `memory`: this process only (one instance, nothing to run).
     * `redis`: every instance with the same url and keyPrefix forms one fleet. Read at start.
     */
    state: z
      .strictObject({
        backend: z.enum(['memory', 'redis']).default('memory'),
        url: z
          .string()
          .regex(/^rediss?:\/\/[^\s]+$/, 'expected a redis:// or rediss:// URL')
          .default('redis://127.0.0.1:6379'),
        /** Prefix of every key and channel; a hash tag like "{switchyard}:" keeps them on one Cluster slot. */
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_:{}.-]{1,64}$/, 'expected up to 64 letters, digits or _ : { } . -')
          .default('switchyard:'),
        /** `url` is one seed node of a Redis Cluster. */
        cluster: z.boolean().default(false),
        /** How often local mirrors are refreshed from the store (pub/sub pushes changes sooner). */
        syncInterval: duration.default(1_000),
        /** How often queued writes (counters, sessions) are sent, batched. */
        flushInterval: duration.default(200),
        /** Longest a store command may take before the instance goes on without it. */
        commandTimeout: duration.default(500),
        connectTimeout: duration.default(2_000),
        /**
         * Sessions each process remembers (CDN, dwell, switch points), the least recently seen
         * forgotten first: at least every session still playing on it (a cluster worker hears of every
         * session of the machine). About 200 bytes each.
         */
        maxSessions: z.number().int().min(1_000).max(10_000_000).default(DEFAULT_MAX_SESSIONS),
      })
      .default({
        backend: 'memory',
        url: 'redis://127.0.0.1:6379',
        keyPrefix: 'switchyard:',
        cluster: false,
        syncInterval: 1_000,
        flushInterval: 200,
        commandTimeout: 500,
        connectTimeout: 2_000,
        maxSessions: DEFAULT_MAX_SESSIONS,
      }),
    /**
     * QoE from CMCD (players) and CMSD (CDNs): how signals are aggregated per CDN x (country, ASN), and
     * the event-mode reporting endpoint `POST /cmcd` (see README, QoE signals).
     */
    qoe: z
      .strictObject({
        /** Length of one aggregation window. */
        window: duration.default(30_000),
        /** Windows an estimate covers (the current one included). */
        windows: z.number().int().min(1).max(20).default(2),
        /** Fewest sessions before a CDN's QoE estimate is given (below it, no score moves). */
        minSessions: z.number().int().min(1).default(20),
        /** Distinct sessions one address may vote for per window (event mode: the player picks sid). */
        sessionsPerClient: z.number().int().min(1).default(4),
        /** Sessions echoing a CDN's CMSD duress before the fleet treats that CDN as under duress. */
        duressMinSessions: z.number().int().min(1).default(3),
        /** A report with measured throughput below bitrate x this counts as bad. */
        throughputMargin: z.number().positive().default(1),
        /** Request headers (lower case) carrying the viewer's country and ASN; the first present wins. */
        geoHeaders: z
          .strictObject({
            country: z
              .array(z.string().min(1))
              .default(['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code']),
            asn: z.array(z.string().min(1)).default(['cloudfront-viewer-asn', 'x-asn']),
          })
          .default({
            country: ['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code'],
            asn: ['cloudfront-viewer-asn', 'x-asn'],
          }),
        /** CMCD event mode: `POST /cmcd` (or `/s/<session token>/cmcd`), body `application/cmcd`. */
        events: z
          .strictObject({
            enabled: z.boolean().default(true),
            /** Largest body accepted (then 413). */
            maxBodyBytes: z
              .number()
              .int()
              .min(256)
              .max(1024 * 1024)
              .default(64 * 1024),
            /** Reports (lines) read from one body; the rest are ignored and said so. */
            maxReports: z.number().int().min(1).max(10_000).default(200),
            /** Sustained reports (POSTs) per second one address may send (then 429). */
            ratePerClient: z.number().positive().max(10_000).default(10),
            /** Reports one address may send at once above the rate. */
            burst: z.number().int().min(1).max(100_000).default(30),
          })
          .default({ enabled: true, maxBodyBytes: 64 * 1024, maxReports: 200, ratePerClient: 10, burst: 30 }),
      })
      .default({
        window: 30_000,
        windows: 2,
        minSessions: 20,
        sessionsPerClient: 4,
        duressMinSessions: 3,
        throughputMargin: 1,
        geoHeaders: {
          country: ['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code'],
          asn: ['cloudfront-viewer-asn', 'x-asn'],
        },
        events: { enabled: true, maxBodyBytes: 64 * 1024, maxReports: 200, ratePerClient: 10, burst: 30 },
      }),
    /**
     * The decision log (README "Decision log"): which decisions are recorded and where. The recent
     * window in memory is what `POST /admin/whatif` replays; `file` and `redis` keep them.
     */
    decisions: z
      .strictObject({
        /** Fraction of sessions (by session id) whose every decision is recorded; switches always are. */
        sample: fraction.default(0.01),
        /** Decisions kept in memory, newest last (0: none). */
        recent: z.number().int().min(0).max(1_000_000).default(10_000),
        /** How often recorded decisions are written out, batched. */
        flushInterval: duration.default(1_000),
        /** JSON Lines, rotated by size: FILE → FILE.1 → … → FILE.<keep>. */
        file: z
          .strictObject({
            path: z.string().min(1),
            maxBytes: z
              .number()
              .int()
              .min(64 * 1024, 'expected at least 65536 bytes')
              .default(64 * 1024 * 1024),
            keep: z.number().int().min(0).max(100).default(5),
          })
          .optional(),
        /** A Redis stream (state.backend: redis), capped with XADD MAXLEN ~. */
        redis: z
          .strictObject({
            /** Key after state.keyPrefix. */
            stream: z
              .string()
              .regex(/^[A-Za-z0-9_:{}.-]{1,64}$/, 'expected up to 64 letters, digits or _ : { } . -')
              .default('decisions'),
            maxLen: z.number().int().min(100).max(100_000_000).default(100_000),
          })
          .optional(),
      })
      .default({ sample: 0.01, recent: 10_000, flushInterval: 1_000 }),
    /**
     * A canary rollout of a candidate config (README "Canary rollout"): a share of sessions, by
     * rendezvous hash of the session id, gets the candidate's decisions; guards compare the arms and a
     * failed one rolls the canary back.
     */
    rollout: rolloutSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    const dup = (items: { id: string }[], key: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.id))
          ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id "${item.id}"` });
        seen.add(item.id);
      });
    };
    dup(cfg.streams, 'streams');
    dup(cfg.cdns, 'cdns');
    if (cfg.state.cluster && !hasHashTag(cfg.state.keyPrefix)) {
      // Redis Cluster runs a multi-key pipeline only when every key hashes to one slot.
      ctx.addIssue({
        code: 'custom',
        path: ['state', 'keyPrefix'],
        message: `state.cluster needs a {hash tag} in keyPrefix so every key lands on one slot (e.g. "{switchyard}:"), got "${cfg.state.keyPrefix}"`,
      });
    }
    cfg.streams.forEach((s, i) => {
      if (s.keys.via === 'server' && !s.keys.server) {
        ctx.addIssue({
          code: 'custom',
          path: ['streams', i, 'keys', 'server'],
          message: 'keys.via "server" needs keys.server',
        });
      }
    });
    if (cfg.decisions.redis && cfg.state.backend !== 'redis') {
      ctx.addIssue({
        code: 'custom',
        path: ['decisions', 'redis'],
        message: 'decisions.redis writes to the state store: it needs state.backend: redis',
      });
    }
    cfg.streams.forEach((s, i) => {
      if (RESERVED_STREAM_IDS.has(s.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['streams', i, 'id'],
          message: `stream id "${s.id}" is reserved for Switchyard's own routes`,
        });
      }
    });
  });

/** Where a stream's segments live on a CDN: `<cdn baseUrl><pathTemplate before {path}>`. */
export function cdnPrefix(cdn: { baseUrl: string; pathTemplate: string }, streamId: string): string {
  const beforePath = cdn.pathTemplate.slice(0, -PATH_PLACEHOLDER.length).replaceAll('{stream}', streamId);
  return cdn.baseUrl + beforePath.replace(/^\//, '');
}

export type Config = z.output<typeof configSchema>;
export type StreamConfig = Config['streams'][number];
export type CdnConfig = Config['cdns'][number];
export type HealthConfig = Config['health'];
export type RolloutConfig = NonNullable<Config['rollout']>;
export type GuardConfig = RolloutConfig['guards'][number];
export type RolloutMetric = GuardConfig['metric'];

/** Whether a Redis key prefix holds a hash tag: a `{`, then a non-empty run, then the first `}` after it. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}
