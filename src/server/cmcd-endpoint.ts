import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { SwitchyardError } from '../errors';
import { CMCD_MIME_TYPE, decodeEventBody } from '../qoe/cmcd';
import { RateLimiter } from './rate-limit';
import type { Runtime } from './runtime';

/** Media types a report body may have: CMCD's own, and text/plain (what navigator.sendBeacon sends a string as). */
const ACCEPTED_TYPES = new Set([CMCD_MIME_TYPE, 'text/plain']);

/**
 * CMCD v2 event mode: players POST `application/cmcd` bodies, one report per line, to `/cmcd` (the
 * player's own `sid` identifies the session, and one address votes for few sessions), or to
 * `/s/<session token>/cmcd` (Switchyard's signed session: trusted, and the session's CDN is known).
 * Bounded per body (`qoe.events.maxBodyBytes`, `maxReports`) and per address (`ratePerClient`,
 * `burst`); every refusal is a JSON error with its own code (see src/errors.ts). Answers 204 when every
 * line was read, 200 with `{ accepted, rejected, truncated }` when some were not.
 */
export function cmcdRouter(runtime: Runtime): Router {
  const router = express.Router();
  const limiter = new RateLimiter();
  const paths = ['/cmcd', '/s/:token/cmcd'];

  const cors = (res: Response) => {
    const headers = runtime.state.playerHeaders;
    for (const name in headers) res.setHeader(name, headers[name] as string);
  };

  router.options(paths, (req, res) => {
    cors(res);
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader(
      'access-control-allow-headers',
      req.headers['access-control-request-headers'] ?? 'content-type',
    );
    res.setHeader('access-control-max-age', '86400');
    res.status(204).end();
  });

  router.post(paths, (req: Request, res: Response, next: NextFunction) => {
    cors(res);
    const events = runtime.state.config.qoe.events;
    if (!events.enabled)
      return next(new SwitchyardError('NOT_FOUND', 'CMCD event reporting is off (qoe.events.enabled)'));
    const now = runtime.now();
    const client = req.socket.remoteAddress ?? '';
    if (!limiter.take(client, now, events.ratePerClient, events.burst)) {
      runtime.metrics.cmcdReport('rate_limited');
      res.setHeader('connection', 'close');
      return next(
        new SwitchyardError(
          'CMCD_RATE_LIMITED',
          `more than ${events.ratePerClient} CMCD reports a second from this address`,
          { details: { retryAfter: limiter.retryAfter(client, events.ratePerClient) } },
        ),
      );
    }
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!ACCEPTED_TYPES.has(mediaType)) {
      runtime.metrics.cmcdReport('media_type');
      res.setHeader('connection', 'close');
      return next(
        new SwitchyardError(
          'CMCD_MEDIA_TYPE',
          `CMCD reports are ${CMCD_MIME_TYPE} (one report per line), got ${mediaType === '' ? 'no content-type' : `"${mediaType.slice(0, 64)}"`}`,
        ),
      );
    }
    let sessionId: string | undefined;
    const token = typeof req.params.token === 'string' ? req.params.token : undefined;
    try {
      if (token !== undefined) sessionId = runtime.state.signer.verify(token, undefined, now).sid;
    } catch (err) {
      runtime.metrics.cmcdReport('token');
      res.setHeader('connection', 'close');
      return next(err);
    }
    readBody(req, events.maxBodyBytes).then(
      (body) => {
        const batch = decodeEventBody(body.toString('utf8'), events.maxReports);
        if (batch.reports.length === 0) {
          runtime.metrics.cmcdReport('invalid');
          return next(
            new SwitchyardError(
              'CMCD_INVALID',
              batch.rejected.length === 0
                ? 'the body holds no CMCD report (one CMCD payload per line, e.g. e=t,sid="...",ts=...)'
                : `no readable CMCD report: line${batch.rejected.length > 1 ? 's' : ''} ${batch.rejected.slice(0, 10).join(', ')} ${batch.rejected.length > 1 ? 'are' : 'is'} not CMCD (a Structured Field dictionary, e.g. e=t,sid="...",ts=...)`,
            ),
          );
        }
        runtime.qoeReader.fromEvents({
          at: runtime.now(),
          reports: batch.reports,
          headers: req.headers,
          client,
          ...(sessionId === undefined ? {} : { sessionId }),
        });
        runtime.metrics.cmcdReport('accepted', batch.reports.length);
        res.setHeader('cache-control', 'no-store');
        if (batch.rejected.length === 0 && !batch.truncated) return res.status(204).end();
        res.status(200).json({
          accepted: batch.reports.length,
          rejected: batch.rejected.slice(0, 100),
          truncated: batch.truncated,
        });
      },
      (err: unknown) => {
        runtime.metrics.cmcdReport(
          err instanceof SwitchyardError && err.code === 'CMCD_TOO_LARGE' ? 'too_large' : 'invalid',
        );
        res.setHeader('connection', 'close');
        next(err);
      },
    );
  });
  return router;
}

/** The request body, at most `limit` bytes (a larger one is refused as soon as it is known to be). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new SwitchyardError(
        'CMCD_TOO_LARGE',
        `CMCD report bodies are at most ${limit} bytes (qoe.events.maxBodyBytes)`,
      );
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (cause) => {
      if (done) return;
      done = true;
      reject(new SwitchyardError('BAD_REQUEST', 'the report body was cut off', { cause }));
    });
  });
}
