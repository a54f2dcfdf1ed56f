import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfigFile } from '../../src/configure';
import { createSwitchyard, type SwitchyardServer } from '../../src/server/server';
import { startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../../fixtures/servers';
import { get, waitFor } from '../helpers/stack';

/**
 * deploy/kubernetes mounts the config from a ConfigMap, and the README says an update of it applies
 * live. The kubelet never writes the file in place: the mount holds `..<stamp>/config.yaml`, a
 * `..data` symlink to the current stamp folder and `config.yaml -> ..data/config.yaml`; an update
 * writes a new stamp folder, points `..data_tmp` at it, renames that over `..data` and deletes the
 * old folder (kubernetes pkg/volume/util/atomic_writer.go). This does the same to a running server.
 */

let origin: FixtureOrigin;
let cdns: FixtureCdn[];
let server: SwitchyardServer;
let url: string;
let mount: string;
let stamp = 0;
let current: string | undefined;

function yaml(order: string[]): string {
  return [
    `listen: { host: 127.0.0.1, port: 0 }`,
    `secrets: ['configmap-reload-secret-0123456789']`,
    `streams:`,
    `  - { id: live, origin: ${origin.url}live/ }`,
    `cdns:`,
    ...cdns.map((c) => `  - { id: ${c.id}, baseUrl: ${c.url} }`),
    `policy: { type: failover, order: [${order.join(', ')}] }`,
    // No CDN fails here: a generous probe timeout keeps a busy machine from calling a healthy one dead.
    `health: { path: /__fixture/health, interval: 200ms, timeout: 2s, rise: 1, fall: 1 }`,
    `log: { level: silent }`,
    `origin: { allowPrivateAddresses: true }`,
  ].join('\n');
}

/** One ConfigMap update, as the kubelet's atomic writer makes it. */
function publish(text: string): void {
  const folder = `..2026_12_01_00_00_0${stamp++}.000000001`;
  mkdirSync(path.join(mount, folder));
  writeFileSync(path.join(mount, folder, 'config.yaml'), text);
  symlinkSync(folder, path.join(mount, '..data_tmp'));
  renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
  if (current === undefined) symlinkSync(path.join('..data', 'config.yaml'), path.join(mount, 'config.yaml'));
  else rmSync(path.join(mount, current), { recursive: true });
  current = folder;
}

beforeAll(async () => {
  origin = await startOrigin({ port: 0 });
  cdns = [
    await startCdn({ id: 'a', origin: origin.url, port: 0 }),
    await startCdn({ id: 'b', origin: origin.url, port: 0 }),
  ];
  mount = mkdtempSync(path.join(tmpdir(), 'switchyard-configmap-'));
  publish(yaml(['a', 'b']));
  const file = path.join(mount, 'config.yaml');
  server = createSwitchyard(await loadConfigFile(file), { logger: pino({ level: 'silent' }) });
  url = await server.listen();
  server.watchConfig(file);
});
afterAll(async () => {
  await server.close();
  await Promise.all(cdns.map((c) => c.close()));
  await origin.close();
  rmSync(mount, { recursive: true, force: true });
});

test('a ConfigMap update (the ..data symlink swapped) applies to the next reload, twice in a row', async () => {
  const master = await get(`${url}live/master.m3u8`);
  const media = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, url).href;
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');

  for (const [order, cdn] of [
    [['b', 'a'], 'b'],
    [['a', 'b'], 'a'],
  ] as const) {
    const before = server.runtime.state.version;
    publish(yaml([...order]));
    await waitFor(() => server.runtime.state.version > before, 10_000);
    expect(server.runtime.lastReloadError).toBeNull();
    // Reload like a player: the move waits until the new CDN is seen to serve the newest segment
    // ("stayed on …: … is being checked"), which a busy machine can take a few reloads to confirm.
    let got: string | null = null;
    for (let i = 0; i < 100 && got !== cdn; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      got = (await get(media)).headers.get('x-switchyard-cdn');
    }
    expect(got).toBe(cdn);
  }
});
