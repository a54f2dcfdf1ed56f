import path from 'node:path';
import { loadConfigFile } from './config/load';
import { createLogger } from './log';
import { packageRoot } from './paths';
import { createSwitchyard } from './server/server';
import { startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../fixtures/servers';

export interface RunningDemo {
  readonly proxyUrl: string;
  readonly origin: FixtureOrigin;
  readonly cdns: readonly FixtureCdn[];
  close(): Promise<void>;
}

/** The stream's entry manifest on the fixture origin: an HLS master or a DASH MPD. */
async function entryManifest(origin: string): Promise<string> {
  for (const name of ['master.m3u8', 'manifest.mpd']) {
    const res = await fetch(origin + name, { method: 'HEAD' }).catch(() => undefined);
    if (res?.ok) return name;
  }
  return 'master.m3u8';
}

/**
 * The embedded default: the fixture origin and two fixture CDNs on 127.0.0.1 with examples/demo.yaml.
 * Prints the player URLs, then every few seconds which CDN served how many requests.
 */
export async function runDemo(options: {
  port?: number;
  out: NodeJS.WritableStream;
  summaryEveryMs?: number;
  /** Another demo config (its CDNs must be on 127.0.0.1 ports, as in examples/demo.yaml). */
  configFile?: string;
}): Promise<RunningDemo> {
  const configFile = options.configFile ?? path.join(packageRoot(), 'examples', 'demo.yaml');
  const config = await loadConfigFile(configFile);
  const originUrl = new URL(config.streams[0]?.origin ?? 'http://127.0.0.1:9000/');
  const origin = await startOrigin({ host: originUrl.hostname, port: Number(originUrl.port) });
  const cdns: FixtureCdn[] = [];
  for (const c of config.cdns) {
    const u = new URL(c.baseUrl);
    cdns.push(await startCdn({ id: c.id, origin: origin.url, host: u.hostname, port: Number(u.port) }));
  }
  const logger = createLogger(config.log.level, { pretty: true });
  const server = createSwitchyard(config, { logger });
  const proxyUrl = await server.listen({ port: options.port });
  // Edits of the file apply as with `serve` (and a promoted rollout written to it is picked up).
  if (options.configFile !== undefined) server.watchConfig(configFile);
  const out = options.out;
  out.write(
    `\nSwitchyard demo: origin ${origin.url}, CDNs ${cdns.map((c) => `${c.id}=${c.url}`).join(' ')}\n`,
  );
  out.write(`Proxy on ${proxyUrl} (config ${configFile})\n\nOpen in a player:\n`);
  for (const s of config.streams) {
    out.write(`  ${s.id.padEnd(14)} ${proxyUrl}${s.id}/${await entryManifest(s.origin)}\n`);
  }
  out.write(`\n  ffplay ${proxyUrl}live/master.m3u8\n  ffplay ${proxyUrl}dash/manifest.mpd\n`);
  out.write(`  ffmpeg -i ${proxyUrl}live/master.m3u8 -map 0 -c copy -f null -\n`);
  out.write(`\nTake CDN a down (live sessions move to b at their next reload), and back up:\n`);
  out.write(`  curl -X POST -d '{"kind":"down"}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`  curl -X POST -d '{"kind":"up"}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`Degrade it for players only (QoE: 40% of segments fail, or CMSD duress):\n`);
  out.write(`  curl -X POST -d '{"kind":"errors","rate":0.4}' ${cdns[0]?.url}__fixture/mode\n`);
  out.write(`  curl -X POST -d '{"duress":true}' ${cdns[0]?.url}__fixture/cmsd\n\n`);

  const seen = new Map(cdns.map((c) => [c.id, c.requests.length]));
  const timer = setInterval(() => {
    const parts = cdns.map((c) => {
      const now = c.requests.length;
      const delta = now - (seen.get(c.id) ?? 0);
      seen.set(c.id, now);
      return `${c.id}=${delta}`;
    });
    if (parts.some((p) => !p.endsWith('=0')))
      out.write(
        `CDN requests in the last ${Math.round((options.summaryEveryMs ?? 5000) / 1000)} s: ${parts.join(' ')}\n`,
      );
  }, options.summaryEveryMs ?? 5000);
  timer.unref();

  return {
    proxyUrl,
    origin,
    cdns,
    async close() {
      clearInterval(timer);
      await server.close();
      await Promise.all(cdns.map((c) => c.close()));
      await origin.close();
    },
  };
}
