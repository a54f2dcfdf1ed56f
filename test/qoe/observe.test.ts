import { decodePayload } from '../../src/qoe/cmcd';
import { isBad, signalFromCmcd, type CmcdContext, type SessionMarks } from '../../src/qoe/observe';

const ctx = (over: Partial<CmcdContext> = {}): CmcdContext => ({
  at: 100_000,
  source: 'cmcd-event',
  carrier: 'event',
  sessionId: 's1',
  cdn: 'a',
  ...over,
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('signalFromCmcd', () => {
  it('counts a response-received event as one segment request, failed on 4xx/5xx or no response', () => {
    const ok = signalFromCmcd(decodePayload('e=rr,ot=v,rc=200,ttfb=40,ts=1000,v=2'), ctx(), undefined).signal;
    expect(ok).toMatchObject({
      segmentRequests: 1,
      segmentErrors: 0,
      ttfbMs: 40,
      event: 'rr',
      cdn: 'a',
      sessionId: 's1',
    });
    expect(isBad(ok)).toBe(false);
    for (const rc of [404, 503, 0]) {
      const s = signalFromCmcd(decodePayload(`e=rr,ot=v,rc=${rc},v=2`), ctx(), undefined).signal;
      expect(s.segmentErrors).toBe(1);
      expect(isBad(s)).toBe(true);
    }
    // A playlist's response is no segment.
    expect(
      signalFromCmcd(decodePayload('e=rr,ot=m,rc=500,v=2'), ctx(), undefined).signal.segmentRequests,
    ).toBeUndefined();
  });

  it('turns absolute counters and the playhead into deltas since the previous report', () => {
    const first = signalFromCmcd(
      decodePayload('e=t,pt=10000,ts=50000,bsa=(1),bsda=(500),v=2'),
      ctx(),
      undefined,
    );
    expect(first.signal.playMs).toBeUndefined();
    expect(first.signal.rebufferMs).toBeUndefined();
    const next = signalFromCmcd(
      decodePayload('e=t,pt=19000,ts=60000,bsa=(2),bsda=(1500),v=2'),
      ctx({ at: 110_000 }),
      first.marks,
    );
    expect(next.signal).toMatchObject({ playMs: 9000, rebufferMs: 1000, starved: true });
    expect(next.marks).toMatchObject({ pt: 19000, ts: 60000, bsa: 2, bsda: 1500 });
  });

  it('bounds what a player may claim: no playhead faster than 4x the clock, no more stall than time passed', () => {
    const prev: SessionMarks = { at: 0, pt: 0, ts: 1000, bsda: 0 };
    const s = signalFromCmcd(
      decodePayload('e=t,pt=999999999,ts=2000,bsda=(99999999),v=2'),
      ctx(),
      prev,
    ).signal;
    expect(s.playMs).toBe(4000);
    expect(s.rebufferMs).toBe(1000);
    const back = signalFromCmcd(decodePayload('e=t,pt=5,ts=3000,v=2'), ctx(), {
      at: 0,
      pt: 100,
      ts: 2000,
    }).signal;
    expect(back.playMs).toBeUndefined();
  });

  it('reads starvation from v1 bs, v2 bsd and a rebuffering play state', () => {
    expect(
      signalFromCmcd(
        decodePayload('bs,br=3000'),
        ctx({ carrier: 'manifest', source: 'cmcd-query' }),
        undefined,
      ).signal.starved,
    ).toBe(true);
    expect(
      signalFromCmcd(decodePayload('e=rr,rc=200,bsd=(700 300),v=2'), ctx(), undefined).signal.rebufferMs,
    ).toBe(1000);
    expect(signalFromCmcd(decodePayload('e=ps,sta=r,v=2'), ctx(), undefined).signal.starved).toBe(true);
    expect(signalFromCmcd(decodePayload('e=ps,sta=p,v=2'), ctx(), undefined).signal.starved).toBeUndefined();
  });

  it('judges throughput below the bitrate as bad, and reads echoed CMSD duress', () => {
    const slow = signalFromCmcd(
      decodePayload('mtp=1000,br=3000'),
      ctx({ carrier: 'manifest' }),
      undefined,
    ).signal;
    expect(slow).toMatchObject({ throughputKbps: 1000, bitrateKbps: 3000 });
    expect(isBad(slow)).toBe(true);
    expect(isBad(slow, 0.2)).toBe(false);
    const echo = signalFromCmcd(
      decodePayload(`e=rr,rc=200,cmsdd="${b64('"edge";du')}",v=2`),
      ctx(),
      undefined,
    ).signal;
    expect(echo.duress).toBe(true);
  });

  it('counts a redirect-mode segment request, and its duration as played when there is no playhead', () => {
    const s = signalFromCmcd(
      decodePayload('ot=v,d=4004,br=3200'),
      ctx({ carrier: 'segment', source: 'cmcd-query' }),
      undefined,
    ).signal;
    expect(s).toMatchObject({ segmentRequests: 1, playMs: 4004 });
  });
});
