import {
  faultTimeline,
  fixtureEndpoint,
  fixtureMode,
  isOutage,
  parseDurationMs,
  parseFault,
} from '../../src/loadtest/faults';

describe('fault schedule parser', () => {
  it('reads an outage with a duration', () => {
    expect(parseFault('at=20s cdn=b down for=30s')).toEqual({
      spec: 'at=20s cdn=b down for=30s',
      cdn: 'b',
      atMs: 20_000,
      forMs: 30_000,
      action: { kind: 'down' },
    });
  });

  it('reads latency and status faults, in any order, lasting to the end without for=', () => {
    expect(parseFault('cdn=a latency=800ms at=40s')).toMatchObject({
      cdn: 'a',
      atMs: 40_000,
      forMs: undefined,
      action: { kind: 'latency', delayMs: 800 },
    });
    expect(parseFault('at=1.5m cdn=edge-2 status=503 for=5s').action).toEqual({
      kind: 'status',
      status: 503,
    });
    expect(parseFault('at=1.5m cdn=edge-2 status=503').atMs).toBe(90_000);
  });

  it.each([
    ['cdn=b down', /expected at=/],
    ['at=20s down', /expected cdn=/],
    ['at=20s cdn=b', /expected what happens/],
    ['at=soon cdn=b down', /at= a duration/],
    ['at=2s cdn=b status=999', /HTTP status/],
    ['at=2s cdn=b down latency=2s', /got two/],
    ['at=2s cdn=b explode', /unknown "explode"/],
    ['at=2s cdn=b down for=0s', /longer than 0/],
  ])('rejects %s', (spec, message) => {
    expect(() => parseFault(spec)).toThrow(message);
  });

  it('orders steps in time, each fault ending back up, an end before a start at the same instant', () => {
    const steps = faultTimeline([
      parseFault('at=10s cdn=a latency=500ms'),
      parseFault('at=2s cdn=b down for=8s'),
      parseFault('at=10s cdn=b status=503 for=1s'),
    ]);
    expect(steps.map((s) => [s.atMs, s.cdn, s.action.kind, s.ends])).toEqual([
      [2000, 'b', 'down', false],
      [10_000, 'b', 'up', true],
      [10_000, 'a', 'latency', false],
      [10_000, 'b', 'status', false],
      [11_000, 'b', 'up', true],
    ]);
  });

  it('maps actions to the fixture CDN control API and knows which are outages', () => {
    expect(fixtureMode({ kind: 'latency', delayMs: 800 })).toEqual({ kind: 'slow', delayMs: 800 });
    expect(fixtureMode({ kind: 'status', status: 503 })).toEqual({ kind: 'status', status: 503 });
    expect(isOutage({ kind: 'down' })).toBe(true);
    expect(isOutage({ kind: 'status', status: 503 })).toBe(true);
    expect(isOutage({ kind: 'latency', delayMs: 800 })).toBe(false);
  });

  it('parses durations with units; bare numbers in seconds', () => {
    expect(parseDurationMs('800ms')).toBe(800);
    expect(parseDurationMs('2')).toBe(2000);
    expect(parseDurationMs('2', 'ms')).toBe(2);
    expect(parseDurationMs('2 minutes')).toBeUndefined();
  });
});

describe('QoE faults', () => {
  it('parses errors= (a share of media requests) and duress, and drives the right control endpoints', () => {
    expect(parseFault('at=3s cdn=a errors=40%').action).toEqual({ kind: 'errors', rate: 0.4 });
    expect(parseFault('at=3s cdn=a errors=0.25').action).toEqual({ kind: 'errors', rate: 0.25 });
    expect(() => parseFault('at=3s cdn=a errors=140%')).toThrow(/errors= a share of media requests/);
    expect(() => parseFault('at=3s cdn=a duress=1')).toThrow(/without a value/);
    const duress = parseFault('at=3s cdn=a duress for=2s');
    expect(faultTimeline([duress]).map((s) => s.action)).toEqual([{ kind: 'duress' }, { kind: 'calm' }]);
    expect(fixtureMode({ kind: 'errors', rate: 0.4 })).toEqual({ kind: 'errors', rate: 0.4, status: 503 });
    expect(fixtureMode({ kind: 'duress' })).toEqual({ duress: true });
    expect(fixtureEndpoint({ kind: 'duress' })).toBe('__fixture/cmsd');
    expect(fixtureEndpoint({ kind: 'calm' })).toBe('__fixture/cmsd');
    expect(fixtureEndpoint({ kind: 'errors', rate: 0.4 })).toBe('__fixture/mode');
    expect(isOutage({ kind: 'errors', rate: 1 })).toBe(false);
  });
});
