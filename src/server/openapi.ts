import { version } from '../version';

/**
 * OpenAPI 3.1 description of the operator API (/admin/*) and the health and metrics endpoints, served
 * at /admin/openapi.json. test/integration/admin-api.test.ts checks that every route adminRouter()
 * registers is described here and that every answer it gets validates against these schemas.
 */

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const dateTime: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const object = (properties: Record<string, Schema>, optional: readonly string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});

const json = (schema: Schema, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(ref('Error'), description);

const schemas: Record<string, Schema> = {
  Error: object({
    error: {
      ...object({ code: str, message: str, details: { type: 'object' } }, ['details']),
      description:
        'code is one of the catalogue in README "Errors"; details: extra facts, when there are any',
    },
  }),
  Switch: object({
    at: dateTime,
    session: str,
    stream: str,
    from: str,
    to: str,
    reason: {
      ...str,
      description:
        'Why: what was wrong with `from` ("a unhealthy: 2 probes failed: ECONNREFUSED", "a drained by alice"), then the policy\'s reason',
    },
    kind: { ...str, description: 'unhealthy, drained, or the first word of the policy reason' },
  }),
  Drain: nullable({
    ...object({ by: str, at: dateTime }),
    description: 'Who drained the CDN through this instance (X-Switchyard-Operator header) and when',
  }),
  Origin: object({ origin: str, state: { type: 'string', enum: ['closed', 'open', 'half-open'] } }),
  ConfigView: object({
    version: { ...int, description: 'Increases with every config applied by this process' },
    loadedAt: dateTime,
    source: nullable(str),
    lastError: nullable(object({ at: dateTime, message: str })),
    config: {
      type: 'object',
      description: 'The config in force, secrets and tokens replaced by "[redacted]"',
    },
  }),
  StateView: object({
    configVersion: int,
    policy: str,
    fleet: { type: 'object', description: 'This instance, its peers and the config hash each applied' },
    cdns: {
      type: 'array',
      items: object({
        id: str,
        baseUrl: str,
        weight: num,
        healthy: { ...bool, description: 'Healthy and not drained' },
        drained: bool,
        duress: { ...bool, description: 'CMSD duress on its last probe' },
        drainedBy: ref('Drain'),
        probeHealthy: nullable(bool),
        healthReason: nullable(str),
        errorRate: num,
        latencyMs: nullable(num),
        share: num,
        activeSessions: int,
        lastError: nullable(str),
        lastProbeAt: nullable(dateTime),
      }),
    },
    recentSwitches: { type: 'array', items: ref('Switch') },
  }),
  StatusView: object({
    at: { ...num, description: 'Server time, ms since the epoch' },
    configVersion: int,
    policy: str,
    activeWindowSeconds: {
      ...int,
      description: 'A session is active while it asked for a manifest this recently',
    },
    cdns: {
      type: 'array',
      items: object({
        id: str,
        healthy: bool,
        drained: bool,
        duress: { ...bool, description: 'CMSD duress on its last probe' },
        drainedBy: ref('Drain'),
        healthReason: nullable(str),
        activeSessions: { ...int, description: 'Sessions active on this CDN (last given it)' },
        sessionShare: { ...num, description: "This CDN's share of the active sessions, 0..1" },
        share: {
          ...num,
          description: 'Decayed share of recent segment-placing decisions, 0..1 (not of sessions)',
        },
        errorRate: num,
        latencyMs: nullable(num),
        weight: num,
      }),
    },
    history: {
      type: 'array',
      description: 'The last five minutes, oldest first, a sample every 2 s',
      items: object({
        at: num,
        cdns: { type: 'array', items: object({ id: str, sessions: int, share: num, healthy: bool }) },
      }),
    },
    cache: object({ hit: int, miss: int, coalesced: int, stale: int }),
    origins: { type: 'array', items: ref('Origin') },
    rollout: { type: ['object', 'null'], description: 'The rollout figures the status page draws' },
    recentSwitches: { type: 'array', items: ref('Switch') },
  }),
  QoeView: object({
    at: dateTime,
    windowMs: int,
    windows: int,
    minSessions: int,
    cdns: {
      type: 'array',
      description: 'Fleet-wide QoE per CDN over the covered windows (all viewers)',
      items: object({
        cdn: str,
        sessions: int,
        goodShare: num,
        errorRate: num,
        rebufferRatio: num,
        probeDuress: bool,
        echoedDuress: bool,
      }),
    },
    keys: {
      type: 'array',
      description: 'Per CDN x (country, ASN): the tallies the qoe policy reads',
      items: object({
        cdn: str,
        country: nullable(str),
        asn: nullable(int),
        sessions: int,
        bad: int,
        enough: bool,
        goodShare: num,
        segmentRequests: int,
        segmentErrors: int,
        errorRate: num,
        rebufferMs: num,
        playMs: num,
        rebufferRatio: num,
        duressSessions: int,
      }),
    },
    counters: { type: 'object', description: 'Votes taken and refused, signals published, bus failures' },
  }),
  RolloutAnswer: object({
    rollout: {
      type: ['object', 'null'],
      description: 'State, candidate, share, arms and their figures, history',
    },
  }),
  DrainResult: object({ id: str, drained: bool, by: str }),
  Readiness: object({
    status: { type: 'string', enum: ['ready', 'not ready'] },
    configVersion: int,
    healthyCdns: { type: 'array', items: str },
  }),
};

const bearer = [{ adminToken: [] }];
const cdnId = { name: 'id', in: 'path', required: true, schema: str, description: 'A configured CDN id' };
const authErrors = {
  '401': error('No or a wrong admin bearer token'),
  '404': error('The admin API is off (no admin.token configured)'),
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchyard operator API',
      version,
      description:
        'The admin API (/admin/*, bearer admin.token; on admin.listen when configured) and the health and metrics endpoints. Every error is { "error": { "code", "message", "details"? } }.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'admin.token from the config' },
      },
      schemas,
    },
    paths: {
      '/admin/openapi.json': {
        get: {
          summary: 'This document',
          description: 'Served without a token while the admin API is on.',
          responses: {
            '200': json({ type: 'object' }, 'The OpenAPI 3.1 document'),
            '404': authErrors['404'],
          },
        },
      },
      '/admin/config': {
        get: {
          summary: 'The config in force (redacted), its version and the last rejected reload',
          security: bearer,
          responses: { '200': json(ref('ConfigView'), 'The config'), ...authErrors },
        },
      },
      '/admin/state': {
        get: {
          summary: 'CDN health, drains, shares, the fleet and recent switches',
          security: bearer,
          responses: { '200': json(ref('StateView'), 'The state'), ...authErrors },
        },
      },
      '/admin/status': {
        get: {
          summary: 'What the status page (/ui) polls every second',
          security: bearer,
          responses: { '200': json(ref('StatusView'), 'The status'), ...authErrors },
        },
      },
      '/admin/qoe': {
        get: {
          summary: 'QoE from players (CMCD) and CDNs (CMSD), per CDN and per CDN x (country, ASN)',
          security: bearer,
          responses: { '200': json(ref('QoeView'), 'The QoE estimates'), ...authErrors },
        },
      },
      '/admin/whatif': {
        post: {
          summary: "Replay the decision log's recent window through a candidate config, against the live one",
          security: bearer,
          parameters: [
            {
              name: 'format',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['json', 'html'] },
            },
            { name: 'at', in: 'query', required: false, schema: dateTime, description: 'Replay as of then' },
          ],
          requestBody: {
            required: true,
            description: 'The candidate config, YAML or JSON',
            content: {
              'application/yaml': { schema: str },
              'application/json': { schema: { type: 'object' } },
            },
          },
          responses: {
            '200': {
              description: 'The what-if report (JSON), or its HTML page with ?format=html',
              content: {
                'application/json': { schema: { type: 'object' } },
                'text/html': { schema: str },
              },
            },
            '400': error(
              'No body, a bad `at`, or an invalid candidate (CANDIDATE_INVALID, every problem listed)',
            ),
            '413': error('The candidate is too large'),
            ...authErrors,
          },
        },
      },
      '/admin/rollout': {
        get: {
          summary:
            'The current (or last) canary rollout: arms, figures, verdict; null when none is configured',
          security: bearer,
          responses: { '200': json(ref('RolloutAnswer'), 'The rollout'), ...authErrors },
        },
      },
      '/admin/rollout/promote': {
        post: {
          summary: 'Make the candidate the live config now',
          security: bearer,
          responses: {
            '200': json(ref('RolloutAnswer'), 'Promoted'),
            '409': error('No rollout runs, or the promotion failed'),
            ...authErrors,
          },
        },
      },
      '/admin/rollout/abort': {
        post: {
          summary: 'Send every canary session back to the live config at its next reload',
          security: bearer,
          responses: {
            '200': json(ref('RolloutAnswer'), 'Aborted'),
            '409': error('No rollout runs'),
            ...authErrors,
          },
        },
      },
      '/admin/cdns/{id}/drain': {
        post: {
          summary: 'Take a CDN out of selection: live sessions leave it at their next reload',
          security: bearer,
          parameters: [
            cdnId,
            {
              name: 'X-Switchyard-Operator',
              in: 'header',
              required: false,
              schema: { type: 'string', pattern: '^[A-Za-z0-9 ._@-]{1,64}$' },
              description: 'Who drains (shown on the status page and in switch reasons); default "admin API"',
            },
          ],
          responses: {
            '200': json(ref('DrainResult'), 'Drained'),
            '401': authErrors['401'],
            '404': error('No such CDN, or the admin API is off'),
          },
        },
      },
      '/admin/cdns/{id}/undrain': {
        post: {
          summary: 'Put a drained CDN back into selection',
          security: bearer,
          parameters: [cdnId],
          responses: {
            '200': json(ref('DrainResult'), 'Undrained'),
            '401': authErrors['401'],
            '404': error('No such CDN, or the admin API is off'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness: 200 while the process answers',
          responses: { '200': json(object({ status: { type: 'string', const: 'ok' } }), 'Alive') },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: 200 while at least one CDN is healthy, else 503',
          responses: {
            '200': json(ref('Readiness'), 'Ready'),
            '503': json(ref('Readiness'), 'No healthy CDN'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (README "Metrics" lists them)',
          description:
            'Open on admin.listen unless metrics.token is set; on the player listener it needs metrics.token or the admin token.',
          responses: {
            '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: str } } },
            '401': error('A token is needed and was wrong or missing'),
            '404': error('Metrics are off here'),
          },
        },
      },
    },
  };
}
