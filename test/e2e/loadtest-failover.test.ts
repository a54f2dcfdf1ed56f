import { PassThrough } from 'node:stream';
import { parseFault } from '../../src/loadtest/faults';
import { parseExpectation } from '../../src/loadtest/report';
import { runLoadtest } from '../../src/loadtest/run';

/**
 * Issue 10's bar for players that read the manifest's fallbacks: with CDN b killed mid-run, the load
 * harness's players (HLS redundant variants with failover: manifest, DASH ranked BaseURLs) lose no
 * segment: each one b fails is fetched from the next copy the manifest offers. The embedded stack,
 * as `switchyard loadtest --failover manifest` runs it.
 */
test('a CDN killed mid-run: zero lost segments for players that use the manifest fallbacks', async () => {
  const out = new PassThrough();
  out.resume();
  const report = await runLoadtest(
    {
      urls: [],
      streams: ['live', 'llhls', 'dash-live'],
      sessions: 24,
      rampS: 2,
      durationS: 16,
      protocol: 'mix',
      variant: 'random',
      segments: 'head',
      faults: [parseFault('at=6s cdn=b down for=6s')],
      expectations: [parseExpectation('lost=0'), parseExpectation('manifest_errors=0')],
      cdns: [],
      delivery: { failover: 'manifest' },
    },
    { out, progress: false },
  );
  expect(report.sessions.started).toBe(24);
  expect(report.faults[0]).toMatchObject({ cdn: 'b', outage: true });
  // The kill hit sessions on b (their segment requests failed)...
  expect(report.segments.byCdn.b?.errors).toBeGreaterThan(0);
  // ... and every such segment came from a fallback: nothing lost, no manifest error.
  expect({ lost: report.playback.lostSegments, manifestErrors: report.manifests.errors }).toEqual({
    lost: 0,
    manifestErrors: 0,
  });
  // (b's error count is larger: an init segment and a media segment fail per move, and a copy's
  // playlist can be reloaded before it lists the segment.)
  expect(report.playback.fallbacks).toBeGreaterThan(0);
  expect(report.expectations.every((e) => e.ok)).toBe(true);
}, 60_000);
