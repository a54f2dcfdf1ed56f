import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseFault } from '../../src/loadtest/faults';
import { LIVE_START_SEGMENTS } from '../../src/loadtest/player';
import { parseExpectation } from '../../src/loadtest/report';
import { runLoadtest } from '../../src/loadtest/run';
import { startStack, type Stack } from '../helpers/stack';

/**
 * The loadtest against a real Switchyard, fixture origin and CDNs: what it counts is what their own
 * logs count, and it sees sessions leave a CDN that went down. Nothing here is timed against the wall
 * clock (a busy machine stretches every timer; the speed of a failover is the bench's and the e2e
 * failover tests'): the run's length derives from the health config and the stream's target duration,
 * and the evacuation is asserted as an order of events in Switchyard's decision log.
 */

/** The live simulators' target duration (they loop fixtures/media/livesrc), read from the source. */
function liveTargetDurationS(): number {
  const root = path.join(__dirname, '..', '..', 'fixtures', 'media', 'livesrc');
  const targets = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => readFileSync(path.join(root, e.name, 'index.m3u8'), 'utf8'))
    .map((text) => Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]));
  expect(targets.length).toBeGreaterThan(0);
  for (const t of targets) expect(t).toBeGreaterThan(0);
  return Math.max(...targets);
}

describe('loadtest against the real proxy and fixture CDNs', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Every decision recorded, so the test can read in what order Switchyard moved the sessions.
    stack = await startStack({
      streams: ['live', 'llhls', 'vod'],
      extra: () => ({ decisions: { sample: 1 } }),
    });
  });
  afterAll(() => stack.close());

  it("counts what the CDNs' own logs count, and sees sessions leave a CDN that went down", async () => {
    const { interval, fall, timeout } = stack.config.health;
    const targetS = liveTargetDurationS();
    // The loadtest's rule for "quiet" (src/loadtest/report.ts): two target durations, at least 2 s.
    const settleMs = Math.max(2000, 2000 * targetS);
    // After the fault: the verdict (fall probes an interval apart, each failing within its timeout),
    // then a playlist reload and the segments a player had queued from its last playlist (it starts
    // LIVE_START_SEGMENTS behind the live edge): a target duration each.
    const leaveMs = interval * fall + timeout + (1 + LIVE_START_SEGMENTS) * targetS * 1000;
    const faultAtS = 2;
    const durationS = Math.ceil(faultAtS + (leaveMs + settleMs) / 1000);
    // The loadtest's gate: evacuated (and quiet for settleMs) within the run's window after the fault.
    // How fast is not this test's question; that the loadtest sees it, and in what order, is.
    const gateMs = durationS * 1000 - faultAtS * 1000 - settleMs;

    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const report = await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live', 'llhls'],
        sessions: 24,
        rampS: 0.5,
        durationS,
        protocol: 'hls',
        variant: 'random',
        segments: 'get',
        faults: [parseFault(`at=${faultAtS}s cdn=b down`)],
        expectations: [parseExpectation('manifest_errors=0'), parseExpectation(`evacuate<=${gateMs}ms`)],
        cdns: stack.cdns.map((c) => ({ id: c.id, url: c.url })),
        originUrl: stack.origin.url,
      },
      { out },
    );

    for (const id of ['a', 'b']) {
      const log = stack.cdn(id).requests;
      expect(report.segments.byCdn[id]?.requests).toBe(log.length);
      // Requests the CDN failed on purpose (socket destroyed: status 0) are the player's errors.
      const failed = log.filter((e) => e.status === 0 || e.status >= 400).length;
      expect(report.segments.byCdn[id]?.errors).toBe(failed);
    }
    expect(report.segments.requests).toBeGreaterThan(24);
    expect(report.sessions.started).toBe(24);
    // Every playlist the origin served went to Switchyard during the run (this test asks it nothing).
    const playlistFetches = stack.origin.requests.filter((e) => e.path.endsWith('.m3u8')).length;
    expect(report.origin.fetches).toBe(playlistFetches);
    expect(report.origin.perManifestRequest).toBeLessThan(1);
    expect(report.manifests.blockingReloads).toBeGreaterThan(0);

    // Switchyard's side, in order: once b's verdict is in a decision's view, the decision places the
    // session on a; sessions that were on b moved from it.
    // (b is up again once the run ends, so its verdict is read from the decisions' own views.)
    const decisions = stack.server.runtime.decisions.recent().filter((d) => d.places);
    const bSeen = (healthy: boolean) =>
      decisions.filter((d) => d.cdns.find((c) => c.id === 'b')?.healthy === healthy);
    const afterVerdict = bSeen(false);
    expect(bSeen(true).some((d) => d.cdn === 'b')).toBe(true);
    expect(afterVerdict.length).toBeGreaterThan(0);
    expect(afterVerdict.filter((d) => d.cdn !== 'a')).toEqual([]);
    expect(afterVerdict.some((d) => d.switched?.from === 'b' && d.switched.to === 'a')).toBe(true);

    // The loadtest's side: it saw the sessions leave b and stay gone.
    const fault = report.faults[0];
    expect(fault).toMatchObject({ cdn: 'b', outage: true });
    expect(fault?.requestsAfterFault).toBeGreaterThan(0);
    expect(fault?.evacuateMs).not.toBeNull();
    const last = report.timeline.at(-1);
    expect(last?.segmentsByCdn.b).toBe(0);
    expect(report.expectations.every((e) => e.ok)).toBe(true);
    expect(text).toMatch(/sessions \d+\/24 {2}manifests \d+\/s/);
    expect(text).toContain(`fault: at=${faultAtS}s cdn=b down`);
  }, 60_000);
});
