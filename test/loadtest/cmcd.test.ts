import { PassThrough } from 'node:stream';
import { CmcdSession, reportUrl } from '../../src/loadtest/cmcd';
import { parseFault } from '../../src/loadtest/faults';
import { runLoadtest } from '../../src/loadtest/run';
import { rendezvousRank } from '../../src/policy/weighted';
import type { CdnView } from '../../src/policy/types';
import { decodeEventBody, decodeQuery, flatten } from '../../src/qoe/cmcd';
import type { QoeSignal } from '../../src/qoe/signals';
import { TokenSigner } from '../../src/session/token';
import { startStack, type Stack } from '../helpers/stack';

describe("simulated players' CMCD v2", () => {
  it('sends request-mode payloads with the session state, and event batches of rr/ps/t reports', () => {
    let t = 1_000;
    const q = new CmcdSession('query', () => 0.5, true, t);
    q.setBitrate(3_200_000);
    q.segment({
      url: 'http://cdn/a.ts',
      status: 200,
      ms: 200,
      bytes: 500_000,
      durationS: 2,
      stallMs: 300,
      at: t,
    });
    const query = flatten(decodeQuery('CMCD=' + encodeURIComponent(q.queryPayload(t) ?? '')) ?? {});
    expect(query).toMatchObject({
      v: 2,
      ot: 'm',
      br: 3200,
      bs: true,
      mtp: 20000,
      sid: q.sid,
      st: 'l',
      pt: 2000,
    });
    // Starvation is reported once.
    expect(
      flatten(decodeQuery('CMCD=' + encodeURIComponent(q.queryPayload(t) ?? '')) ?? {}).bs,
    ).toBeUndefined();

    const e = new CmcdSession('event', () => 0.5, true, t);
    e.setBitrate(3_200_000);
    e.segment({
      url: 'http://cdn/a.ts',
      status: 503,
      ms: 5,
      bytes: 0,
      durationS: 0,
      stallMs: 0,
      at: (t += 100),
    });
    e.segment({
      url: 'http://cdn/b.ts',
      status: 200,
      ms: 100,
      bytes: 100_000,
      durationS: 2,
      stallMs: 700,
      at: (t += 11_000),
    });
    const batch = e.takeBatch(t, true) ?? '';
    const reports = decodeEventBody(batch, 100).reports.map(flatten);
    expect(reports.map((r) => r.e)).toEqual(['rr', 'ps', 'rr', 'ps', 't']);
    expect(reports[0]).toMatchObject({ rc: 503, url: 'http://cdn/a.ts', ot: 'v', sid: e.sid });
    expect(reports[1]).toMatchObject({ sta: 'r' });
    expect(reports[2]).toMatchObject({ rc: 200, bs: true, bsd: 700, d: 2000 });
    expect(reports[4]).toMatchObject({ bsa: 1, bsda: 700 });
    expect(e.takeBatch(t, true)).toBeUndefined();
  });

  it('reports to the session-token endpoint when the URL carries one', () => {
    expect(reportUrl('http://127.0.0.1:8080/s/TOKEN/live/media.m3u8')).toBe(
      'http://127.0.0.1:8080/s/TOKEN/cmcd',
    );
    expect(reportUrl('http://127.0.0.1:8080/live/master.m3u8')).toBe('http://127.0.0.1:8080/cmcd');
  });
});

describe('QoE-driven moves with loadtest players against the real proxy', () => {
  let stack: Stack;
  const signals: QoeSignal[] = [];
  beforeAll(async () => {
    stack = await startStack({
      streams: ['live'],
      extra: () => ({
        policy: { type: 'qoe', tolerance: 0.2 },
        // An estimate covers 3 windows of 2 s, so it always holds every session's last event batch
        // (they go out every 4 s); 3 voters are enough to score a CDN here.
        qoe: { window: '2s', windows: 3, minSessions: 3 },
      }),
    });
    stack.server.runtime.qoeSignals.subscribe((s) => signals.push(s));
  });
  afterAll(() => stack.close());

  it('moves sessions off a CDN failing 60% of segments, which probes alone do not see (event mode)', async () => {
    const out = new PassThrough();
    out.resume();
    // A new session's CDN is the rendezvous winner of its session id, which Switchyard draws at
    // random: a drawing 2 or fewer of the 20 (too few to reach minSessions 3, and then no score can
    // move) was a binomial tail of 211 / 2^20, about one run in 5,000. Here the ids Switchyard mints
    // alternate between ones that hash to a and ones that hash to b (equal weights, all scores 1
    // before the fault), so each CDN starts exactly 10 sessions.
    const views = stack.cdns.map((c) => ({ id: c.id, weight: 1 }) as CdnView);
    let minted = 0;
    let candidate = 0;
    const mint = jest.spyOn(TokenSigner.prototype, 'newSessionId').mockImplementation(() => {
      const want = views[minted++ % views.length]?.id;
      for (;;) {
        const id = `qoe-move-${candidate++}`;
        if (rendezvousRank(id, views)[0]?.id === want) return id;
      }
    });
    const report = await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live'],
        // Players fetching segments by HEAD: on a busy machine, players starved of CPU stall on every
        // CDN alike, and a CDN that only stalls its players does not stand out. Twenty: ten start on
        // a (above), enough voters for minSessions 3 however a busy machine delays their reports.
        sessions: 20,
        rampS: 0.5,
        // Event-mode batches go out every few seconds: long enough for two after the fault.
        durationS: 14,
        protocol: 'hls',
        variant: 'lowest',
        segments: 'head',
        cmcd: 'event',
        faults: [parseFault('at=2s cdn=a errors=60%')],
        expectations: [],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
      },
      { out, progress: false },
    ).finally(() => mint.mockRestore());
    // Every session's id came from the list above (else the split was random again).
    expect(minted).toBeGreaterThanOrEqual(20);
    const runtime = stack.server.runtime;
    // The probes never saw a fault.
    expect(runtime.monitor.health('a')?.healthy).toBe(true);
    expect(report.errors.byKind['cmcd:refused'] ?? 0).toBe(0);
    const events = signals.filter((s) => s.source === 'cmcd-event');
    expect(events.some((s) => s.cdn === 'a' && (s.segmentErrors ?? 0) > 0)).toBe(true);
    expect(events.every((s) => s.cdn === 'a' || s.cdn === 'b')).toBe(true);
    const moves = runtime.recentSwitches.filter((s) => s.from === 'a' && /^qoe: a scores/.test(s.reason));
    expect(moves.length).toBeGreaterThan(0);
    // The reason names the score of where the session went (b, where no one suffered).
    expect(moves.every((s) => /, moved to b \(score 1\)$/.test(s.reason))).toBe(true);
    // By the end, most segments go to b. (How many sessions have moved by then depends on how fast
    // a busy machine lets the players report: a CI run with a core kept busy saw 13 on b and 7 on
    // a in the last 2 s; the move itself is asserted above.)
    const tail = report.timeline.slice(-2);
    const onA = tail.reduce((n, s) => n + (s.segmentsByCdn.a ?? 0), 0);
    const onB = tail.reduce((n, s) => n + (s.segmentsByCdn.b ?? 0), 0);
    expect(onB).toBeGreaterThan(onA);
  }, 40_000);

  it('sends event reports during the run when every segment fails, not only when the session ends', async () => {
    signals.length = 0;
    const out = new PassThrough();
    out.resume();
    const runtime = stack.server.runtime;
    await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live'],
        sessions: 2,
        rampS: 0.2,
        durationS: 7,
        protocol: 'hls',
        variant: 'lowest',
        segments: 'head',
        cmcd: 'event',
        faults: [parseFault('at=0s cdn=a errors=100%'), parseFault('at=0s cdn=b errors=100%')],
        expectations: [],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
      },
      { out, progress: false },
    );
    const endedAt = runtime.now();
    const failed = signals.filter((s) => s.source === 'cmcd-event' && (s.segmentErrors ?? 0) > 0);
    expect(new Set(failed.map((s) => s.sessionId)).size).toBe(2);
    // Event batches go out every 4 s: each session's first one well before the run's last second.
    for (const sid of new Set(failed.map((s) => s.sessionId)))
      expect(Math.min(...failed.filter((s) => s.sessionId === sid).map((s) => s.at))).toBeLessThan(
        endedAt - 1_500,
      );
  }, 30_000);

  it('reaches Switchyard in query mode on every playlist reload, with the playhead advancing', async () => {
    signals.length = 0;
    const out = new PassThrough();
    out.resume();
    await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live'],
        sessions: 4,
        rampS: 0.2,
        durationS: 4,
        protocol: 'hls',
        variant: 'lowest',
        segments: 'get',
        cmcd: 'query',
        faults: [],
        expectations: [],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
      },
      { out, progress: false },
    );
    const q = signals.filter((s) => s.source === 'cmcd-query');
    expect(new Set(q.map((s) => s.sessionId)).size).toBe(4);
    expect(q.some((s) => (s.playMs ?? 0) > 0)).toBe(true);
    expect(q.every((s) => s.cdn === 'a' || s.cdn === 'b')).toBe(true);
  }, 30_000);
});
