import express, { type NextFunction, type Request, type Response } from 'express';
import { SwitchyardError } from '../errors';
import { sendError } from './http-errors';
import { adminRouter, sameToken } from './admin';
import { cmcdRouter } from './cmcd-endpoint';
import type { Runtime } from './runtime';
import { UI_CSP, UI_HTML, UI_JS } from './ui/page';

export interface AppOptions {
  /** Serve /admin/* and /ui here. */
  admin?: boolean;
  /**
   * /metrics here: 'open' on the operator's own listener (a token only if metrics.token is set),
   * 'token' on the player-facing one (metrics.token, else admin.token; off without either).
   */
  metrics?: 'open' | 'token' | false;
  /** The CMCD event-mode endpoint (`POST /cmcd`): on the player-facing listener. */
  cmcd?: boolean;
}

/**
 * Everything that is not a manifest: health, readiness, operator API. Express is good at these and
 * too slow for the manifest hot path (src/server/manifest-handler.ts), which server.ts answers before
 * a request gets here.
 */
export function createApp(runtime: Runtime, options: AppOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const cdns = runtime.monitor.views(runtime.share.shares(runtime.now()));
    const healthy = cdns.filter((c) => c.healthy).map((c) => c.id);
    const ready = healthy.length > 0;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not ready',
      configVersion: runtime.state.version,
      healthyCdns: healthy,
    });
  });

  if (options.cmcd !== false) app.use(cmcdRouter(runtime));

  const metricsMode = options.metrics ?? 'token';
  if (metricsMode !== false) {
    app.get('/metrics', (req, res, next) => {
      const { metrics, admin } = runtime.state.config;
      if (!metrics.enabled)
        return next(new SwitchyardError('NOT_FOUND', 'metrics are off (metrics.enabled)'));
      const token = metricsMode === 'open' ? metrics.token : (metrics.token ?? admin.token);
      if (token === undefined && metricsMode === 'token')
        return next(
          new SwitchyardError(
            'NOT_FOUND',
            'metrics on the player listener need metrics.token or admin.token (or use admin.listen)',
          ),
        );
      if (token !== undefined) {
        const header = req.headers.authorization ?? '';
        const given = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
        if (given === '' || !sameToken(given, token))
          return next(new SwitchyardError('UNAUTHORIZED', '/metrics needs a valid bearer token'));
      }
      runtime.metricsText().then((text) => {
        res.setHeader('content-type', runtime.metrics.registry.contentType);
        res.setHeader('cache-control', 'no-store');
        res.send(text);
      }, next);
    });
  }

  if (options.admin !== false) {
    // The page is public (it holds no data); its data comes from /admin/status with the admin token.
    const uiOn = (_req: Request, _res: Response, next: NextFunction) =>
      runtime.state.config.admin.token === undefined
        ? next(new SwitchyardError('NOT_FOUND', 'the status page is off (no admin.token configured)'))
        : next();
    const page = (type: string, body: string) => (_req: Request, res: Response) => {
      res.setHeader('content-type', type);
      res.setHeader('content-security-policy', UI_CSP);
      res.setHeader('cache-control', 'no-store');
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('referrer-policy', 'no-referrer');
      res.send(body);
    };
    app.get('/ui', uiOn, page('text/html; charset=utf-8', UI_HTML));
    app.get('/ui/app.js', uiOn, page('text/javascript; charset=utf-8', UI_JS));
    app.use('/admin', adminRouter(runtime));
  }

  app.use((req, _res, next) => {
    const code = req.path.startsWith('/s/') ? 'UNKNOWN_STREAM' : 'NOT_FOUND';
    runtime.metrics.rejectedRequest(404, code);
    next(new SwitchyardError(code, `no route for ${req.method} ${req.path.slice(0, 200)}`));
  });

  // Express recognises error middleware by its four parameters.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendError(
      res,
      err,
      runtime.logger,
      { path: req.path.slice(0, 200) },
      { 'access-control-allow-origin': runtime.state.config.cors.allowOrigin },
    );
  });
  return app;
}
