import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfigFile, validateConfig } from './configure';
import type { Config } from './config/schema';
import { createLogger } from './log';
import { packageRoot } from './paths';
import { createSwitchyard, type SwitchyardServer } from './server/server';
import {
  FixturePortsError,
  reachableHost,
  startFixtureWorld,
  type FixturePort,
  type FixtureWorld,
} from './fixture-world';
import type { FixtureCdn, FixtureOrigin } from '../fixtures/servers';
import { ACTIVE_SESSION_WINDOW_MS } from './metrics';

export interface RunningDemo {
  readonly proxyUrl: string;
  /** The demo's admin bearer token (the status page asks for it once). */
  readonly adminToken: string;
  readonly origin: FixtureOrigin;
  readonly cdns: readonly FixtureCdn[];
  readonly server: SwitchyardServer;
  close(): Promise<void>;
}

export interface DemoOptions {
  /** The proxy's port (default examples/demo.yaml's listen.port, 8080). Busy: an error, not a fallback. */
  port?: number;
  /** Address the proxy and the fixture servers bind (default 127.0.0.1). */
  host?: string;
  /**
   * Ports of the fixture origin and of each CDN, in config order, used as given (busy is an error).
   * Without it the config's ports are tried and a busy one is replaced by a free one.
   */
  fixturePorts?: readonly number[];
  out: NodeJS.WritableStream;
  /** How often the one-line summary is printed (default 5 s); 0 turns it off. */
  summaryEveryMs?: number;
  /**
   * Another demo config (default examples/demo.yaml; e.g. examples/qoe-demo.yaml): its CDNs and
   * origin are fixture servers, started on the ports its URLs name (a busy one swapped as above).
   */
  configFile?: string;
}

/** The stream's entry manifest on the fixture origin: an HLS master or a DASH MPD. */
async function entryManifest(origin: string): Promise<string> {
  for (const name of ['master.m3u8', 'manifest.mpd']) {
    const res = await fetch(origin + name, { method: 'HEAD' }).catch(() => undefined);
    if (res?.ok) return name;
  }
  return 'master.m3u8';
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** demo.yaml with the addresses the fixture servers really got, the admin API and /metrics on. */
function demoConfig(base: Config, world: FixtureWorld, host: string, token: string): Config {
  const urlHost = reachableHost(host);
  const inUrl = urlHost.includes(':') ? `[${urlHost}]` : urlHost;
  const originBase = `http://${inUrl}:${world.origin.port}/`;
  const cdnUrl = new Map(world.cdns.map((c) => [c.id, `http://${inUrl}:${c.port}/`]));
  return validateConfig(
    {
      ...base,
      listen: { ...base.listen, host },
      streams: base.streams.map((s) => ({
        ...s,
        origin: originBase + new URL(s.origin).pathname.replace(/^\//, ''),
      })),
      cdns: base.cdns.map((c) => ({ ...c, baseUrl: cdnUrl.get(c.id) ?? c.baseUrl })),
      admin: { ...base.admin, token },
      metrics: { ...base.metrics, enabled: true },
    },
    { env: {} },
  );
}

/**
 * The embedded default (`switchyard demo`, `npm start`): the fixture origin and fixture CDNs with
 * examples/demo.yaml, the admin API, the status page and /metrics on behind a printed demo token.
 * Prints the URLs, then every few seconds a one-line summary of what the proxy is doing.
 */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const configFile = options.configFile ?? path.join(packageRoot(), 'examples', 'demo.yaml');
  const base = await loadConfigFile(configFile);
  const host = options.host ?? base.listen.host;
  const given = options.fixturePorts;
  if (given !== undefined && given.length !== base.cdns.length + 1)
    throw new FixturePortsError(
      `--fixture-ports expects ${base.cdns.length + 1} ports (origin, then ${base.cdns.length} CDN(s)), got ${given.length}`,
    );
  const want = (i: number, url: string): FixturePort =>
    given === undefined ? { port: portOf(url), fallback: true } : { port: given[i] ?? 0, fallback: false };
  const world = await startFixtureWorld({
    host,
    origin: want(0, base.streams[0]?.origin ?? 'http://127.0.0.1:9000/'),
    cdns: base.cdns.map((c, i) => ({ id: c.id, ...want(i + 1, c.baseUrl) })),
  });
  // The config's own admin token when it has one, else a fresh one per run.
  const token =
    process.env.SWITCHYARD_DEMO_TOKEN ?? base.admin.token ?? `demo-${randomBytes(12).toString('base64url')}`;
  let server: SwitchyardServer;
  let proxyUrl: string;
  try {
    const config = demoConfig(base, world, host, token);
    const logger = createLogger(config.log.level, { pretty: true });
    server = createSwitchyard(config, { logger });
    proxyUrl = await server.listen({ port: options.port, host });
    // Edits of another demo config apply as with `serve` (and a promoted rollout written to it is
    // picked up); the file's own addresses then apply, so keep its fixture ports free for that.
    if (options.configFile !== undefined) server.watchConfig(configFile);
  } catch (err) {
    await world.close();
    throw err;
  }
  if (proxyUrl.includes('0.0.0.0')) proxyUrl = proxyUrl.replace('0.0.0.0', '127.0.0.1');
  const { origin, cdns } = world;
  const out = options.out;
  out.write(`\nSwitchyard demo (HLS and DASH): config ${configFile}\n`);
  out.write(
    `  fixture origin ${origin.url}   fixture CDNs ${cdns.map((c) => `${c.id}=${c.url}`).join(' ')}\n`,
  );
  for (const m of world.moved)
    out.write(`  (${m.what}: port ${m.wanted} was busy, took ${m.got}; --fixture-ports to choose)\n`);
  out.write(`\nProxy        ${proxyUrl}\n`);
  out.write(`Status page  ${proxyUrl}ui   (paste the admin token when asked)\n`);
  out.write(`Admin token  ${token}\n`);
  out.write(`Admin API    curl -H 'Authorization: Bearer ${token}' ${proxyUrl}admin/state\n`);
  out.write(`Metrics      curl -H 'Authorization: Bearer ${token}' ${proxyUrl}metrics\n`);
  out.write(`\nOpen in a player:\n`);
  for (const s of server.runtime.state.config.streams) {
    out.write(`  ${s.id.padEnd(14)} ${proxyUrl}${s.id}/${await entryManifest(s.origin)}\n`);
  }
  out.write(`\n  ffplay ${proxyUrl}live/master.m3u8\n  ffplay ${proxyUrl}dash/manifest.mpd\n`);
  out.write(`  ffmpeg -i ${proxyUrl}live/master.m3u8 -map 0 -c copy -f null -\n`);
  out.write(`\nTake CDN a down (live sessions move to b at their next reload), and back up:\n`);
  out.write(`  curl -X POST -d '{"kind":"down"}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`  curl -X POST -d '{"kind":"up"}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`Degrade it for players only (QoE: 40% of segments fail, or CMSD duress):\n`);
  out.write(`  curl -X POST -d '{"kind":"errors","rate":0.4}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`  curl -X POST -d '{"duress":true}' ${cdns[0]?.url}__fixture/cmsd\n`);
  out.write(
    `Or drain it: curl -X POST -H 'Authorization: Bearer ${token}' ${proxyUrl}admin/cdns/a/drain\n\n`,
  );

  const every = options.summaryEveryMs ?? 5000;
  const runtime = server.runtime;
  let last = { at: runtime.now(), manifests: runtime.metrics.requestCounts.manifest };
  const timer =
    every > 0
      ? setInterval(() => {
          const now = runtime.now();
          const manifests = runtime.metrics.requestCounts.manifest;
          // Quiet while nothing plays: a summary only when manifests were asked for.
          if (manifests !== last.manifests)
            out.write(
              summaryLine({
                active: runtime.activeSessions(),
                cdns: runtime.state.config.cdns.map((c) => c.id),
                manifestsPerSecond: ((manifests - last.manifests) * 1000) / Math.max(1, now - last.at),
                lastSwitch: runtime.recentSwitches.at(-1),
                now,
              }) + '\n',
            );
          last = { at: now, manifests };
        }, every)
      : undefined;
  timer?.unref();

  return {
    proxyUrl,
    adminToken: token,
    origin,
    cdns,
    server,
    async close() {
      clearInterval(timer);
      await server.close();
      await world.close();
    },
  };
}

/**
 * "12 sessions, 4.2 manifest req/s, sessions a 58% b 42%, last switch 3 s ago s1a2… a→b (a unhealthy:
 * 2 probes failed)": what the demo prints every few seconds.
 */
export function summaryLine(input: {
  readonly active: ReadonlyMap<string, number>;
  readonly cdns: readonly string[];
  readonly manifestsPerSecond: number;
  readonly lastSwitch: { at: number; from: string; to: string; reason: string } | undefined;
  readonly now: number;
}): string {
  const total = [...input.active.values()].reduce((a, b) => a + b, 0);
  const shares = input.cdns
    .map((id) => `${id} ${total === 0 ? 0 : Math.round(((input.active.get(id) ?? 0) * 100) / total)}%`)
    .join(' ');
  const s = input.lastSwitch;
  const switchPart =
    s === undefined
      ? 'no switch yet'
      : `last switch ${Math.max(0, Math.round((input.now - s.at) / 1000))} s ago ${s.from}→${s.to} (${s.reason})`;
  return (
    `${total} session(s) in the last ${ACTIVE_SESSION_WINDOW_MS / 1000} s, ` +
    `${input.manifestsPerSecond.toFixed(1)} manifest req/s, sessions ${shares}, ${switchPart}`
  );
}
