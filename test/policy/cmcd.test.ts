import fc from 'fast-check';
import { cmcdFromRequest, parseCmcd, parseCmcdHeaders, parseCmcdQuery } from '../../src/policy/cmcd';

describe('CMCD as policies see it (CTA-5004, v1 payloads)', () => {
  it('parses the spec example sent as a query parameter', () => {
    const query =
      'CMCD=br%3D3200%2Cbs%2Cd%3D4004%2Cmtp%3D25400%2Cot%3Dv%2Crtp%3D15000%2Csid%3D%226e2fb550-c457-11e9-bb97-0800200c9a66%22%2Ctb%3D6000';
    expect(parseCmcdQuery(query)).toEqual({
      br: 3200,
      bs: true,
      d: 4004,
      mtp: 25400,
      ot: 'v',
      rtp: 15000,
      sid: '6e2fb550-c457-11e9-bb97-0800200c9a66',
      tb: 6000,
    });
  });

  it('finds CMCD among other parameters and leaves their encoding alone', () => {
    expect(parseCmcdQuery('token=a%2Fb&CMCD=ot%3Dm%2Csf%3Dh%2Cst%3Dl&_HLS_msn=3')).toEqual({
      ot: 'm',
      sf: 'h',
      st: 'l',
    });
    expect(parseCmcdQuery('token=abc')).toBeUndefined();
    expect(parseCmcdQuery('')).toBeUndefined();
  });

  it('merges the four headers (spec example)', () => {
    expect(
      parseCmcdHeaders({
        'cmcd-request': 'bl=21300,dl=18500,mtp=48100,nor="..%2F300kbps%2Ftrack.m4v",nrr="12323-48763",su',
        'cmcd-object': 'br=3200,d=4004,ot=v,tb=6000',
        'cmcd-status': 'bs,rtp=15000',
        'cmcd-session':
          'cid="faec5fc2-ac30-11ea-bb37-0242ac130002",pr=1.08,sf=d,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v',
        'user-agent': 'x',
      }),
    ).toEqual({
      bl: 21300,
      dl: 18500,
      mtp: 48100,
      nor: '..%2F300kbps%2Ftrack.m4v',
      nrr: '12323-48763',
      su: true,
      br: 3200,
      d: 4004,
      ot: 'v',
      tb: 6000,
      bs: true,
      rtp: 15000,
      cid: 'faec5fc2-ac30-11ea-bb37-0242ac130002',
      pr: 1.08,
      sf: 'd',
      sid: '6e2fb550-c457-11e9-bb97-0800200c9a66',
      st: 'v',
    });
    expect(parseCmcdHeaders({ 'user-agent': 'x' })).toBeUndefined();
  });

  it('reads quoted strings with escapes and commas, custom keys, and ?0/?1 booleans', () => {
    expect(parseCmcd('cid="a,b \\"c\\" \\\\d",com.example-device="tv",bs=?0,su=?1')).toEqual({
      cid: 'a,b "c" \\d',
      'com.example-device': 'tv',
      bs: false,
      su: true,
    });
  });

  it('keeps the query value over a header value', () => {
    expect(cmcdFromRequest('CMCD=br%3D100', { 'cmcd-object': 'br=200,ot=v' })).toEqual({ br: 100, ot: 'v' });
  });

  it('skips garbage and keeps what it can read', () => {
    // What is not a Structured Field value (12abc, 9e999, an unterminated string) is dropped.
    expect(parseCmcd(',,=5,br=,bl=12abc,mtp=9e999,sid="unterminated,ot=v')).toEqual({});
    expect(parseCmcd('bl=12abc,mtp=9e999,ot=v')).toEqual({ ot: 'v' });
    expect(parseCmcd(`br=${'9'.repeat(400)},bs`)).toEqual({ bs: true });
    expect(parseCmcd('__proto__=1,bs')).toEqual({ bs: true });
    expect(Object.getPrototypeOf(parseCmcd('__proto__=1'))).toBe(Object.prototype);
    expect(parseCmcdQuery('CMCD=br%3D1%2%2Cbs')).toEqual({ bs: true });
    expect(parseCmcd('x'.repeat(100_000) + '=1')).toEqual({});
  });

  it('never throws and always returns a flat record of scalars (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const out = parseCmcd(text);
        for (const v of Object.values(out)) expect(['string', 'number', 'boolean']).toContain(typeof v);
        parseCmcdQuery('CMCD=' + text);
        parseCmcdHeaders({ 'cmcd-request': text, 'cmcd-status': text });
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips well-formed payloads (property)', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/).filter((k) => k !== '__proto__');
    const value = fc.oneof(
      fc.constant(true as const),
      fc.integer({ min: 0, max: 1e9 }),
      fc.stringMatching(/^[a-z]{1,4}$/).filter((t) => !/^\d/.test(t)),
      fc.stringMatching(/^[ -~]{0,20}$/).map((s) => ({ quoted: s })),
    );
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 20 }), (data) => {
        const payload = Object.entries(data)
          .map(([k, v]) =>
            v === true
              ? k
              : typeof v === 'object'
                ? `${k}="${v.quoted.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
                : `${k}=${v}`,
          )
          .join(',');
        const expected = Object.fromEntries(
          Object.entries(data).map(([k, v]) => [k, typeof v === 'object' ? v.quoted : v]),
        );
        expect(parseCmcd(payload)).toEqual(expected);
        expect(parseCmcdQuery('a=1&CMCD=' + encodeURIComponent(payload))).toEqual(expected);
      }),
    );
  });
});
