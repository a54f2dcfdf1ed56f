/**
 * What reading CMCD costs on the request path, in process: a typical player's payload (v1 from
 * hls.js, v2 with inner lists) decoded by @svta/cml-cmcd (what event-mode bodies go through), by the
 * request path's Structured Field decoder (src/qoe/sf-dict.ts), and by the hand-written parser
 * Switchyard had before (bench/lib/cmcd-handwritten.ts); and the whole per-request QoE work (decode,
 * signal, publish, windowed aggregation). Microseconds per request, median of rounds. The library's
 * figure is why requests do not use it: it builds an Error for every number it reads.
 */
import { decodePayloadWithLibrary, decodeRequest, flatten } from '../src/qoe/cmcd';
import { QoeAggregates } from '../src/qoe/aggregate';
import { signalFromCmcd } from '../src/qoe/observe';
import { QoeSignalBus } from '../src/qoe/signals';
import { parseCmcdHeaders, parseCmcdQuery } from './lib/cmcd-handwritten';
import type { BenchSection, SectionResult } from './section';
import { fmtSpread, round, spread, type Spread } from './lib/stats';

const V1_PAYLOAD =
  'br=3200,bl=21300,d=4004,mtp=25400,ot=v,rtp=15000,sf=h,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=l,tb=6000';
const V2_PAYLOAD =
  'br=(3200;v 128;a),bl=(21300;v 22000;a),d=4004,mtp=(25400),ot=v,pt=123400,sf=h,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",sn=42,st=l,sta=p,ts=1700000000000,v=2';
const V1_QUERY = 'CMCD=' + encodeURIComponent(V1_PAYLOAD);
const V2_QUERY = 'CMCD=' + encodeURIComponent(V2_PAYLOAD);
const V1_HEADERS = {
  'cmcd-request': 'bl=21300,dl=18500,mtp=48100,su',
  'cmcd-object': 'br=3200,d=4004,ot=v,tb=6000',
  'cmcd-status': 'bs,rtp=15000',
  'cmcd-session':
    'cid="faec5fc2-ac30-11ea-bb37-0242ac130002",pr=1.08,sf=d,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v',
};

interface Case {
  readonly name: string;
  readonly run: (i: number) => unknown;
}

function microsPerOp(fn: (i: number) => unknown, iterations: number): number {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) if (fn(i) !== undefined) sink++;
  const ms = performance.now() - started;
  if (sink < 0) throw new Error('unreachable');
  return (ms * 1000) / iterations;
}

export const cmcdSection: BenchSection = {
  name: 'cmcd',
  async run(ctx): Promise<SectionResult> {
    const bus = new QoeSignalBus();
    const aggregates = new QoeAggregates();
    bus.subscribe((s) => aggregates.record(s));
    const t0 = Date.now();
    const cases: Case[] = [
      { name: 'v1 query, previous hand-written parser', run: () => parseCmcdQuery(V1_QUERY) },
      { name: 'v1 query, request-path decoder (sf-dict)', run: () => flattenOf(V1_QUERY, {}) },
      { name: 'v1 query, @svta/cml-cmcd', run: () => flatten(decodePayloadWithLibrary(V1_PAYLOAD)) },
      { name: 'v2 query, request-path decoder (sf-dict)', run: () => flattenOf(V2_QUERY, {}) },
      { name: 'v2 query, @svta/cml-cmcd', run: () => flatten(decodePayloadWithLibrary(V2_PAYLOAD)) },
      { name: 'v1 headers, previous hand-written parser', run: () => parseCmcdHeaders(V1_HEADERS) },
      { name: 'v1 headers, request-path decoder (sf-dict)', run: () => flattenOf('', V1_HEADERS) },
      {
        name: 'v2 query: decode + signal + aggregate (whole QoE path)',
        run: (i) => {
          const decoded = decodeRequest(V2_QUERY, {});
          if (!decoded) return undefined;
          const { signal } = signalFromCmcd(
            decoded.payload,
            {
              at: t0 + i,
              source: 'cmcd-query',
              carrier: 'manifest',
              sessionId: `s${i % 5000}`,
              cdn: i % 2 ? 'a' : 'b',
              country: 'DE',
              asn: 3320,
            },
            undefined,
          );
          bus.publish(signal);
          return signal;
        },
      },
    ];
    const iterations = 20_000;
    for (const c of cases) microsPerOp(c.run, iterations); // warm-up
    const readings = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (let r = 0; r < ctx.rounds; r++) {
      for (const c of cases) readings.get(c.name)?.push(microsPerOp(c.run, iterations));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = cases.map((c) => ({ name: c.name, us: spread(readings.get(c.name) ?? []) }));
    for (const r of results) ctx.log(`cmcd: ${r.name}: ${fmtSpread(r.us, 2)} µs/request`);
    const by = (name: string): Spread | undefined => results.find((r) => r.name === name)?.us;
    const lib = by('v1 query, @svta/cml-cmcd');
    const fast = by('v1 query, request-path decoder (sf-dict)');
    const ratio = lib && fast && fast.median > 0 ? round(lib.median / fast.median, 1) : null;
    const rows = results.map((r) => `| ${r.name} | ${fmtSpread(r.us, 2)} |`);
    return {
      json: {
        iterations,
        rounds: ctx.rounds,
        results: results.map((r) => ({ name: r.name, usPerRequest: r.us })),
        libraryVsRequestPathDecoder: ratio,
      },
      markdown: [
        '### CMCD on the request path (`BENCH_ONLY=cmcd`)',
        '',
        `${iterations} requests per reading, ${ctx.rounds} rounds, in process (µs per request, median (min–max)).`,
        '',
        '| case | µs/request |',
        '| --- | --- |',
        ...rows,
        '',
        ratio === null
          ? ''
          : `@svta/cml-cmcd takes ${ratio}x the request-path decoder's time on a v1 payload: event bodies only.`,
        '',
      ].join('\n'),
    };
  },
};

function flattenOf(query: string, headers: Readonly<Record<string, string>>): unknown {
  const decoded = decodeRequest(query, headers);
  return decoded ? flatten(decoded.payload) : undefined;
}
