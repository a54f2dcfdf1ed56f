import { PassThrough } from 'node:stream';
import { parseFault } from '../../src/loadtest/faults';
import { parseExpectation } from '../../src/loadtest/report';
import { runLoadtest } from '../../src/loadtest/run';
import { startStack, type Stack } from '../helpers/stack';

describe('loadtest against the real proxy and fixture CDNs', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ streams: ['live', 'llhls', 'vod'] });
  });
  afterAll(() => stack.close());

  it("counts what the CDNs' own logs count, and sees sessions leave a CDN that went down", async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const report = await runLoadtest(
      {
        urls: [stack.url],
        streams: ['live', 'llhls'],
        sessions: 24,
        rampS: 0.5,
        durationS: 6,
        protocol: 'hls',
        variant: 'random',
        segments: 'get',
        faults: [parseFault('at=2s cdn=b down')],
        expectations: [parseExpectation('manifest_errors=0'), parseExpectation('evacuate<=3s')],
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
    const playlistFetches = stack.origin.requests.filter((e) => e.path.endsWith('.m3u8')).length;
    expect(report.origin.fetches).toBe(playlistFetches);
    expect(report.origin.perManifestRequest).toBeLessThan(1);
    expect(report.manifests.blockingReloads).toBeGreaterThan(0);

    const fault = report.faults[0];
    expect(fault).toMatchObject({ cdn: 'b', outage: true });
    // Probing every 200 ms with fall 1, 1 s target duration: gone from b well within 3 s.
    expect(fault?.evacuateMs).not.toBeNull();
    expect(fault?.evacuateMs).toBeLessThanOrEqual(3000);
    const last = report.timeline.at(-1);
    expect(last?.segmentsByCdn.b).toBe(0);
    expect(report.expectations.every((e) => e.ok)).toBe(true);
    expect(text).toMatch(/sessions \d+\/24 {2}manifests \d+\/s/);
    expect(text).toContain('fault: at=2s cdn=b down');
  }, 20_000);
});
