import express, { type NextFunction, type Request, type Response } from 'express';
import { SwitchyardError } from '../errors';
import { sendError } from './http-errors';
import { adminRouter } from './admin';
import type { Runtime } from './runtime';

/**
 * Everything that is not a manifest: health, readiness, operator API. Express is good at these and
 * too slow for the manifest hot path (see DESIGN.md), which is handled before a request gets here.
 */
export function createApp(runtime: Runtime, options: { admin?: boolean } = {}): express.Express {
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

  if (options.admin !== false) app.use('/admin', adminRouter(runtime));

  app.use((req, _res, next) => {
    next(
      new SwitchyardError(
        req.path.startsWith('/s/') ? 'UNKNOWN_STREAM' : 'NOT_FOUND',
        `no route for ${req.method} ${req.path.slice(0, 200)}`,
      ),
    );
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
