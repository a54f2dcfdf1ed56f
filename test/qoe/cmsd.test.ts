import { cmsdFromEcho, cmsdFromHeaders, readCmsd } from '../../src/qoe/cmsd';
import { cmsdHeaders } from '../../fixtures/servers';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('CMSD (CTA-5006, through @svta/cml-cmsd)', () => {
  it('reads duress, estimates and the intermediary from the two headers', () => {
    expect(readCmsd('n="edge-1",ot=v,br=3200', '"edge-1";etp=48000;rtt=12;mb=6000;rd=3;du')).toEqual({
      duress: true,
      etp: 48000,
      rtt: 12,
      mb: 6000,
      rd: 3,
      n: 'edge-1',
    });
    expect(readCmsd(undefined, '"edge-1";etp=48000')).toEqual({ duress: false, etp: 48000, n: 'edge-1' });
  });

  it('takes the hop nearest the client for estimates, and duress from any hop', () => {
    const r = readCmsd(undefined, '"origin";etp=90000;du, "edge";etp=20000;rtt=30');
    expect(r).toEqual({ duress: true, etp: 20000, rtt: 30, n: 'edge' });
  });

  it('reads what the fixture CDN sends (written by hand, not by the library)', () => {
    const h = cmsdHeaders('a', { duress: true, etp: 7000, rtt: 40 });
    expect(cmsdFromHeaders({ 'cmsd-static': h['CMSD-Static'], 'cmsd-dynamic': h['CMSD-Dynamic'] })).toEqual({
      duress: true,
      etp: 7000,
      rtt: 40,
      n: 'fixture-a',
    });
  });

  it('reads the base64 copies players echo in CMCD v2 (cmsdd, cmsds)', () => {
    expect(cmsdFromEcho(b64('n="edge-2"'), b64('"edge-2";du;etp=100'))).toEqual({
      duress: true,
      etp: 100,
      n: 'edge-2',
    });
    expect(cmsdFromEcho(undefined, undefined)).toBeUndefined();
    expect(cmsdFromEcho(42, true)).toBeUndefined();
  });

  it('treats what it cannot read as absent, and never throws', () => {
    expect(readCmsd('((', ';;;')).toBeUndefined();
    // Readable, but no usable number: only the name is kept.
    expect(readCmsd(undefined, '"a";etp=-5;rtt=abc')).toEqual({ duress: false, n: 'a' });
    expect(cmsdFromEcho('not base64 !!', '')).toBeUndefined();
    expect(readCmsd('x'.repeat(10_000), undefined)).toBeUndefined();
    expect(cmsdFromHeaders({})).toBeUndefined();
  });
});
