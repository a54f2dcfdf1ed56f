import type { QoeSignal } from '../../src/qoe/signals';
import { get, playlistUris, startStack, waitFor, type Stack } from '../helpers/stack';

const ADMIN = 'qoe-test-admin-token-0123456789';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A new live session: its media playlist URL (with the session token) and the CDN it was given. */
async function openSession(stack: Stack): Promise<{ media: string; token: string; cdn: string }> {
  const master = await get(`${stack.url}live/master.m3u8`);
  expect(master.status).toBe(200);
  const variant = playlistUris(master.body).find((u) => u.includes('.m3u8')) as string;
  const media = new URL(variant, `${stack.url}live/master.m3u8`).href;
  const token = /\/s\/([^/]+)\//.exec(media)?.[1] as string;
  return { media, token, cdn: master.headers.get('x-switchyard-cdn') as string };
}

function post(url: string, body: string, type = 'application/cmcd', headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
}

describe('QoE signals through a real Switchyard', () => {
  let stack: Stack;
  const signals: QoeSignal[] = [];
  beforeAll(async () => {
    stack = await startStack({
      streams: ['live'],
      extra: () => ({
        policy: { type: 'qoe', tolerance: 0.1 },
        admin: { token: ADMIN },
        qoe: {
          window: '1m',
          windows: 1,
          minSessions: 4,
          sessionsPerClient: 2,
          events: { ratePerClient: 1000, burst: 1000 },
        },
      }),
    });
    stack.server.runtime.qoeSignals.subscribe((s) => signals.push(s));
  });
  afterAll(() => stack.close());
  beforeEach(() => {
    signals.length = 0;
  });

  it("reads CMCD from the query and from the CMCD-* headers of playlist requests, about the session's CDN", async () => {
    const s = await openSession(stack);
    const cmcd = encodeURIComponent('bs,br=3200,mtp=1200,ot=m,sid="p1",su');
    const q = await get(`${s.media}?CMCD=${cmcd}`, {
      headers: { 'cloudfront-viewer-country': 'de', 'x-asn': 'AS3320' },
    });
    expect(q.status).toBe(200);
    const h = await get(s.media, {
      headers: { 'cmcd-status': 'bs', 'cmcd-object': 'br=3200', 'cmcd-request': 'mtp=9000' },
    });
    expect(h.status).toBe(200);
    const mine = signals.filter((x) => x.source !== 'cmsd');
    expect(mine.map((x) => x.source)).toEqual(['cmcd-query', 'cmcd-header']);
    expect(mine[0]).toMatchObject({
      cdn: s.cdn,
      country: 'DE',
      asn: 3320,
      starved: true,
      throughputKbps: 1200,
      bitrateKbps: 3200,
    });
    expect(mine[0]?.sessionId).toBe(mine[1]?.sessionId);
  });

  it('takes event-mode batches at /cmcd and /s/<token>/cmcd, naming the CDN from the report or the session', async () => {
    const s = await openSession(stack);
    const segUrl = new URL('live/seg-1.ts', stack.cdn('b').url).href;
    const open = await post(
      `${stack.url}cmcd`,
      [
        `e=rr,ot=v,rc=503,sid="player-1",ts=1,url="${segUrl}",v=2`,
        'e=t,sid="player-1",pt=1000,ts=2,v=2',
      ].join('\n'),
    );
    expect(open.status).toBe(204);
    expect(open.headers.get('access-control-allow-origin')).toBe('*');
    const bound = await post(
      `${stack.url}s/${s.token}/cmcd`,
      'e=rr,ot=v,rc=200,ts=3,v=2',
      'text/plain;charset=UTF-8',
    );
    expect(bound.status).toBe(204);
    const events = signals.filter((x) => x.source === 'cmcd-event');
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      sessionId: 'cmcd:player-1',
      cdn: 'b',
      segmentErrors: 1,
      client: '127.0.0.1',
    });
    expect(events[2]).toMatchObject({ cdn: s.cdn, segmentRequests: 1, segmentErrors: 0 });
    expect(events[2]?.client).toBeUndefined();
    expect(events[2]?.sessionId).not.toMatch(/^cmcd:/);
  });

  it('answers bad reports with a clear error and a defined status', async () => {
    const partly = await post(`${stack.url}cmcd`, 'e=t,sid="x",ts=1\n((((\ne=t,sid="x",ts=2');
    expect(partly.status).toBe(200);
    expect(await partly.json()).toEqual({ accepted: 2, rejected: [2], truncated: false });

    const garbage = await post(`${stack.url}cmcd`, '((((\n))))');
    expect(garbage.status).toBe(400);
    const g = (await garbage.json()) as { error: { code: string; message: string } };
    expect(g.error.code).toBe('CMCD_INVALID');
    expect(g.error.message).toMatch(/lines 1, 2 are not CMCD/);
    expect((await post(`${stack.url}cmcd`, '')).status).toBe(400);

    const json = await post(`${stack.url}cmcd`, '{"e":"t"}', 'application/json');
    expect(json.status).toBe(415);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe('CMCD_MEDIA_TYPE');

    const big = await post(`${stack.url}cmcd`, 'e=t,ts=1\n'.repeat(10_000));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('CMCD_TOO_LARGE');

    const forged = await post(`${stack.url}s/not-a-token/cmcd`, 'e=t,ts=1');
    expect(forged.status).toBe(403);

    const preflight = await fetch(`${stack.url}cmcd`, {
      method: 'OPTIONS',
      headers: { origin: 'https://player.test', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    // The server still answers afterwards.
    expect((await get(`${stack.url}healthz`)).status).toBe(200);
  });
});

describe('QoE-driven moves through the fleet scores', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      streams: ['live'],
      extra: () => ({
        // prior 0: a CDN every voter found bad scores 0 and takes no new session at all.
        policy: { type: 'qoe', tolerance: 0.1, prior: 0 },
        admin: { token: ADMIN },
        qoe: { window: '1m', windows: 1, minSessions: 4 },
      }),
    });
  });
  afterAll(() => stack.close());

  it('moves sessions off a CDN whose players report failing segments (fleet scores, one vote per session)', async () => {
    const sessions: { media: string; token: string; cdn: string }[] = [];
    while (
      sessions.filter((s) => s.cdn === 'a').length < 5 ||
      sessions.filter((s) => s.cdn === 'b').length < 5
    )
      sessions.push(await openSession(stack));
    for (const s of sessions) {
      // Each session reports many times: it still votes once.
      const lines = Array.from(
        { length: 6 },
        (_, i) => `e=rr,ot=v,rc=${s.cdn === 'a' ? 503 : 200},ts=${i},v=2`,
      );
      expect((await post(`${stack.url}s/${s.token}/cmcd`, lines.join('\n'))).status).toBe(204);
    }
    const qoe = await fetch(`${stack.url}admin/qoe`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await qoe.json()) as {
      cdns: { cdn: string; sessions: number; goodShare: number; errorRate: number }[];
    };
    const a = body.cdns.find((c) => c.cdn === 'a');
    const nA = sessions.filter((s) => s.cdn === 'a').length;
    expect(a).toMatchObject({ sessions: nA, goodShare: 0, errorRate: 1 });
    const victim = sessions.find((s) => s.cdn === 'a') as { media: string };
    const reload = await get(victim.media);
    expect(reload.status).toBe(200);
    expect(reload.headers.get('x-switchyard-cdn')).toBe('b');
    expect(reload.headers.get('x-switchyard-reason')).toMatch(/^qoe: a scores 0, moved to b/);
    // New sessions avoid a too.
    for (let i = 0; i < 10; i++) expect((await openSession(stack)).cdn).toBe('b');
  });
});

describe('CMSD duress from a CDN, through the probes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      streams: ['live'],
      extra: () => ({ policy: { type: 'qoe' }, admin: { token: ADMIN }, metrics: { token: ADMIN } }),
    });
  });
  afterAll(() => stack.close());

  it('takes a CDN that says du out of new choices and moves its sessions, and lets it back when it stops', async () => {
    const runtime = stack.server.runtime;
    const cmsd: QoeSignal[] = [];
    runtime.qoeSignals.subscribe((s) => {
      if (s.source === 'cmsd') cmsd.push(s);
    });
    let onA: { media: string } | undefined;
    while (!onA) {
      const s = await openSession(stack);
      if (s.cdn === 'a') onA = s;
    }
    stack.cdn('a').setCmsd({ duress: true });
    await waitFor(() => runtime.monitor.health('a')?.duress === true, 10_000);
    expect(runtime.monitor.health('a')?.healthy).toBe(true);
    expect(cmsd.some((s) => s.cdn === 'a' && s.duress === true)).toBe(true);
    const moved = await get(onA.media);
    expect(moved.headers.get('x-switchyard-cdn')).toBe('b');
    expect(moved.headers.get('x-switchyard-reason')).toMatch(/^qoe: a under duress \(CMSD du\), moved to b/);
    for (let i = 0; i < 10; i++) expect((await openSession(stack)).cdn).toBe('b');
    const state = (await (
      await fetch(`${stack.url}admin/qoe`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      cdns: { cdn: string; probeDuress: boolean }[];
    };
    expect(state.cdns.find((c) => c.cdn === 'a')?.probeDuress).toBe(true);
    const metrics = await get(`${stack.url}metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(metrics.body).toMatch(/switchyard_cdn_duress\{cdn="a"\} 1/);

    stack.cdn('a').setCmsd({ duress: false });
    await waitFor(() => runtime.monitor.health('a')?.duress === false, 10_000);
    const cdns = new Set<string>();
    for (let i = 0; i < 30; i++) cdns.add((await openSession(stack)).cdn);
    expect(cdns).toEqual(new Set(['a', 'b']));
  });

  it('reads duress players echo in CMCD v2 (cmsdd) once enough sessions say so', async () => {
    const runtime = stack.server.runtime;
    const echo = `cmsdd="${b64('"fixture-b";du')}"`;
    const sessions = [await openSession(stack), await openSession(stack), await openSession(stack)];
    expect(runtime.store.qoe.duress('b', runtime.now())).toBe(false);
    for (const s of sessions)
      await post(`${stack.url}s/${s.token}/cmcd`, `e=rr,ot=v,rc=200,cdn="b",${echo},ts=1,v=2`);
    expect(runtime.store.qoe.duress('b', runtime.now())).toBe(true);
  });
});

describe('CMCD event endpoint limits', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      streams: ['live'],
      extra: () => ({ qoe: { events: { ratePerClient: 0.001, burst: 2, maxReports: 2 } } }),
    });
  });
  afterAll(() => stack.close());

  it('reads at most maxReports lines, then refuses a fast sender with 429 and Retry-After', async () => {
    const first = await post(`${stack.url}cmcd`, 'e=t,ts=1\ne=t,ts=2\ne=t,ts=3');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 2, rejected: [], truncated: true });
    expect((await post(`${stack.url}cmcd`, 'e=t,ts=4')).status).toBe(204);
    const limited = await post(`${stack.url}cmcd`, 'e=t,ts=5');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('CMCD_RATE_LIMITED');
  });

  it('is off (404) when qoe.events.enabled is false, after a reload', async () => {
    stack.server.runtime.reload({
      ...stack.config,
      qoe: { ...stack.config.qoe, events: { ...stack.config.qoe.events, enabled: false } },
    });
    const off = await post(`${stack.url}cmcd`, 'e=t,ts=1');
    expect(off.status).toBe(404);
  });
});
