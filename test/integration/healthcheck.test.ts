/**
 * The Dockerfile's HEALTHCHECK: dist/src/healthcheck.js reads the config and probes /healthz on the
 * port it names (built by `npm test`'s pretest), so it follows listen.port, not an unset variable.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfigFile } from '../../src/configure';
import { healthUrl } from '../../src/healthcheck';
import { createSwitchyard } from '../../src/server/server';
import { onFreePort } from '../../fixtures/servers';
import { REPO_ROOT } from '../helpers/corpus';

const SCRIPT = path.join(REPO_ROOT, 'dist', 'src', 'healthcheck.js');

function probe(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, file], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

test('healthUrl: wildcard hosts are probed on loopback, IPv6 in brackets', () => {
  expect(healthUrl({ host: '0.0.0.0', port: 8080 })).toBe('http://127.0.0.1:8080/healthz');
  expect(healthUrl({ host: '::', port: 9000 })).toBe('http://[::1]:9000/healthz');
  expect(healthUrl({ host: '127.0.0.1', port: 81 })).toBe('http://127.0.0.1:81/healthz');
  expect(healthUrl({ host: 'fd00::1', port: 81 })).toBe('http://[fd00::1]:81/healthz');
});

test('the probe follows the configured port: healthy while serving, unhealthy once closed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-health-'));
  try {
    const file = path.join(dir, 'config.yaml');
    // The config names the port: another process may take it between freePort and listen.
    const { port, server } = await onFreePort(async (port) => {
      writeFileSync(
        file,
        [
          `listen: { host: 0.0.0.0, port: ${port} }`,
          "secrets: ['${HEALTH_TEST_SECRET:-a-secret-of-at-least-32-characters}']",
          'streams: [{ id: live, origin: https://origin.example/live/ }]',
          'cdns: [{ id: a, baseUrl: https://a.cdn.example/ }]',
          'log: { level: silent }',
        ].join('\n'),
      );
      const server = createSwitchyard(await loadConfigFile(file, { env: {} }), {
        logger: pino({ level: 'silent' }),
        prober: () => Promise.resolve({ ok: true, latencyMs: 1 }),
      });
      try {
        await server.listen();
      } catch (err) {
        await server.close().catch(() => undefined);
        throw err;
      }
      return { port, server };
    });
    const up = await probe(file);
    expect(up).toEqual({ code: 0, out: `healthcheck: http://127.0.0.1:${port}/healthz answered 200\n` });
    await server.close();
    const down = await probe(file);
    expect(down.code).toBe(1);
    expect(down.out).toContain(`http://127.0.0.1:${port}/healthz: ECONNREFUSED`);
    // A config it cannot read is unhealthy too, and says why.
    const missing = await probe(path.join(dir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/cannot read \S*nope\.yaml: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Dockerfile runs it on the config the image serves', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(
    /HEALTHCHECK[^\n]*\\\n\s*CMD \["node", "\/app\/dist\/src\/healthcheck.js", "\/etc\/switchyard\/config.yaml"\]/,
  );
  expect(dockerfile).not.toMatch(/SWITCHYARD_PORT/);
  expect(dockerfile).toMatch(/CMD \["serve", "--config", "\/etc\/switchyard\/config.yaml"\]/);
});
