import { parseFault } from '../../src/loadtest/faults';
import { Recorder } from '../../src/loadtest/recorder';
import {
  buildReport,
  coalescing,
  evaluate,
  formatSummary,
  parseExpectation,
  percentile,
  shares,
  splitErrors,
  switchStats,
  timeToEvacuate,
} from '../../src/loadtest/report';

describe('time to evacuate', () => {
  const times = [100, 900, 1900, 2100, 2600, 3050, 4000];

  it('is from the fault to the last request to the CDN, once it stayed quiet', () => {
    // Fault at 2000: requests at 2100, 2600, 3050, then only one at 4000 ... window ends at 9000.
    expect(timeToEvacuate(times, 2000, 9000, 2000)).toEqual({
      evacuateMs: 2000,
      requestsAfterFault: 4,
      lastRequestMs: 4000,
    });
  });

  it('is null when players still fetch from the CDN at the end of the window', () => {
    expect(timeToEvacuate(times, 2000, 5000, 2000).evacuateMs).toBeNull();
  });

  it('ignores requests after the window (the CDN is back) and is 0 when none came after the fault', () => {
    expect(timeToEvacuate(times, 2000, 3000, 0)).toMatchObject({ evacuateMs: 600, requestsAfterFault: 2 });
    expect(timeToEvacuate(times, 5000, 9000, 2000)).toEqual({
      evacuateMs: 0,
      requestsAfterFault: 0,
      lastRequestMs: null,
    });
  });
});

describe('report maths', () => {
  it('percentiles by nearest rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4], 25)).toBe(1);
  });

  it('switch statistics', () => {
    expect(switchStats([0, 0, 1, 3])).toEqual({
      total: 4,
      sessionsSwitched: 2,
      meanPerSession: 1,
      p50: 0,
      p99: 3,
      max: 3,
    });
    expect(switchStats([])).toMatchObject({ total: 0, meanPerSession: 0, max: 0 });
  });

  it('shares of segment requests, zero when idle', () => {
    expect(
      shares(
        new Map([
          ['a', 3],
          ['b', 1],
        ]),
        ['a', 'b', 'c'],
      ),
    ).toEqual({ a: 0.75, b: 0.25, c: 0 });
    expect(shares(new Map(), ['a'])).toEqual({ a: 0 });
  });

  it('coalescing: origin fetches per manifest request', () => {
    expect(coalescing(3, 1000)).toBe(0.003);
    expect(coalescing(null, 1000)).toBeNull();
    expect(coalescing(1, 0)).toBeNull();
  });
});

describe('expectations', () => {
  it('parses metrics, operators and durations', () => {
    expect(parseExpectation('errors=0')).toMatchObject({ metric: 'errors', op: '=', value: 0 });
    expect(parseExpectation('evacuate<=8s')).toMatchObject({ metric: 'evacuate', op: '<=', value: 8000 });
    expect(parseExpectation('p99 < 50ms')).toMatchObject({ metric: 'p99', op: '<', value: 50 });
    expect(parseExpectation('p99<50')).toMatchObject({ value: 50 });
    expect(() => parseExpectation('latency<5')).toThrow(/unknown metric "latency"/);
    expect(() => parseExpectation('errors<=few')).toThrow(/expected <metric><op><value>/);
    expect(() => parseExpectation('errors<=5s')).toThrow(/expected a number/);
  });

  it('splits errors into the detection window of each outage and after its evacuation', () => {
    const outages = [
      { atMs: 1000, evacuateMs: 500 },
      { atMs: 5000, evacuateMs: 0 },
    ];
    expect(splitErrors([999, 1000, 1500, 1501, 5000, 5001], outages)).toEqual({
      duringDetection: 3,
      afterEvacuation: 3,
    });
    expect(splitErrors([2000], [])).toEqual({ duringDetection: 0, afterEvacuation: 1 });
    // An outage never evacuated: nothing can be said after it, and a gate on it fails.
    expect(splitErrors([2000], [{ atMs: 1000, evacuateMs: null }])).toEqual({
      duringDetection: 1,
      afterEvacuation: null,
    });
    expect(
      evaluate([parseExpectation('errors_after_evacuation=0')], { errors_after_evacuation: null })[0],
    ).toMatchObject({
      ok: false,
      shown: 'not measured in this run',
    });
  });

  it('fails a gate whose metric was not measured', () => {
    const results = evaluate(
      [parseExpectation('errors=0'), parseExpectation('evacuate<=8s'), parseExpectation('rps>=10')],
      { errors: 0, evacuate: null, rps: 9.5 },
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(results[1]?.note).toMatch(/not measured/);
  });
});

describe('buildReport', () => {
  it('adds up what the recorder saw', () => {
    let now = 1_000_000;
    const r = new Recorder(now, ['http://127.0.0.1:1/'], () => now);
    r.sessionStarted(0);
    r.sessionStarted(1);
    r.manifest(0, 2, false);
    r.manifest(0, 4, false);
    r.manifest(0, 200, true);
    now += 1500;
    r.manifest(0, 0, false, 'http_503');
    for (const [cdn, t] of [
      ['a', 0],
      ['b', 100],
      ['b', 1200],
      ['a', 4000],
    ] as const) {
      now = 1_000_000 + t;
      r.segmentSent(cdn);
      r.segmentDone(cdn, 5, 1000, cdn === 'b' && t === 1200 ? 'connection_reset' : undefined);
    }
    r.switched(1);
    r.targetDuration(1);
    const report = buildReport({
      recorder: r,
      startedAt: 1_000_000,
      durationMs: 10_000,
      targetSessions: 2,
      settings: {},
      faults: [{ fault: parseFault('at=1s cdn=b down for=5s'), appliedAtMs: 1000, endedAtMs: 6000 }],
      originFetches: 2,
      cdnIds: ['a', 'b'],
      health: { intervalMs: 1000, fall: 2 },
      expectations: [
        parseExpectation('errors=0'),
        parseExpectation('evacuate<=1s'),
        parseExpectation('errors_after_evacuation=0'),
        parseExpectation('detection_errors<=1'),
      ],
    });
    expect(report.manifests).toMatchObject({ requests: 4, errors: 1, blockingReloads: 1, perSecond: 0.4 });
    expect(report.manifests.latencyMs.count).toBe(2);
    expect(report.manifests.latencyMs.p50).toBeCloseTo(2, 1);
    expect(report.segments.byCdn).toEqual({
      a: { requests: 2, errors: 0, bytes: 2000, share: 0.5 },
      b: { requests: 2, errors: 1, bytes: 1000, share: 0.5 },
    });
    // The segment error's request was sent at 1195 ms, inside b's detection window (1000-1200 ms);
    // the manifest error's at 1500 ms, after b was evacuated.
    expect(report.errors).toEqual({
      total: 2,
      duringDetection: 1,
      afterEvacuation: 1,
      byKind: { 'manifest:http_503': 1, 'segment:connection_reset': 1 },
    });
    expect(report.origin).toEqual({ fetches: 2, perManifestRequest: 0.5 });
    expect(report.faults[0]).toMatchObject({ evacuateMs: 200, requestsAfterFault: 1, outage: true });
    expect(report.evacuateMs).toBe(200);
    expect(report.evacuateBoundMs).toBe(3000);
    expect(report.switches.total).toBe(1);
    expect(report.timeline[1]?.segmentsByCdn).toEqual({ a: 0, b: 1 });
    expect(report.expectations.map((e) => e.ok)).toEqual([false, true, false, true]);
    // Every figure printed with its unit.
    expect(report.expectations.map((e) => e.shown)).toEqual(['2', '200.0 ms', '1', '1']);
    expect(formatSummary(report)).toContain('PASS  evacuate<=1s  (actual 200.0 ms)');
    expect(report.passed).toBe(false);
  });
});
