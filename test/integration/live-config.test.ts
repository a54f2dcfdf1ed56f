import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfigFile } from '../../src/configure';
import { createSwitchyard, type SwitchyardServer } from '../../src/server/server';
import { startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../../fixtures/servers';
import { get, waitFor } from '../helpers/stack';

const ADMIN = 'admin-token-0123456789abcdef';
let origin: FixtureOrigin;
let cdns: FixtureCdn[];
let server: SwitchyardServer;
let url: string;
let file: string;

function yaml(order: string[], extra = ''): string {
  return [
    `listen: { host: 127.0.0.1, port: 0 }`,
    `secrets: ['live-config-secret-0123456789']`,
    `streams:`,
    `  - { id: live, origin: ${origin.url}live/ }`,
    `cdns:`,
    ...cdns.map((c) => `  - { id: ${c.id}, baseUrl: ${c.url} }`),
    `policy: { type: failover, order: [${order.join(', ')}] }`,
    // No CDN fails here: a generous probe timeout keeps a busy machine from calling a healthy one dead.
    `health: { path: /__fixture/health, interval: 200ms, timeout: 2s, rise: 1, fall: 1 }`,
    `admin: { token: ${ADMIN} }`,
    `log: { level: silent }`,
    `origin: { allowPrivateAddresses: true }`,
    extra,
  ].join('\n');
}

/** Writes like an editor or a ConfigMap update does: a new file renamed over the old one. */
function writeConfig(text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const auth = { headers: { authorization: `Bearer ${ADMIN}` } };

beforeAll(async () => {
  origin = await startOrigin({ port: 0 });
  cdns = [
    await startCdn({ id: 'a', origin: origin.url, port: 0 }),
    await startCdn({ id: 'b', origin: origin.url, port: 0 }),
  ];
  file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-')), 'config.yaml');
  writeFileSync(file, yaml(['a', 'b']));
  server = createSwitchyard(await loadConfigFile(file), { logger: pino({ level: 'silent' }) });
  url = await server.listen();
  server.watchConfig(file);
});
afterAll(async () => {
  await server.close();
  await Promise.all(cdns.map((c) => c.close()));
  await origin.close();
});

async function mediaUrl(): Promise<string> {
  const master = await get(`${url}live/master.m3u8`);
  const variant = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
  return new URL(variant, url).href;
}

test('an edit on disk changes the CDN of the very next playlist reload; sessions survive', async () => {
  const media = await mediaUrl();
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
  const before = server.runtime.state.version;
  writeConfig(yaml(['b', 'a']));
  await waitFor(() => server.runtime.state.version > before, 5000);
  const after = await get(media);
  expect(after.status).toBe(200);
  expect(after.headers.get('x-switchyard-cdn')).toBe('b');
});

test('an invalid edit changes nothing and is reported with the field path', async () => {
  const media = await mediaUrl();
  const cdnBefore = (await get(media)).headers.get('x-switchyard-cdn');
  const version = server.runtime.state.version;
  writeConfig(yaml(['b', 'a'], 'cache: { maxEntrys: 5 }'));
  await waitFor(() => server.runtime.lastReloadError !== null, 5000);
  expect(server.runtime.state.version).toBe(version);
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe(cdnBefore);
  const admin = await get(`${url}admin/config`, auth);
  expect(admin.status).toBe(200);
  const body = JSON.parse(admin.body);
  expect(body.version).toBe(version);
  expect(body.lastError.message).toMatch(/cache: .*maxEntrys/);
  expect(JSON.stringify(body)).not.toContain('live-config-secret');
  expect(JSON.stringify(body)).not.toContain(ADMIN);

  // A policy that names a CDN that does not exist is refused too, with its path.
  writeConfig(yaml(['b', 'zz']));
  await waitFor(() => /policy\.order\.1/.test(server.runtime.lastReloadError?.message ?? ''), 5000);
  expect(server.runtime.state.version).toBe(version);

  // Fixing the file clears the error.
  writeConfig(yaml(['a', 'b']));
  await waitFor(
    () => server.runtime.lastReloadError === null && server.runtime.state.version > version,
    5000,
  );
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
});

test('SIGHUP-style reload re-reads the file even when unchanged', async () => {
  const version = server.runtime.state.version;
  const watcher = server.watchConfig(file);
  await watcher.reload();
  expect(server.runtime.state.version).toBe(version + 1);
  watcher.stop();
});

test('admin API: bearer token required; drain moves sessions, undrain brings them back', async () => {
  expect((await get(`${url}admin/state`)).status).toBe(401);
  expect(
    (await get(`${url}admin/state`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
  ).toBe(401);
  const state = JSON.parse((await get(`${url}admin/state`, auth)).body);
  expect(state.cdns.map((c: { id: string }) => c.id)).toEqual(['a', 'b']);
  const media = await mediaUrl();
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
  const drained = await get(`${url}admin/cdns/a/drain`, { ...auth, method: 'POST' });
  expect(drained.status).toBe(200);
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('b');
  expect((await get(`${url}admin/cdns/zz/drain`, { ...auth, method: 'POST' })).status).toBe(404);
  await get(`${url}admin/cdns/a/undrain`, { ...auth, method: 'POST' });
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
});
