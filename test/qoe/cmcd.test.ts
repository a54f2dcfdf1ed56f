import fc from 'fast-check';
import {
  decodeEventBody,
  decodeHeaders,
  decodePayload,
  decodePayloadWithLibrary,
  decodeQuery,
  decodeRequest,
  flatten,
  hasCmcd,
  numberOf,
} from '../../src/qoe/cmcd';

describe('CMCD on the wire (v1 and v2, through @svta/cml-cmcd)', () => {
  it('reads v2 inner lists and keeps their object-type flags', () => {
    const p = decodePayload('br=(3200;v 128;a),bl=(21300;v 22000;a),mtp=(25400),ot=a,e=rr,rc=200,v=2');
    expect(p.br).toEqual([
      { value: 3200, params: { v: true } },
      { value: 128, params: { a: true } },
    ]);
    expect(p.e).toBe('rr');
    // The member flagged with the payload's object type is the one a policy compares.
    expect(flatten(p)).toMatchObject({ br: 128, bl: 22000, mtp: 25400, ot: 'a', rc: 200, v: 2 });
    expect(numberOf(p, 'br')).toBe(128);
  });

  it('reads v1 scalars, tokens and strings as they were', () => {
    expect(flatten(decodePayload('br=3200,bs,ot=v,sf=h,sid="abc",pr=1.08'))).toEqual({
      br: 3200,
      bs: true,
      ot: 'v',
      sf: 'h',
      sid: 'abc',
      pr: 1.08,
    });
  });

  it('sums starvation durations (bsd) rather than picking one', () => {
    expect(flatten(decodePayload('bsd=(400 1200),v=2')).bsd).toBe(1600);
  });

  it('keeps the readable pairs of a payload the library refuses as a whole', () => {
    // `12abc` and the unterminated string are not Structured Field values.
    expect(flatten(decodePayload('br=3200,bl=12abc,ot=v,sid="unterminated'))).toEqual({ br: 3200, ot: 'v' });
    expect(flatten(decodePayload(`br=${'9'.repeat(400)},bs`))).toEqual({ bs: true });
    expect(flatten(decodePayload('__proto__=1,bs'))).toEqual({ bs: true });
    expect(Object.getPrototypeOf(flatten(decodePayload('__proto__=1')))).toBe(Object.prototype);
    expect(decodePayload('x'.repeat(100_000) + '=1')).toEqual({});
    expect(decodePayload('')).toEqual({});
  });

  it('finds CMCD= in a query and decodes its escapes (a broken escape stays as sent)', () => {
    expect(flatten(decodeQuery('token=a%2Fb&CMCD=ot%3Dm%2Csf%3Dh&_HLS_msn=3') ?? {})).toEqual({
      ot: 'm',
      sf: 'h',
    });
    expect(decodeQuery('token=abc')).toBeUndefined();
    expect(flatten(decodeQuery('CMCD=br%3D1%2%2Cbs') ?? {})).toEqual({ bs: true });
  });

  it('merges the four headers; the query wins a conflict and names the transport', () => {
    expect(decodeHeaders({ 'user-agent': 'x' })).toBeUndefined();
    const both = decodeRequest('CMCD=br%3D100', { 'cmcd-object': 'br=200,ot=v', 'cmcd-status': 'bs' });
    expect(both?.via).toBe('query');
    expect(flatten(both?.payload ?? {})).toEqual({ br: 100, ot: 'v', bs: true });
    expect(decodeRequest('', { 'cmcd-session': 'sid="s"' })?.via).toBe('header');
    expect(hasCmcd('a=1', {})).toBe(false);
    expect(hasCmcd('', { 'cmcd-request': 'bl=1' })).toBe(true);
  });

  it('splits an event body into reports, names the unreadable lines, and stops at the cap', () => {
    const body = 'e=t,sid="a",ts=1\r\n\n!!!\ne=rr,rc=404,ts=2\ne=ps,sta=r,ts=3\n';
    const all = decodeEventBody(body, 10);
    expect(all.reports.map((r) => r.e)).toEqual(['t', 'rr', 'ps']);
    expect(all.rejected).toEqual([3]);
    expect(all.truncated).toBe(false);
    const capped = decodeEventBody(body, 2);
    expect(capped.reports).toHaveLength(1);
    expect(capped.truncated).toBe(true);
  });

  it('never throws and yields only scalars or lists of scalars (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const flat = flatten(decodePayload(text));
        for (const v of Object.values(flat)) expect(['string', 'number', 'boolean']).toContain(typeof v);
        decodeQuery('CMCD=' + text);
        decodeHeaders({ 'cmcd-request': text, 'cmcd-status': text });
        decodeEventBody(text, 5);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips well-formed payloads (property)', () => {
    const key = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
    const value = fc.oneof(
      fc.constant(true as const),
      fc.integer({ min: 0, max: 1e9 }),
      fc.stringMatching(/^[a-z]{1,4}$/),
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
        expect(flatten(decodePayload(payload))).toEqual(expected);
        expect(flatten(decodeQuery('a=1&CMCD=' + encodeURIComponent(payload)) ?? {})).toEqual(expected);
      }),
    );
  });
});

describe('the request-path decoder agrees with @svta/cml-cmcd', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,6}$/);
  const bare = fc.oneof(
    fc.integer({ min: -999_999_999, max: 999_999_999 }).map((n) => String(n)),
    fc
      .tuple(fc.integer({ min: 0, max: 99_999 }), fc.integer({ min: 0, max: 999 }))
      .map(([a, b]) => `${a}.${b}`),
    fc.stringMatching(/^[a-zA-Z*][a-zA-Z0-9:/!#$%&'*+.^_`|~-]{0,8}$/),
    fc.stringMatching(/^[ -~]{0,16}$/).map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`),
    fc.constantFrom('?0', '?1'),
  );
  const params = fc
    .array(fc.tuple(key, fc.option(bare, { nil: undefined })), { maxLength: 2 })
    .map((ps) => ps.map(([k, v]) => (v === undefined ? `;${k}` : `;${k}=${v}`)).join(''));
  const member = fc.oneof(
    fc.tuple(key, bare).map(([k, v]) => `${k}=${v}`),
    key,
    fc
      .tuple(key, fc.array(fc.tuple(bare, params), { maxLength: 3 }))
      .map(([k, items]) => `${k}=(${items.map(([v, p]) => v + p).join(' ')})`),
  );
  const dict = fc
    .uniqueArray(member, { maxLength: 12, selector: (m) => m.split('=')[0] })
    .map((ms) => ms.join(','));

  it('on every well-formed payload (property)', () => {
    fc.assert(
      fc.property(dict, (payload) => {
        expect(decodePayload(payload)).toEqual(decodePayloadWithLibrary(payload));
      }),
      { numRuns: 2000 },
    );
  });

  it('and keeps the well-formed members of a payload the library refuses', () => {
    const fast = flatten(decodePayload('br=3200,bl=12abc,x=(1 2,ot=v,e="a\\q",mtp=(900;v)'));
    expect(fast).toEqual({ br: 3200, ot: 'v' });
    expect(flatten(decodePayloadWithLibrary('br=3200,bl=12abc,ot=v'))).toEqual({ br: 3200, ot: 'v' });
  });
});
