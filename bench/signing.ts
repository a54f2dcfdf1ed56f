/**
 * The cost of CDN token signing on the hot path: the 100-segment live playlist reloaded by 1,000
 * sessions from three Switchyards in one run — CDNs that do not sign, CDNs that sign with a
 * prefix-scoped token (akamai-token2 ACL: one token per epoch) and CDNs that sign every URL
 * (fastly-token) — interleaved over rounds on the same core. With epoch minting the signed template
 * is built once per (manifest, CDN, epoch), so signed stays within 10 % of unsigned (the bar).
 */
import { BENCH_STREAM } from './playlists';
import { measure } from './cpu';
import type { BenchContext, BenchSection, SectionResult } from './section';
import { startSwitchyard, type ServerProcess } from './lib/servers';
import { fmtSpread, round, spread, type Spread } from './lib/stats';

const SCHEMES = {
  none: undefined,
  'akamai-token2': { scheme: 'akamai-token2', key: '00112233445566778899aabbccddeeff', window: '10m' },
  'fastly-token': {
    scheme: 'fastly-token',
    key: 'iqFPeN2u+Z0Lm5IrsKaOFKRqEU5Gw8ePtaEkHZWuD24=',
    window: '10m',
  },
} as const;
type Scheme = keyof typeof SCHEMES;
const NAMES = Object.keys(SCHEMES) as Scheme[];

interface SchemeResult {
  readonly scheme: Scheme;
  readonly rps: Spread;
  readonly cpuUsPerRequest: Spread;
  /** Per round: req/s signed ÷ req/s unsigned. */
  readonly vsUnsigned: Spread | undefined;
  readonly errors: number;
}

function cdns(ctx: BenchContext, scheme: Scheme): Record<string, unknown>[] {
  const auth = SCHEMES[scheme];
  return ['a', 'b'].map((id) => ({
    id,
    baseUrl: `${ctx.origin.base}cdn-${id}/`,
    weight: 1,
    ...(auth ? { auth } : {}),
  }));
}

export const signingSection: BenchSection = {
  name: 'signing',
  async run(ctx): Promise<SectionResult> {
    const paths = ctx.tokens(1000).map((t) => `/s/${t}/${BENCH_STREAM}/media-100.m3u8`);
    const servers = new Map<Scheme, ServerProcess>();
    const readings = new Map<Scheme, { rps: number; cpu: number; errors: number }[]>(
      NAMES.map((n) => [n, []]),
    );
    try {
      for (const name of NAMES) {
        servers.set(
          name,
          await startSwitchyard({
            originBase: ctx.origin.base,
            cpus: ctx.serverCpus,
            config: { cdns: cdns(ctx, name) },
          }),
        );
      }
      for (const name of NAMES) await measure(ctx, servers.get(name) as ServerProcess, paths, 1);
      for (let r = 0; r < ctx.rounds; r++) {
        // Rotate the order each round so a drift in machine load favours none.
        const order = NAMES.map((_, i) => NAMES[(i + r) % NAMES.length] as Scheme);
        for (const name of order) {
          const m = await measure(ctx, servers.get(name) as ServerProcess, paths, ctx.seconds);
          readings.get(name)?.push({ rps: m.rps, cpu: m.cpuUsPerRequest, errors: m.errors });
        }
      }
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
    const base = readings.get('none') ?? [];
    const results: SchemeResult[] = NAMES.map((scheme) => {
      const rs = readings.get(scheme) ?? [];
      return {
        scheme,
        rps: spread(rs.map((x) => x.rps)),
        cpuUsPerRequest: spread(rs.map((x) => x.cpu)),
        vsUnsigned:
          scheme === 'none' ? undefined : spread(rs.map((x, i) => round(x.rps / (base[i]?.rps || 1)))),
        errors: rs.reduce((n, x) => n + x.errors, 0),
      };
    });
    for (const r of results) {
      ctx.log(
        `signing ${r.scheme.padEnd(13)} ${fmtSpread(r.rps, 0)} req/s, ${fmtSpread(r.cpuUsPerRequest, 1)} µs CPU/request` +
          (r.vsUnsigned ? `, ${fmtSpread(r.vsUnsigned)} of unsigned` : '') +
          (r.errors > 0 ? `, ${r.errors} errors` : ''),
      );
    }
    const md = [
      '### CDN token signing (100-segment live playlist, 1,000 sessions reloading)',
      '',
      '| CDNs sign with | req/s | CPU µs / request | req/s vs unsigned |',
      '|---|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.scheme === 'none' ? 'nothing (unsigned)' : r.scheme} | ${fmtSpread(r.rps, 0)} | ${fmtSpread(r.cpuUsPerRequest, 1)} | ${r.vsUnsigned ? fmtSpread(r.vsUnsigned) : '—'} |`,
      ),
      '',
      'Median (min–max) over interleaved rounds; the goal is ≥ 0.9 of unsigned.',
      '',
    ].join('\n');
    return { json: results, markdown: md };
  },
};
