import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ConfigError, parseConfig } from '../configure';
import type { Config } from '../config/schema';
import { SwitchyardError } from '../errors';
import { renderWhatifHtml } from '../whatif/html';
import { whatif } from '../whatif/report';
import type { Runtime } from './runtime';

/** Largest candidate config accepted by POST /admin/whatif. */
const MAX_CANDIDATE_BYTES = 1024 * 1024;

/**
 * `POST /admin/whatif`: the body is a candidate config (YAML or JSON, validated like a live one; relative
 * module paths resolve against the live config's folder). The answer is the what-if report over the
 * in-memory recent window of the decision log, compared with the live config replayed the same way;
 * `?format=html` gives the self-contained HTML page instead of JSON, `?at=ISO` replays as of then.
 */
export function whatifRoutes(router: Router, runtime: Runtime): void {
  router.post(
    '/whatif',
    express.text({ type: () => true, limit: MAX_CANDIDATE_BYTES }),
    (req: Request, res: Response, next: NextFunction) => {
      const text = typeof req.body === 'string' ? req.body : '';
      if (text.trim() === '')
        return next(
          new SwitchyardError('BAD_REQUEST', 'expected a candidate config (YAML or JSON) as the body'),
        );
      let at: number | undefined;
      const atParam = typeof req.query.at === 'string' ? req.query.at : undefined;
      if (atParam !== undefined) {
        at = Date.parse(atParam);
        if (!Number.isFinite(at))
          return next(
            new SwitchyardError(
              'BAD_REQUEST',
              `at: expected an ISO 8601 time, got "${atParam.slice(0, 40)}"`,
            ),
          );
      }
      let candidate: Config;
      try {
        candidate = parseConfig(text, {
          policies: runtime.policies,
          signers: runtime.signers,
          source: 'candidate',
          baseDir: runtime.configSource ? path.dirname(runtime.configSource) : process.cwd(),
        });
      } catch (err) {
        if (err instanceof ConfigError) return next(new SwitchyardError('CANDIDATE_INVALID', err.message));
        return next(err);
      }
      const report = whatif({
        records: runtime.decisions.recent(),
        candidate,
        current: runtime.state.config,
        registry: runtime.policies,
        at,
        labels: {
          candidate: 'candidate',
          current: `live config v${runtime.state.version}`,
          log: 'recent window (in memory)',
        },
      });
      res.setHeader('cache-control', 'no-store');
      if (req.query.format === 'html') {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
        res.send(renderWhatifHtml(report));
        return;
      }
      res.json(report);
    },
  );
}

/** Body-parser failures as the catalogue's errors (express would make them 500s). */
export function bodyErrors(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  const e = err as { type?: unknown; status?: number; message?: string };
  // Only body-parser's own errors (they carry a `type`); everything else goes on as it is.
  if (err instanceof SwitchyardError || typeof e.type !== 'string') return next(err);
  if (e.type === 'entity.too.large')
    return next(new SwitchyardError('PAYLOAD_TOO_LARGE', 'the request body is too large'));
  if (e.type === 'entity.parse.failed')
    return next(new SwitchyardError('BAD_REQUEST', 'the request body is not valid JSON'));
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return next(new SwitchyardError('BAD_REQUEST', e.message ?? 'bad request body'));
  next(err);
}
