import { parseArgs } from 'node:util';
import path from 'node:path';
import { LoadtestUsageError, parseDurationMs, parseFault } from './faults';
import type { VariantChoice } from './hls';
import { runLoadtest, type LoadtestOptions } from './run';
import { formatSummary, METRICS, parseExpectation } from './report';

export const LOADTEST_HELP = `switchyard loadtest — simulated players against Switchyard, with CDN faults

Usage:
  switchyard loadtest [options]

With no --url it starts the fixture origin, fixture CDNs a and b and a proxy on 127.0.0.1 (ephemeral
ports) and stops them at the end. It stops by itself after --duration.

  --url URL            Switchyard instance (base URL, or a manifest URL); repeat for several instances
  --stream S           stream under each base: an id (live, llhls, vod, fmp4, aes, byterange, dash,
                       dash-live, dash-timeline, dash-list, dash-base) or a path like
                       live/master.m3u8 or dash/manifest.mpd; repeatable (default: live, llhls, dash-live)
  --sessions N         simulated players (default 50)
  --ramp SECONDS       start them evenly over this time (default 5)
  --duration SECONDS   whole run, ramp included (default 30)
  --protocol P         hls | dash | mix: which streams to play (default mix)
  --variant V          lowest | highest | random (default lowest)
  --segments M         get | head: how segments are fetched (default get)
  --cmcd MODE          off | query | event: CMCD v2 the players send, on playlist requests (CMCD=)
                       or as event reports POSTed to Switchyard's /cmcd (default off)
  --fault SPEC         e.g. "at=20s cdn=b down for=30s", "at=40s cdn=a latency=800ms",
                       "at=10s cdn=a status=503 for=5s"; repeatable
  --cdn ID=URL         a fixture CDN of an external run (names segment hosts, takes faults); repeatable
  --origin URL         the fixture origin of an external run (origin fetches from its log)
  --expect EXPR        a gate, e.g. "errors_after_evacuation=0", "evacuate<=8s", "p99<50ms",
                       "origin_ratio<=0.05", "lost=0"; repeatable; the exit code is 1 when one fails
                       (every gate metric is listed below)
  --mode M             embedded stack: rewrite | redirect | steering delivery (default rewrite)
  --failover F         embedded stack: auto | manifest | none in-manifest fallbacks (default auto:
                       ranked BaseURLs for DASH, none for HLS); players move to a fallback at a
                       failed segment, so "lost=0" holds with manifest through a CDN kill
  --report FILE.json   write the JSON report
  --html FILE.html     write a self-contained HTML report with charts
  --quiet              no progress line
  --help, -h           this text

Gate metrics (durations take ms or s, e.g. 250ms, 8s):
${Object.entries(METRICS)
  .map(([name, m]) => `  ${name.padEnd(25)}${m.what}`)
  .join('\n')}

Only 127.0.0.1/localhost and the hosts of --url, --cdn and --origin are contacted.
Exit codes: 0 ok, 1 an --expect failed, 2 usage error.
`;

function positiveNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min)
    throw new LoadtestUsageError(`--${name}: expected a number ≥ ${min}, got "${value}"`);
  return n;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new LoadtestUsageError(`--${name}: expected one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function seconds(name: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new LoadtestUsageError(`--${name}: expected seconds (or 30s, 2m), got "${value}"`);
  return ms / 1000;
}

function absoluteUrl(name: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.href;
  } catch {
    throw new LoadtestUsageError(`--${name}: expected an http(s) URL, got "${value}"`);
  }
}

export function parseLoadtestArgs(
  args: readonly string[],
): LoadtestOptions & { quiet: boolean; help: boolean } {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      url: { type: 'string', multiple: true },
      stream: { type: 'string', multiple: true },
      sessions: { type: 'string' },
      ramp: { type: 'string' },
      duration: { type: 'string' },
      protocol: { type: 'string' },
      variant: { type: 'string' },
      segments: { type: 'string' },
      cmcd: { type: 'string' },
      fault: { type: 'string', multiple: true },
      cdn: { type: 'string', multiple: true },
      origin: { type: 'string' },
      expect: { type: 'string', multiple: true },
      report: { type: 'string' },
      html: { type: 'string' },
      mode: { type: 'string' },
      failover: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new LoadtestUsageError(`unexpected argument "${positionals[0]}"`);
  const durationS = values.duration === undefined ? 30 : seconds('duration', values.duration);
  if (durationS <= 0) throw new LoadtestUsageError('--duration: expected more than 0 s');
  const rampS = values.ramp === undefined ? Math.min(5, durationS / 2) : seconds('ramp', values.ramp);
  if (rampS > durationS)
    throw new LoadtestUsageError(`--ramp ${rampS}s is longer than --duration ${durationS}s`);
  const cdns = (values.cdn ?? []).map((c) => {
    const eq = c.indexOf('=');
    if (eq <= 0) throw new LoadtestUsageError(`--cdn: expected ID=URL, got "${c}"`);
    const url = absoluteUrl('cdn', c.slice(eq + 1));
    return { id: c.slice(0, eq), url: url.endsWith('/') ? url : url + '/' };
  });
  const options = {
    urls: (values.url ?? []).map((u) => absoluteUrl('url', u)),
    streams: values.stream ?? [],
    sessions: Math.floor(positiveNumber('sessions', values.sessions ?? '50', 1)),
    rampS,
    durationS,
    protocol: oneOf('protocol', values.protocol ?? 'mix', ['hls', 'dash', 'mix'] as const),
    variant: oneOf<VariantChoice>('variant', values.variant ?? 'lowest', ['lowest', 'highest', 'random']),
    segments: oneOf('segments', values.segments ?? 'get', ['get', 'head'] as const),
    cmcd: oneOf('cmcd', values.cmcd ?? 'off', ['off', 'query', 'event'] as const),
    faults: (values.fault ?? []).map(parseFault),
    expectations: (values.expect ?? []).map(parseExpectation),
    cdns,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
  const delivery =
    values.mode === undefined && values.failover === undefined
      ? undefined
      : {
          ...(values.mode === undefined
            ? {}
            : { mode: oneOf('mode', values.mode, ['rewrite', 'redirect', 'steering'] as const) }),
          ...(values.failover === undefined
            ? {}
            : { failover: oneOf('failover', values.failover, ['auto', 'manifest', 'none'] as const) }),
        };
  return {
    ...options,
    ...(delivery === undefined ? {} : { delivery }),
    ...(values.origin === undefined ? {} : { originUrl: absoluteUrl('origin', values.origin) }),
    ...(values.report === undefined ? {} : { reportFile: path.resolve(values.report) }),
    ...(values.html === undefined ? {} : { htmlFile: path.resolve(values.html) }),
  };
}

/** `switchyard loadtest ...`: returns the exit code. */
export async function loadtestCommand(
  args: readonly string[],
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = {
    out: process.stdout,
    err: process.stderr,
  },
): Promise<number> {
  let options: ReturnType<typeof parseLoadtestArgs>;
  try {
    options = parseLoadtestArgs(args);
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (err instanceof LoadtestUsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`switchyard loadtest: ${e.message}\n`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    io.out.write(LOADTEST_HELP);
    return 0;
  }
  try {
    const report = await runLoadtest(options, { out: io.err, progress: !options.quiet });
    io.out.write(formatSummary(report));
    if (options.reportFile) io.out.write(`JSON report: ${options.reportFile}\n`);
    if (options.htmlFile) io.out.write(`HTML report: ${options.htmlFile}\n`);
    return report.passed ? 0 : 1;
  } catch (err) {
    if (err instanceof LoadtestUsageError) {
      io.err.write(`switchyard loadtest: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
