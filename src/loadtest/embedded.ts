/**
 * The embedded stack of `switchyard loadtest` without --url: the fixture origin (whose live simulators
 * turn the fixture streams into live streams), fixture CDNs and a real Switchyard, all on 127.0.0.1
 * on ephemeral ports. The run talks to them only over HTTP, as it would to a deployment.
 */
import pino from 'pino';
import { validateConfig } from '../configure';
import { createSwitchyard } from '../server/server';
import { startCdn, startOrigin, type FixtureCdn } from '../../fixtures/servers';

export interface EmbeddedHealth {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly fall: number;
  readonly rise: number;
}

export interface EmbeddedStack {
  readonly proxyUrl: string;
  readonly originUrl: string;
  readonly cdns: readonly { readonly id: string; readonly url: string }[];
  readonly health: EmbeddedHealth;
  close(): Promise<void>;
}

export const EMBEDDED_STREAMS = [
  'live',
  'llhls',
  'vod',
  'fmp4',
  'aes',
  'byterange',
  'dash',
  'dash-live',
  'dash-timeline',
  'dash-list',
  'dash-base',
] as const;
/** The demo's probing (examples/demo.yaml): evacuation within about 2 s + one target duration. */
export const EMBEDDED_HEALTH: EmbeddedHealth = { intervalMs: 1000, timeoutMs: 500, fall: 2, rise: 2 };

/** How the embedded streams are delivered (streams[].mode and streams[].failover of the config). */
export interface EmbeddedDelivery {
  readonly mode?: 'rewrite' | 'redirect' | 'steering';
  readonly failover?: 'auto' | 'manifest' | 'none';
}

export async function startEmbeddedStack(
  options: {
    cdnIds?: readonly string[];
    health?: EmbeddedHealth;
    policy?: Record<string, unknown>;
    delivery?: EmbeddedDelivery;
  } = {},
): Promise<EmbeddedStack> {
  const health = options.health ?? EMBEDDED_HEALTH;
  const origin = await startOrigin({ host: '127.0.0.1', port: 0 });
  const cdns: FixtureCdn[] = [];
  try {
    for (const id of options.cdnIds ?? ['a', 'b'])
      cdns.push(await startCdn({ id, origin: origin.url, port: 0 }));
    const config = validateConfig(
      {
        listen: { host: '127.0.0.1', port: 0 },
        secrets: ['loadtest-only-secret-' + Math.random().toString(36).slice(2)],
        streams: EMBEDDED_STREAMS.map((id) => ({
          id,
          origin: `${origin.url}${id}/`,
          ...options.delivery,
        })),
        cdns: cdns.map((c) => ({ id: c.id, baseUrl: c.url, weight: 1 })),
        policy: options.policy ?? { type: 'weighted' },
        health: {
          path: '/__fixture/health',
          interval: health.intervalMs,
          timeout: health.timeoutMs,
          rise: health.rise,
          fall: health.fall,
        },
        log: { level: 'silent' },
        // The embedded fixtures run on 127.0.0.1, which production configs refuse.
        origin: { allowPrivateAddresses: true },
        // Every simulated player comes from 127.0.0.1: the per-address cap on LL-HLS blocking
        // reloads would count them all as one client (and answer most of them 429).
        limits: { blockingPerClient: 100_000 },
      },
      { env: {} },
    );
    const server = createSwitchyard(config, {
      logger: pino({ level: process.env.SWITCHYARD_LOADTEST_LOG ?? 'silent' }),
    });
    const proxyUrl = await server.listen();
    return {
      proxyUrl,
      originUrl: origin.url,
      cdns: cdns.map((c) => ({ id: c.id, url: c.url })),
      health,
      async close() {
        await server.close();
        await Promise.all(cdns.map((c) => c.close()));
        await origin.close();
      },
    };
  } catch (err) {
    await Promise.all(cdns.map((c) => c.close()));
    await origin.close();
    throw err;
  }
}
