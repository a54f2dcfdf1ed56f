import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDecisionLine, type DecisionRecord } from '../../src/decisions/record';
import { get, startStack, waitFor, type Stack } from '../helpers/stack';

/**
 * The decision log through a real Switchyard: a sampled session's every decision lands in the JSON
 * Lines file with the views the policy saw; a switch is recorded even when its session is not sampled.
 */
let dir: string;
let stack: Stack | undefined;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'switchyard-declog-'));
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function readLog(file: string): DecisionRecord[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const r = parseDecisionLine(line);
      if ('error' in r) throw new Error(`${r.error}: ${line}`);
      return r;
    });
}

async function openLive(s: Stack): Promise<{ media: string; session: string }> {
  const master = await get(`${s.url}live/master.m3u8`, {
    headers: { 'cf-ipcountry': 'fr', 'user-agent': 'Lavf/59.27.100' },
  });
  const media = new URL(master.body.split('\n').find((l) => l.startsWith('/s/')) as string, s.url).href;
  return { media, session: master.headers.get('x-switchyard-session') as string };
}

test('every decision of a sampled session is written, with what the policy saw', async () => {
  const file = path.join(dir, 'decisions.jsonl');
  stack = await startStack({
    streams: ['live'],
    extra: () => ({ decisions: { sample: 1, flushInterval: 50, file: { path: file } } }),
  });
  const { media, session } = await openLive(stack);
  for (let i = 0; i < 3; i++)
    expect((await get(media, { headers: { 'cf-ipcountry': 'fr' } })).status).toBe(200);
  await stack.server.runtime.decisions.flush();
  const records = readLog(file).filter((r) => r.session === session);
  // The master (informs only) and three media reloads (place segments).
  expect(records.map((r) => r.places)).toEqual([false, true, true, true]);
  const first = records[0] as DecisionRecord;
  // The master is not a live playlist itself; its media playlists are.
  expect(records.map((r) => r.live)).toEqual([false, true, true, true]);
  expect(first).toMatchObject({
    v: 1,
    stream: 'live',
    protocol: 'hls',
    sampled: true,
    rate: 1,
    policy: 'weighted',
    client: { country: 'FR', uaFamily: 'ffmpeg' },
  });
  expect(first.cdns.map((c) => [c.id, c.healthy])).toEqual([
    ['a', true],
    ['b', true],
  ]);
  expect(records.every((r) => r.cdn === first.cdn)).toBe(true);
  // A media playlist's record says how much media it sends (from the master's BANDWIDTH).
  expect(records[1]?.delivery?.bitrateBps).toBeGreaterThan(0);
  expect(stack.server.runtime.decisions.recent().filter((r) => r.session === session)).toHaveLength(4);
});

test('with sampling off, a switch is still recorded', async () => {
  const file = path.join(dir, 'switches.jsonl');
  stack = await startStack({
    streams: ['live'],
    extra: () => ({
      decisions: { sample: 0, flushInterval: 50, file: { path: file } },
      policy: { type: 'failover', order: ['a', 'b'] },
    }),
  });
  const s = stack;
  const { media, session } = await openLive(s);
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
  s.cdn('a').setMode({ kind: 'down' });
  await waitFor(() => s.server.runtime.monitor.health('a')?.healthy === false, 10_000);
  expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('b');
  await s.server.runtime.decisions.flush();
  const records = readLog(file);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({
    session,
    sampled: false,
    rate: 0,
    cdn: 'b',
    switched: { from: 'a', to: 'b' },
    previous: 'a',
  });
  expect(records[0]?.cdns.find((c) => c.id === 'a')?.healthy).toBe(false);
});

const ADMIN = 'admin-token-0123456789abcdef';

test('POST /admin/whatif replays the recent window through a candidate, compared with the live config', async () => {
  stack = await startStack({
    streams: ['live'],
    extra: () => ({
      admin: { token: ADMIN },
      decisions: { sample: 1 },
      policy: { type: 'failover', order: ['a', 'b'] },
    }),
  });
  const s = stack;
  for (let i = 0; i < 3; i++) {
    const { media } = await openLive(s);
    for (let j = 0; j < 2; j++) expect((await get(media)).headers.get('x-switchyard-cdn')).toBe('a');
  }
  const post = (body: string, query = '', type = 'application/yaml') =>
    fetch(`${s.url}admin/whatif${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': type },
      body,
    });
  const candidate = {
    ...JSON.parse(JSON.stringify(s.config)),
    policy: { type: 'failover', order: ['b', 'a'] },
  };
  const res = await post(JSON.stringify(candidate), '', 'application/json');
  expect(res.status).toBe(200);
  const report = (await res.json()) as {
    log: { replayed: number; sessions: number };
    moves: { sessions: number; byPair: unknown[] };
    totals: { cdn: string; currentShare: number; candidateShare: number }[];
    problems: { count: number };
  };
  expect(report.log.sessions).toBe(3);
  expect(report.log.replayed).toBe(9);
  expect(report.moves.sessions).toBe(3);
  expect(report.moves.byPair).toEqual([{ from: 'a', to: 'b', sessions: 3 }]);
  expect(report.totals).toEqual([
    { cdn: 'a', currentShare: 1, candidateShare: 0 },
    { cdn: 'b', currentShare: 0, candidateShare: 1 },
  ]);
  expect(report.problems.count).toBe(0);

  const html = await post(JSON.stringify(candidate), '?format=html');
  expect(html.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await html.text()).toContain('<svg');

  const bad = await post(JSON.stringify({ ...candidate, policy: { type: 'failover', order: ['z'] } }));
  expect(bad.status).toBe(400);
  const error = (await bad.json()) as { error: { code: string; message: string } };
  expect(error.error).toMatchObject({ code: 'CANDIDATE_INVALID' });
  expect(error.error.message).toContain('policy.order.0');
  expect((await post('')).status).toBe(400);
  expect((await post('x'.repeat(2 * 1024 * 1024))).status).toBe(413);
  expect((await fetch(`${s.url}admin/whatif`, { method: 'POST', body: 'x' })).status).toBe(401);
});
