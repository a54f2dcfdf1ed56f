import { z } from 'zod';
import { clientCmcd } from './cmcd';
import type {
  CdnSelectionPolicy,
  PolicyEvent,
  PolicyFactory,
  PolicyIssue,
  Selection,
  SelectionRequest,
} from './types';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
/** One value or a list of them; a list matches any of its values. */
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t)]);

const matchSchema = z.strictObject({
  /** ISO 3166-1 alpha-2 codes of the viewer's country, e.g. [DE, AT, CH]. */
  country: oneOrMany(z.string().min(1)).optional(),
  /** Subdivision codes, as the header sends them ("WA") or with the country ("US-WA"). */
  region: oneOrMany(z.string().min(1)).optional(),
  /** Autonomous system numbers of the viewer's network, e.g. [3320, AS7922]. */
  asn: oneOrMany(z.union([z.string().min(1), z.number().int()])).optional(),
  /** A regular expression (case-insensitive) tested against the User-Agent header. */
  userAgent: z.string().min(1).optional(),
  /** Stream ids. */
  stream: oneOrMany(z.string().min(1)).optional(),
  protocol: z.enum(['hls', 'dash']).optional(),
  live: z.boolean().optional(),
  /**
   * CMCD keys and the values they must have, e.g. { ot: m, st: l, sf: h } or a custom device key
   * { com.example-device: [tv, stb] }; `true` matches a present flag.
   */
  cmcd: z.record(z.string().min(1), oneOrMany(scalar)).optional(),
});

const options = z.strictObject({
  /** Request headers (any case) that carry the viewer's country, region and ASN; the first present wins. */
  headers: z
    .strictObject({
      country: z
        .array(z.string().min(1))
        .default(['cloudfront-viewer-country', 'cf-ipcountry', 'x-country-code']),
      region: z.array(z.string().min(1)).default(['cloudfront-viewer-country-region', 'x-region']),
      asn: z.array(z.string().min(1)).default(['cloudfront-viewer-asn', 'x-asn']),
    })
    .prefault({}),
  /** Tried in order; the first rule whose every condition holds routes the session to its policy. */
  rules: z.array(
    z.strictObject({
      /** Shown in the reason; default: the rule's index. */
      name: z.string().min(1).optional(),
      match: matchSchema,
      policy: z.unknown(),
    }),
  ),
  /** The policy for sessions no rule matches. */
  default: z.unknown().default({ type: 'weighted' }),
});
type RulesOptions = z.output<typeof options>;
type Match = z.output<typeof matchSchema>;

/** What the request tells us about the viewer, read once per decision. */
interface Facts {
  country?: string;
  region?: string;
  asn?: string;
  userAgent?: string;
  cmcd?: Readonly<Record<string, string | number | boolean>>;
}

type Predicate = (facts: Facts, req: SelectionRequest) => boolean;

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const normAsn = (v: string | number) => String(v).trim().toUpperCase().replace(/^AS/, '');

/** One rule's conditions as predicates; all must hold. Throws only on a bad regex (caught by check). */
export function compileMatch(match: Match): Predicate[] {
  const preds: Predicate[] = [];
  if (match.country !== undefined) {
    const set = new Set(list(match.country).map((c) => c.toUpperCase()));
    preds.push((f) => f.country !== undefined && set.has(f.country));
  }
  if (match.region !== undefined) {
    const set = new Set(list(match.region).map((r) => r.toUpperCase()));
    preds.push(
      (f) =>
        f.region !== undefined &&
        (set.has(f.region) || (f.country !== undefined && set.has(`${f.country}-${f.region}`))),
    );
  }
  if (match.asn !== undefined) {
    const set = new Set(list(match.asn).map(normAsn));
    preds.push((f) => f.asn !== undefined && set.has(f.asn));
  }
  if (match.userAgent !== undefined) {
    const re = new RegExp(match.userAgent, 'i');
    preds.push((f) => f.userAgent !== undefined && re.test(f.userAgent));
  }
  if (match.stream !== undefined) {
    const set = new Set(list(match.stream));
    preds.push((_f, req) => set.has(req.stream.id));
  }
  if (match.protocol !== undefined) {
    const protocol = match.protocol;
    preds.push((_f, req) => req.stream.protocol === protocol);
  }
  if (match.live !== undefined) {
    const live = match.live;
    preds.push((_f, req) => req.stream.live === live);
  }
  for (const [key, wanted] of Object.entries(match.cmcd ?? {})) {
    const values = list(wanted).map((v) => (typeof v === 'string' ? v.toLowerCase() : v));
    preds.push((f) => {
      const got = f.cmcd?.[key];
      if (got === undefined) return false;
      return values.includes(typeof got === 'string' ? got.toLowerCase() : got);
    });
  }
  return preds;
}

function header(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  names: readonly string[],
): string | undefined {
  if (!headers) return undefined;
  for (const name of names) {
    const v = headers[name];
    if (v !== undefined && v !== '') return v.trim();
  }
  return undefined;
}

/**
 * Ordered routing rules: by viewer country/region/ASN (from CDN or load-balancer geo headers), user
 * agent, stream, protocol, liveness and CMCD fields, each to a child policy; the first match wins.
 */
export const rulesPolicy: PolicyFactory<RulesOptions> = {
  type: 'rules',
  options,
  check(opts, ctx) {
    const problems: PolicyIssue[] = [];
    opts.rules.forEach((rule, i) => {
      if (rule.match.userAgent !== undefined) {
        try {
          new RegExp(rule.match.userAgent, 'i');
        } catch (err) {
          problems.push({
            path: ['rules', i, 'match', 'userAgent'],
            message: `expected a regular expression, got ${JSON.stringify(rule.match.userAgent)} (${(err as Error).message})`,
          });
        }
      }
      problems.push(...ctx.validateChild(rule.policy, ['rules', i, 'policy']));
    });
    problems.push(...ctx.validateChild(opts.default, ['default']));
    return problems;
  },
  create(opts, ctx): CdnSelectionPolicy {
    const names = {
      country: opts.headers.country.map((h) => h.toLowerCase()),
      region: opts.headers.region.map((h) => h.toLowerCase()),
      asn: opts.headers.asn.map((h) => h.toLowerCase()),
    };
    const rules = opts.rules.map((rule, i) => ({
      label: rule.name ?? `#${i}`,
      preds: compileMatch(rule.match),
      policy: ctx.createChild(rule.policy, ['rules', i, 'policy']),
    }));
    const fallback = ctx.createChild(opts.default, ['default']);
    const children = [...rules.map((r) => r.policy), fallback];
    return {
      name: 'rules',
      select(req: SelectionRequest): Selection {
        const h = req.client.headers;
        const country = req.client.country ?? header(h, names.country);
        const region = req.client.region ?? header(h, names.region);
        const asn = header(h, names.asn);
        const facts: Facts = {
          country: country?.toUpperCase(),
          region: region?.toUpperCase(),
          asn: asn === undefined ? undefined : normAsn(asn),
          userAgent: req.client.userAgent ?? h?.['user-agent'],
          cmcd: clientCmcd(req.client),
        };
        for (const rule of rules) {
          if (rule.preds.every((p) => p(facts, req))) {
            const inner = rule.policy.select(req);
            return { ...inner, reason: `rules ${rule.label}: ${inner.reason}` };
          }
        }
        const inner = fallback.select(req);
        return { ...inner, reason: `rules default: ${inner.reason}` };
      },
      observe(event: PolicyEvent) {
        // Events do not carry the request a rule matched on: every child hears them (policies with
        // shared state ignore an event they have already seen).
        for (const child of children) child.observe?.(event);
      },
    };
  },
};
