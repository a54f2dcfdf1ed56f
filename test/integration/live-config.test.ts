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
    // No CDN fails here: a generous probe timeout (and fall 3) keeps a busy machine from calling a
    // healthy one dead.
    `health: { path: /__fixture/health, interval: 200ms, timeout: 2s, rise: 1, fall: 3 }`,
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

/**
 * How long a reload may take before the test gives up (the watcher's debounce and settle reads, on a
 * busy machine): a safety net, not a claim about speed.
 */
const PATIENCE_MS = 20_000;

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

/**
 * Reloads `media` until Switchyard serves it from `cdn`. A live session moves only to a CDN that has
 * the playlist's newest segment: the first reload that would move it starts a HEAD check and waits
 * for it at most briefly (SEGMENT_CHECK_WAIT_MS); on a busy machine the check answers later, and that
 * reload stays where it was and says why. So every reload before the move must be such a stay, and
 * the move comes once the check has answered: ordering, whatever the machine's speed.
 */
async function reloadUntilOn(media: string, cdn: string): Promise<void> {
  const until = Date.now() + PATIENCE_MS;
  for (;;) {
    const res = await get(media);
    expect(res.status).toBe(200);
    if (res.headers.get('x-switchyard-cdn') === cdn) return;
    expect(res.headers.get('x-switchyard-reason')).toContain(
      `${cdn} is being checked for the newest segment`,
    );
    if (Date.now() > until) throw new Error(`not moved to ${cdn} within ${PATIENCE_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mediaUrl(): Promise<string> {
  const master = await get(`${url}live/master.m3u8`);
  const variant = master.body.split('\n').find((l) => l.startsWith('/s/')) as string;
  return new URL(variant, url).href;
}

test(
  'an edit on disk moves the session at its next playlist reload (once the new CDN has the newest segment); sessions survive',
  async () => {
    const media = await mediaUrl();
    expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
    const before = server.runtime.state.version;
    writeConfig(yaml(['b', 'a']));
    await waitFor(() => server.runtime.state.version > before, PATIENCE_MS);
    // The next reload moves to b, or says it is checking b first (and a later one moves).
    await reloadUntilOn(media, 'b');
  },
  2 * PATIENCE_MS,
);

test(
  'an invalid edit changes nothing and is reported with the field path',
  async () => {
    const media = await mediaUrl();
    const cdnBefore = (await get(media)).headers.get('x-switchyard-cdn');
    const version = server.runtime.state.version;
    writeConfig(yaml(['b', 'a'], 'cache: { maxEntrys: 5 }'));
    await waitFor(() => server.runtime.lastReloadError !== null, PATIENCE_MS);
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
    await waitFor(() => /policy\.order\.1/.test(server.runtime.lastReloadError?.message ?? ''), PATIENCE_MS);
    expect(server.runtime.state.version).toBe(version);

    // Fixing the file clears the error.
    writeConfig(yaml(['a', 'b']));
    await waitFor(
      () => server.runtime.lastReloadError === null && server.runtime.state.version > version,
      PATIENCE_MS,
    );
    await reloadUntilOn(media, 'a');
  },
  5 * PATIENCE_MS,
);

test('SIGHUP-style reload re-reads the file even when unchanged', async () => {
  const version = server.runtime.state.version;
  const watcher = server.watchConfig(file);
  await watcher.reload();
  expect(server.runtime.state.version).toBe(version + 1);
  watcher.stop();
});

test(
  'admin API: bearer token required; drain moves sessions, undrain brings them back',
  async () => {
    expect((await get(`${url}admin/state`)).status).toBe(401);
    expect(
      (await get(`${url}admin/state`, { headers: { authorization: 'Bearer wrong-token-0123456789' } }))
        .status,
    ).toBe(401);
    const state = JSON.parse((await get(`${url}admin/state`, auth)).body);
    expect(state.cdns.map((c: { id: string }) => c.id)).toEqual(['a', 'b']);
    const media = await mediaUrl();
    expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
    const drained = await get(`${url}admin/cdns/a/drain`, { ...auth, method: 'POST' });
    expect(drained.status).toBe(200);
    await reloadUntilOn(media, 'b');
    expect((await get(`${url}admin/cdns/zz/drain`, { ...auth, method: 'POST' })).status).toBe(404);
    await get(`${url}admin/cdns/a/undrain`, { ...auth, method: 'POST' });
    await reloadUntilOn(media, 'a');
  },
  3 * PATIENCE_MS,
);
