/**
 * A config file caught half-written is never applied (issue 11): the watcher debounces file events
 * and applies a file only once two reads a short time apart agree. A reload that removes CDNs or
 * streams viewers are using, or all but one of them, is logged as a warning with the diff. Real files
 * on disk, a real Switchyard.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig, validateConfig } from '../../src/configure';
import type { Config } from '../../src/config/schema';
import { ConfigWatcher } from '../../src/config/watch';
import { get, startStack, TEST_SECRET, waitFor, type Stack } from '../helpers/stack';
import { capturingLogger } from './support';

const SETTLE_MS = 1500;

function yaml(cdns: string[]): string {
  return [
    'listen: { host: 127.0.0.1, port: 0 }',
    `secrets: ['${TEST_SECRET}']`,
    'streams:',
    '  - { id: live, origin: http://127.0.0.1:9/live/ }',
    'cdns:',
    ...cdns.map((id) => `  - { id: ${id}, baseUrl: http://127.0.0.1:9/${id}/ }`),
    'origin: { allowPrivateAddresses: true }',
    '',
  ].join('\n');
}

test('a file written in two steps is applied once, whole: never the half that is valid YAML on its own', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-reload-')), 'config.yaml');
  writeFileSync(file, yaml(['a', 'b', 'c']));
  const applied: Config[] = [];
  const errors: Error[] = [];
  const watcher = new ConfigWatcher(
    file,
    { onConfig: (c) => applied.push(c), onError: (e) => errors.push(e) },
    (text, at) => parseConfig(text, at),
    { debounceMs: 50, settleMs: SETTLE_MS },
  );
  watcher.start();
  try {
    const full = yaml(['a', 'b', 'd']);
    // Cut at a line boundary, the first part is a valid config with a single CDN.
    const cut = full.indexOf('  - { id: b');
    writeFileSync(file, full.slice(0, cut));
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(file, full);
    await waitFor(() => applied.length > 0 || errors.length > 0, 15_000);
    // Anything that was going to be applied late has been by now.
    await new Promise((r) => setTimeout(r, SETTLE_MS + 300));
    expect(errors).toEqual([]);
    expect(applied.map((c) => c.cdns.map((x) => x.id))).toEqual([['a', 'b', 'd']]);
  } finally {
    watcher.stop();
  }
});

test('a file that keeps changing is not applied; the error says to write and rename', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchyard-reload-')), 'config.yaml');
  writeFileSync(file, yaml(['a']));
  const applied: Config[] = [];
  const errors: Error[] = [];
  const watcher = new ConfigWatcher(
    file,
    { onConfig: (c) => applied.push(c), onError: (e) => errors.push(e) },
    (text, at) => parseConfig(text, at),
    { debounceMs: 10_000, settleMs: 20, maxUnsettled: 3 },
  );
  watcher.start();
  let i = 0;
  const writer = setInterval(() => writeFileSync(file, yaml(['a']) + `# ${i++}\n`), 5);
  try {
    await watcher.reload();
  } finally {
    clearInterval(writer);
    watcher.stop();
  }
  // The writer may pause long enough on a busy machine for two reads to agree: then it was applied.
  if (applied.length === 0) {
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/kept changing between reads.*rename it over/);
  } else expect(errors).toEqual([]);
});

describe('removals', () => {
  let stack: Stack;
  const log = capturingLogger('info');

  beforeAll(async () => {
    stack = await startStack({
      streams: ['vod', 'live', 'fmp4'],
      cdnIds: ['a', 'b', 'c'],
      logger: log.logger,
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  const configWith = (streams: string[], cdns: string[]): Config =>
    validateConfig(
      {
        ...stack.config,
        streams: stack.config.streams.filter((s) => streams.includes(s.id)),
        cdns: stack.config.cdns.filter((c) => cdns.includes(c.id)),
      },
      { env: {} },
    );
  const removals = () => log.entries().filter((e) => e.event === 'config_removal');

  test('removing a stream and CDNs viewers are using: a warning with the diff', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await get(`${stack.url}live/master.m3u8`, { headers: { 'user-agent': `viewer-${i}` } });
      expect(res.status).toBe(200);
    }
    stack.server.runtime.reload(configWith(['vod'], ['a']));
    const [entry] = removals();
    expect(entry).toMatchObject({
      level: 40,
      removedStreams: ['live', 'fmp4'],
      liveStreams: ['live'],
      removedCdns: ['b', 'c'],
      streams: { before: 3, after: 1 },
      cdns: { before: 3, after: 1 },
    });
    expect(entry?.msg).toMatch(/viewers are using now/);
  });

  test('removing a stream nobody watches: an info line, still with the diff', () => {
    stack.server.runtime.reload(configWith(['vod', 'live', 'fmp4'], ['a', 'b', 'c']));
    stack.server.runtime.reload(configWith(['vod', 'live'], ['a', 'b', 'c']));
    const last = removals().at(-1);
    expect(last).toMatchObject({ level: 30, removedStreams: ['fmp4'], liveStreams: [], removedCdns: [] });
  });

  test('all but one stream removed, even unwatched: a warning', () => {
    stack.server.runtime.reload(configWith(['vod'], ['a', 'b', 'c']));
    const last = removals().at(-1);
    expect(last).toMatchObject({ level: 40, removedStreams: ['live'], liveStreams: [] });
    expect(last?.msg).toMatch(/all but one/);
  });
});
