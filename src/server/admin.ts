import { timingSafeEqual, createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SwitchyardError } from '../errors';
import { redactAuth } from '../signing';
import { toEstimate } from '../qoe/aggregate';
import type { Runtime } from './runtime';
import { bodyErrors, whatifRoutes } from './admin-whatif';
import { rolloutRoutes, rolloutStatus } from './admin-rollout';
import { openApiDocument } from './openapi';
import { ACTIVE_SESSION_WINDOW_MS } from '../metrics';

/** Constant-time comparison of bearer tokens of any length (hashes first, so lengths do not leak). */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const OPERATOR = /^[A-Za-z0-9 ._@-]{1,64}$/;

/** Who acts, from the X-Switchyard-Operator header: a short name, else "admin API". */
export function operatorName(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value !== undefined && OPERATOR.test(value) ? value : 'admin API';
}

/** The config as an operator may see it: secrets and tokens replaced. */
export function redactedConfig(runtime: Runtime): unknown {
  const c = runtime.state.config;
  return {
    ...c,
    secrets: c.secrets.map(() => '[redacted]'),
    cdns: c.cdns.map((cdn) => (cdn.auth ? { ...cdn, auth: redactAuth(cdn.auth) } : cdn)),
    admin: { ...c.admin, token: c.admin.token === undefined ? undefined : '[redacted]' },
    metrics: { ...c.metrics, token: c.metrics.token === undefined ? undefined : '[redacted]' },
    state: { ...c.state, url: c.state.url.replace(/\/\/[^@/]*@/, '//[redacted]@') },
  };
}

/**
 * The operator API. Off (404) unless `admin.token` is configured; every call needs
 * `Authorization: Bearer <token>`. The token is read from the current config on every request, so
 * rotating it is a config reload.
 */
export function adminRouter(runtime: Runtime): Router {
  const router = express.Router();
  // The API's description is no secret: served without a token (while the admin API is on).
  const document = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res, next) => {
    if (runtime.state.config.admin.token === undefined)
      return next(new SwitchyardError('NOT_FOUND', 'the admin API is off (no admin.token configured)'));
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.send(document);
  });
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const token = runtime.state.config.admin.token;
    if (token === undefined)
      return next(new SwitchyardError('NOT_FOUND', 'the admin API is off (no admin.token configured)'));
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (given === '' || !sameToken(given, token))
      return next(new SwitchyardError('UNAUTHORIZED', 'admin API needs a valid bearer token'));
    next();
  });
  // Before the JSON parser: a candidate config may be YAML, and larger than the API's other bodies.
  whatifRoutes(router, runtime);
  router.use(express.json({ limit: '16kb' }));

  router.get('/config', (_req, res) => {
    res.json({
      version: runtime.state.version,
      loadedAt: new Date(runtime.state.loadedAt).toISOString(),
      source: runtime.configSource ?? null,
      lastError: runtime.lastReloadError
        ? { at: new Date(runtime.lastReloadError.at).toISOString(), message: runtime.lastReloadError.message }
        : null,
      config: redactedConfig(runtime),
    });
  });

  /** Per-CDN facts both views show: drain attribution, the last verdict's reason, active sessions. */
  const cdnFacts = (id: string, active: ReadonlyMap<string, number>) => {
    const h = runtime.monitor.health(id);
    const drain = h?.drained ? runtime.drains.get(id) : undefined;
    const verdict = runtime.verdicts.get(id);
    return {
      drained: h?.drained ?? false,
      drainedBy: drain === undefined ? null : { by: drain.by, at: new Date(drain.at).toISOString() },
      healthReason: h?.drained
        ? `drained by ${drain?.by ?? 'an operator (on another instance)'}`
        : verdict === undefined
          ? null
          : `${verdict.healthy ? 'healthy' : 'unhealthy'}: ${verdict.reason}`,
      activeSessions: active.get(id) ?? 0,
    };
  };
  const switches = (n: number) =>
    runtime.recentSwitches.slice(-n).map((s) => ({ ...s, at: new Date(s.at).toISOString() }));

  router.get('/state', (_req, res) => {
    const now = runtime.now();
    const views = runtime.monitor.views(runtime.share.shares(now));
    const active = runtime.activeSessions();
    res.json({
      configVersion: runtime.state.version,
      policy: runtime.state.policy.name,
      /** This instance, its peers and the config hash each applied (a mismatch shows here). */
      fleet: runtime.store.status(now),
      cdns: views.map((v) => {
        const h = runtime.monitor.health(v.id);
        const facts = cdnFacts(v.id, active);
        return {
          id: v.id,
          baseUrl: v.baseUrl,
          weight: v.weight,
          healthy: v.healthy,
          drained: facts.drained,
          duress: h?.duress ?? false,
          drainedBy: facts.drainedBy,
          probeHealthy: h?.healthy ?? null,
          healthReason: facts.healthReason,
          errorRate: v.errorRate,
          latencyMs: v.latencyMs,
          share: v.share,
          activeSessions: facts.activeSessions,
          lastError: h?.lastError ?? null,
          lastProbeAt: h?.lastProbeAt ? new Date(h.lastProbeAt).toISOString() : null,
        };
      }),
      recentSwitches: switches(50),
    });
  });

  /** What the status page (/ui) polls every second: small, and only the figures it draws. */
  router.get('/status', (_req, res) => {
    const now = runtime.now();
    const views = runtime.cdnViews(now);
    const active = runtime.activeSessions();
    const total = [...active.values()].reduce((a, b) => a + b, 0);
    res.setHeader('cache-control', 'no-store');
    res.json({
      at: now,
      configVersion: runtime.state.version,
      policy: runtime.state.policy.name,
      activeWindowSeconds: ACTIVE_SESSION_WINDOW_MS / 1000,
      cdns: views.map((v) => {
        const facts = cdnFacts(v.id, active);
        return {
          id: v.id,
          healthy: v.healthy,
          drained: facts.drained,
          duress: v.duress === true,
          drainedBy: facts.drainedBy,
          healthReason: facts.healthReason,
          activeSessions: facts.activeSessions,
          sessionShare: total === 0 ? 0 : facts.activeSessions / total,
          share: v.share,
          errorRate: v.errorRate,
          latencyMs: v.latencyMs,
          weight: v.weight,
        };
      }),
      history: runtime.history,
      cache: { ...runtime.metrics.cacheCounts },
      origins: runtime.originCircuits(),
      rollout: rolloutStatus(runtime),
      recentSwitches: switches(20).reverse(),
    });
  });

  /** QoE from CMCD/CMSD: per CDN x (country, ASN) over the covered windows, fleet-wide. */
  router.get('/qoe', (_req, res) => {
    const now = runtime.now();
    const qoe = runtime.store.qoe;
    const settings = qoe.windowSettings;
    res.setHeader('cache-control', 'no-store');
    res.json({
      at: new Date(now).toISOString(),
      windowMs: settings.windowMs,
      windows: settings.windows,
      minSessions: settings.minSessions,
      cdns: runtime.qoeSummary(now).map((row) => ({
        ...row,
        probeDuress: runtime.monitor.health(row.cdn)?.duress ?? false,
        echoedDuress: qoe.duress(row.cdn, now),
      })),
      keys: qoe.keys(now).map((key) => {
        const [cdn, country, asn] = key.split('|');
        const t = toEstimate(qoe.tally(key, now), 'all');
        return {
          cdn,
          country: country === '*' ? null : country,
          asn: asn === '*' ? null : Number(asn),
          sessions: t.sessions,
          bad: t.bad,
          enough: t.sessions >= settings.minSessions,
          goodShare: t.goodShare,
          segmentRequests: t.requests,
          segmentErrors: t.errors,
          errorRate: t.errorRate,
          rebufferMs: t.rebufferMs,
          playMs: t.playMs,
          rebufferRatio: t.rebufferRatio,
          duressSessions: t.duress,
        };
      }),
      counters: {
        ...qoe.counters,
        published: { ...runtime.qoeReader.published },
        busFailures: runtime.qoeSignals.failures,
      },
    });
  });

  const drain = (drained: boolean) => (req: Request, res: Response, next: NextFunction) => {
    const id = String(req.params.id);
    if (!runtime.monitor.setDrained(id, drained))
      return next(new SwitchyardError('NOT_FOUND', `no CDN "${id.slice(0, 64)}"`));
    const by = operatorName(req.headers['x-switchyard-operator']);
    if (drained) runtime.drains.set(id, { by, at: runtime.now() });
    else runtime.drains.delete(id);
    runtime.logger.warn(
      { event: drained ? 'cdn_drain' : 'cdn_undrain', cdn: id, by },
      drained ? `CDN drained by ${by}` : `CDN undrained by ${by}`,
    );
    res.json({ id, drained, by });
  };
  router.post('/cdns/:id/drain', drain(true));
  router.post('/cdns/:id/undrain', drain(false));
  rolloutRoutes(router, runtime);
  router.use(bodyErrors);
  return router;
}
