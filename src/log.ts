import pino, { type Logger, type LevelWithSilent } from 'pino';

/** JSON logs for production; `pretty` (the demo) prints them for people. Secrets are never logged. */
export function createLogger(
  level: LevelWithSilent,
  options: { pretty?: boolean; name?: string } = {},
): Logger {
  const base = {
    level,
    name: options.name ?? 'switchyard',
    redact: {
      paths: ['secrets', '*.secrets', 'config.secrets', 'headers.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  };
  if (options.pretty) {
    // Loaded only when asked for: production images need not carry it on the hot path.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(
      base,
      pretty({ colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }),
    );
  }
  return pino(base);
}
