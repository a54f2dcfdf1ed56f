/**
 * The built `switchyard serve` as a process: errors that escape every handler are logged and counted
 * and the process keeps serving; manifests are parsed in its worker thread (the compiled entry);
 * SIGHUP reloads the config; SIGTERM lets in-flight requests finish and exits 0.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_DRAIN_MS } from '../../src/server/server';
import { get, waitFor } from '../helpers/stack';
import { startFaultOrigin, type FaultOrigin } from './fault-origin';
import { metricValue } from './support';

const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js');
const SECRET = 'process-test-secret-0123456789';
const METRICS_TOKEN = 'process-metrics-token-0123456789';

/**
 * How long a wait may take before the test gives up (a process starting and logging on a busy
 * machine): a safety net, not a claim about speed.
 */
const PATIENCE_MS = 25_000;

let raw: FaultOrigin;
let child: ChildProcessWithoutNullStreams;
let out = '';
let url: string;

beforeAll(async () => {
  raw = await startFaultOrigin();
  const dir = mkdtempSync(path.join(tmpdir(), 'switchyard-process-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      `secrets: ['${SECRET}']`,
      `streams: [{ id: f, origin: ${raw.url}f/ }]`,
      'cdns: [{ id: a, baseUrl: http://127.0.0.1:9/ }]',
      'health: { interval: 1h }',
      `policy: { module: ${path.join(__dirname, 'fixtures', 'throwing-policy.js')} }`,
      'origin: { allowPrivateAddresses: true }',
      `metrics: { token: ${METRICS_TOKEN} }`,
      // Every manifest is parsed in a thread: the compiled worker entry (dist/src/parse-pool/worker.js).
      'limits: { parse: { workers: 1, offThreadBytes: 0 } }',
    ].join('\n'),
  );
  child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (out += c));
  await waitFor(() => /"url":"http:\/\/[^"]+"/.test(out), PATIENCE_MS);
  url = (/"url":"(http:\/\/[^"]+)"/.exec(out) as RegExpExecArray)[1] as string;
}, 2 * PATIENCE_MS);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await raw.close();
});

const logLines = () =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function uncaught(kind: string): Promise<number> {
  const res = await fetch(`${url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  return metricValue(await res.text(), 'switchyard_uncaught_errors_total', { kind });
}

test('an exception thrown outside any handler: logged, counted, and the process keeps serving', async () => {
  const res = await get(`${url}f/ok.m3u8`, { headers: { 'x-boom': 'async' } });
  expect(res.status).toBe(200);
  await waitFor(() => logLines().some((l) => l.event === 'uncaught' && l.kind === 'exception'), PATIENCE_MS);
  expect(await uncaught('exception')).toBe(1);
  expect((await get(`${url}f/ok.m3u8`)).status).toBe(200);
});

test('an unhandled rejection: logged, counted, still serving', async () => {
  expect((await get(`${url}f/ok.m3u8`, { headers: { 'x-boom': 'reject' } })).status).toBe(200);
  await waitFor(() => logLines().some((l) => l.event === 'uncaught' && l.kind === 'rejection'), PATIENCE_MS);
  expect(await uncaught('rejection')).toBe(1);
  expect((await get(`${url}healthz`)).status).toBe(200);
});

test('a throw inside the request: 500 INTERNAL without the cause, logged with it', async () => {
  const res = await get(`${url}f/ok.m3u8`, { headers: { 'x-boom': 'sync', 'x-request-id': 'boom-1' } });
  expect(res.status).toBe(500);
  expect(JSON.parse(res.body)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
  expect(res.body).not.toContain('blew up');
  const find = () => logLines().find((l) => l.event === 'request_error' && l.requestId === 'boom-1');
  await waitFor(() => find() !== undefined, PATIENCE_MS);
  expect(JSON.stringify(find())).toContain('policy blew up (sync)');
  expect((await get(`${url}f/ok.m3u8`)).status).toBe(200);
});

test('the built package parses manifests in its worker thread', async () => {
  expect((await get(`${url}f/ok.m3u8`)).status).toBe(200);
  const res = await fetch(`${url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const text = await res.text();
  expect(
    metricValue(text, 'switchyard_manifest_parses_total', { where: 'worker', result: 'ok' }),
  ).toBeGreaterThan(0);
  expect(metricValue(text, 'switchyard_manifest_parses_total', { where: 'inline' })).toBe(0);
  expect(metricValue(text, 'switchyard_parse_workers')).toBe(1);
});

test('SIGHUP re-reads the config', async () => {
  child.kill('SIGHUP');
  await waitFor(() => logLines().some((l) => l.event === 'config_reload' && l.ok === true), PATIENCE_MS);
});

test('SIGTERM: the in-flight request finishes, then a clean exit 0; no secret was ever logged', async () => {
  const asked = raw.hits.get('/f/slow-1s.m3u8') ?? 0;
  const inflight = get(`${url}f/slow-1s.m3u8`);
  // In flight for sure: Switchyard is fetching it from the origin (which answers after 1 s).
  await waitFor(() => (raw.hits.get('/f/slow-1s.m3u8') ?? 0) > asked, PATIENCE_MS, 5);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  const res = await inflight;
  expect(res.status).toBe(200);
  expect(res.body).toContain('#EXTM3U');
  expect(await exited).toBe(0);
  // Done clients are not waited for (the drain closes connections as they go idle): the drain ends
  // before its deadline, on the process's own clock. Waiting it out would take the whole deadline.
  const shutdown = logLines().find((l) => l.event === 'shutdown');
  expect(shutdown).toMatchObject({ drainMs: DEFAULT_DRAIN_MS });
  const stopped = logLines().find((l) => l.event === 'stopped');
  expect(typeof stopped?.drainedMs).toBe('number');
  expect(stopped?.drainedMs as number).toBeLessThan(DEFAULT_DRAIN_MS);
  expect(out).not.toContain(SECRET);
  expect(out).not.toContain(METRICS_TOKEN);
});
