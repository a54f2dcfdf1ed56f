import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError, validateConfig } from '../../src/configure';
import { ERROR_STATUS, SwitchyardError, toSwitchyardError, type ErrorCode } from '../../src/errors';
import { sendError } from '../../src/server/http-errors';
import { SigningConfigError } from '../../src/signing';

describe('one error hierarchy', () => {
  test('ConfigError is a SwitchyardError of the catalogued CONFIG_INVALID', () => {
    let thrown: unknown;
    try {
      validateConfig({ cdns: [] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toBeInstanceOf(SwitchyardError);
    const err = thrown as ConfigError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.status).toBe(ERROR_STATUS.CONFIG_INVALID);
    expect(err.name).toBe('ConfigError');
    expect(err.issues.length).toBeGreaterThan(0);
    // Passed through as itself, not hidden as INTERNAL.
    expect(toSwitchyardError(err)).toBe(err);
  });

  test('SigningConfigError is one too', () => {
    const err = new SigningConfigError('expected a key', ['key']);
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.path).toEqual(['key']);
  });

  test('the status is the catalogue’s, always', () => {
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      expect(new SwitchyardError(code, 'x').status).toBe(ERROR_STATUS[code]);
    }
  });

  test('every catalogued code is thrown somewhere in src/ (no dead codes)', () => {
    const src = path.resolve(__dirname, '../../src');
    const files = (function walk(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? walk(path.join(dir, e.name))
          : e.name.endsWith('.ts')
            ? [path.join(dir, e.name)]
            : [],
      );
    })(src).filter((f) => f !== path.join(src, 'errors.ts'));
    const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    const unused = Object.keys(ERROR_STATUS).filter((code) => !text.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});

describe('error responses', () => {
  let server: Server;
  let url: string;
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
  let next: SwitchyardError;

  beforeAll(async () => {
    server = createServer((_req, res) => sendError(res, next, logger));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function get(): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
    return new Promise((resolve, reject) => {
      request(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
          }),
        );
      })
        .on('error', reject)
        .end();
    });
  }

  test('details are nested: they cannot overwrite code or message, in the body or the log', async () => {
    next = new SwitchyardError('NO_CDN', 'no CDN can serve', {
      details: { code: 'FORGED', message: 'forged', status: 200, retryAfter: 2 },
    });
    const res = await get();
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: {
        code: 'NO_CDN',
        message: 'no CDN can serve',
        details: { code: 'FORGED', message: 'forged', status: 200, retryAfter: 2 },
      },
    });
    expect(res.headers['retry-after']).toBe('2');
    const logged = lines.find((l) => l.event === 'request_error');
    expect(logged).toMatchObject({ code: 'NO_CDN', status: 503, msg: 'no CDN can serve', retryAfter: 2 });
  });

  test('an error without details has no details member', async () => {
    next = new SwitchyardError('UNKNOWN_STREAM', 'no such stream');
    const res = await get();
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'UNKNOWN_STREAM', message: 'no such stream' } });
  });
});
