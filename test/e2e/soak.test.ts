/**
 * Soak: 300 simulated live sessions for SOAK_SECONDS (default 60) through the load harness, while CDN
 * b fails and recovers and the origin blips for 3 s. Zero failed manifest requests (the cache bridges
 * the blip with stale copies) and zero segment requests to b after its evacuation window.
 */
import { PassThrough } from 'node:stream';
import { parseFault } from '../../src/loadtest/faults';
import { runLoadtest } from '../../src/loadtest/run';
import { startStack, type Stack } from '../helpers/stack';
import { capturingLogger, metricValue } from '../hardening/support';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const SESSIONS = Number(process.env.SOAK_SESSIONS ?? 300);
/** Probing every 500 ms, fall 2: unhealthy within ~1.5 s; one 1 s segment later players have left. */
const EVACUATION_WINDOW_MS = 4000;

let stack: Stack;
const logs = capturingLogger('warn');

beforeAll(async () => {
  stack = await startStack({
    streams: ['live'],
    logger: logs.logger,
    health: { interval: 500, timeout: 400, fall: 2, rise: 2 },
    extra: () => ({
      // The real breaker, as shipped: it opens during the blip and the stale copies carry on.
      origin: { breaker: { failures: 5, coolDown: 2000 } },
      cache: { maxStale: '30s', errorRetry: 500 },
      admin: { token: 'soak-admin-token-0123456789' },
    }),
  });
});
afterAll(() => stack.close());

test(
  `soak: ${SESSIONS} sessions for ${SECONDS} s, CDN b fails and recovers, origin blips for 3 s`,
  async () => {
    const at = (fraction: number) => Math.round(SECONDS * fraction * 1000);
    const cdnDownAt = at(0.25);
    const cdnDownFor = at(0.25);
    const originBlipAt = at(0.6);
    const out = new PassThrough();
    out.resume();
    const blip = setTimeout(() => {
      stack.origin.setFault({ kind: 'down' });
      setTimeout(() => stack.origin.setFault(null), 3000);
    }, originBlipAt);

    const report = await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live'],
        sessions: SESSIONS,
        rampS: Math.min(5, SECONDS / 6),
        durationS: SECONDS,
        protocol: 'hls',
        variant: 'random',
        segments: 'head',
        faults: [parseFault(`at=${cdnDownAt}ms cdn=b down for=${cdnDownFor}ms`)],
        expectations: [],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
        originUrl: stack.origin.url,
      },
      { out, progress: false },
    );
    clearTimeout(blip);

    // Zero failed manifest requests, the origin blip included.
    expect(report.manifests.errors).toBe(0);
    expect(report.sessions.started).toBeGreaterThanOrEqual(SESSIONS);
    expect(report.manifests.requests).toBeGreaterThan(SESSIONS * SECONDS * 0.3);

    // Zero segment requests to b after its evacuation window, until it came back.
    const fault = report.faults[0];
    expect(fault).toMatchObject({ cdn: 'b', outage: true });
    const faultAt = fault?.atMs as number;
    const faultEnd = fault?.endMs ?? faultAt + cdnDownFor;
    expect(fault?.evacuateMs).not.toBeNull();
    const startedAt = Date.parse(report.startedAt);
    const bLog = stack.cdn('b').requests;
    const late = bLog.filter((e) => {
      const t = e.at - startedAt;
      return t > faultAt + EVACUATION_WINDOW_MS && t < faultEnd - 200;
    });
    expect(late.map((e) => ({ t: e.at - startedAt, path: e.path, status: e.status }))).toEqual([]);
    expect(fault?.evacuateMs).toBeLessThanOrEqual(EVACUATION_WINDOW_MS);
    // b got traffic again after it recovered.
    expect(bLog.some((e) => e.at - startedAt > faultEnd + EVACUATION_WINDOW_MS)).toBe(true);

    // The blip was bridged by stale copies, and the process is healthy.
    const metricsText = await stack.server.runtime.metrics.registry.metrics();
    expect(metricValue(metricsText, 'switchyard_manifest_cache_total', { outcome: 'stale' })).toBeGreaterThan(
      0,
    );
    expect(metricValue(metricsText, 'switchyard_requests_total', { route: 'manifest', status: '502' })).toBe(
      0,
    );
    expect(logs.entries().some((l) => l.event === 'origin_error')).toBe(true);
    expect((await fetch(`${stack.url}healthz`)).status).toBe(200);
  },
  (SECONDS + 60) * 1000,
);
