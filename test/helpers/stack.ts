import pino, { type Logger } from 'pino';
import { validateConfig } from '../../src/configure';
import type { Config } from '../../src/config/schema';
import { createSwitchyard, type SwitchyardServer } from '../../src/server/server';
import { startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../../fixtures/servers';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface Stack {
  readonly origin: FixtureOrigin;
  readonly cdns: readonly FixtureCdn[];
  readonly server: SwitchyardServer;
  /** Switchyard's base URL, ending in '/'. */
  readonly url: string;
  readonly config: Config;
  cdn(id: string): FixtureCdn;
  close(): Promise<void>;
}

export interface StackOptions {
  cdnIds?: readonly string[];
  /** Config fields on top of the generated ones (streams, cdns, secrets). */
  extra?: (base: { origin: string; cdns: readonly FixtureCdn[] }) => Record<string, unknown>;
  streams?: readonly string[];
  /** Health probing: fast by default so tests see failures within about a second. */
  health?: Record<string, unknown>;
  /** Switchyard's logger (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Switchyard's clock (RuntimeOptions.now); default Date.now. */
  now?: () => number;
}

/** The fixture origin, fixture CDNs and a real Switchyard on 127.0.0.1, all on ephemeral ports. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const origin = await startOrigin({ host: '127.0.0.1', port: 0 });
  const cdns: FixtureCdn[] = [];
  for (const id of options.cdnIds ?? ['a', 'b'])
    cdns.push(await startCdn({ id, origin: origin.url, port: 0 }));
  const streams = options.streams ?? ['vod', 'live', 'llhls', 'fmp4', 'aes', 'byterange'];
  const extra = options.extra?.({ origin: origin.url, cdns }) ?? {};
  const raw = {
    listen: { host: '127.0.0.1', port: 0 },
    secrets: [TEST_SECRET],
    streams: streams.map((id) => ({ id, origin: `${origin.url}${id}/` })),
    cdns: cdns.map((c) => ({ id: c.id, baseUrl: c.url, weight: 1 })),
    // A fixture CDN that is down drops the connection at once, so a probe fails fast whatever its
    // timeout; a short timeout only made healthy CDNs look dead on a busy machine.
    health: { path: '/__fixture/health', interval: 200, timeout: 2000, rise: 1, fall: 1, ...options.health },
    log: { level: 'silent' },
    ...extra,
    // The fixtures run on 127.0.0.1, which production configs refuse.
    // Tests that fault the origin expect it back at once: the breaker is opt-in here (test/hardening).
    origin: {
      allowPrivateAddresses: true,
      breaker: { failures: 1_000_000, coolDown: 0 },
      ...(extra.origin as Record<string, unknown> | undefined),
    },
  };
  const config = validateConfig(raw, { env: {} });
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const server = createSwitchyard(config, { logger, ...(options.now ? { now: options.now } : {}) });
  let url: string;
  try {
    url = await server.listen();
  } catch (err) {
    // A stack that could not listen (a port taken meanwhile) leaves nothing open behind it: an open
    // fixture server would keep the test process from ever exiting.
    await server.close(0);
    await Promise.all(cdns.map((c) => c.close()));
    await origin.close();
    throw err;
  }
  return {
    origin,
    cdns,
    server,
    url,
    config,
    cdn(id) {
      const c = cdns.find((x) => x.id === id);
      if (!c) throw new Error(`no fixture CDN ${id}`);
      return c;
    },
    async close() {
      await server.close();
      await Promise.all(cdns.map((c) => c.close()));
      await origin.close();
    },
  };
}

export interface Fetched {
  status: number;
  headers: Headers;
  body: string;
}

export async function get(url: string, init: RequestInit = {}): Promise<Fetched> {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** URI lines and URI="..." attributes of a playlist, in order. */
export function playlistUris(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '') continue;
    if (t.startsWith('#')) {
      for (const m of t.matchAll(/(?:^|[:,])(?:URI|SERVER-URI|X-ASSET-URI|X-ASSET-LIST)="([^"]*)"/g))
        out.push(m[1] as string);
    } else out.push(t);
  }
  return out;
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 25,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Every fixture CDN back up, and seen healthy by Switchyard again (between tests that fault them). */
export async function restoreCdns(stack: Stack): Promise<void> {
  for (const c of stack.cdns) c.setMode({ kind: 'up' });
  await waitFor(
    () => stack.cdns.every((c) => stack.server.runtime.monitor.health(c.id)?.healthy === true),
    3000,
  );
}
