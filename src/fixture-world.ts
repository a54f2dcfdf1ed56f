import { startCdn, startOrigin, type FixtureCdn, type FixtureOrigin } from '../fixtures/servers';

/** Where one fixture server should listen: a port, and whether a busy one may be swapped for a free one. */
export interface FixturePort {
  readonly port: number;
  /** true: a busy port is replaced by an ephemeral one (the demo's defaults); false: busy is an error. */
  readonly fallback: boolean;
}

export interface FixtureWorldOptions {
  /** Address every fixture server binds (default 127.0.0.1; 0.0.0.0 in a container). */
  readonly host?: string;
  readonly origin: FixturePort;
  readonly cdns: readonly ({ readonly id: string } & FixturePort)[];
}

export interface FixtureWorld {
  readonly origin: FixtureOrigin;
  readonly cdns: readonly FixtureCdn[];
  /** Servers that could not have the port asked for and took another: `what` is "origin" or a CDN id. */
  readonly moved: readonly { readonly what: string; readonly wanted: number; readonly got: number }[];
  close(): Promise<void>;
}

/** A port in use: the one condition that may fall back to a free port (anything else is an error). */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly what: string,
  ) {
    super(`port ${port} on ${host} is in use (${what}); pick another port or stop what holds it`);
    this.name = 'PortInUseError';
  }
}

export function isAddressInUse(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

/** A wildcard bind address as a URL host other local servers can reach. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

async function withPort<T extends { port: number }>(
  what: string,
  host: string,
  want: FixturePort,
  start: (port: number) => Promise<T>,
  moved: { what: string; wanted: number; got: number }[],
): Promise<T> {
  try {
    return await start(want.port);
  } catch (err) {
    if (!isAddressInUse(err)) throw err;
    if (!want.fallback || want.port === 0) throw new PortInUseError(host, want.port, what);
    const server = await start(0);
    moved.push({ what, wanted: want.port, got: server.port });
    return server;
  }
}

/**
 * The fixture origin (every stream of fixtures/media, live simulators included) and fixture CDN edges
 * pulling through from it: the world `switchyard demo` and `switchyard fixtures` serve.
 */
export async function startFixtureWorld(options: FixtureWorldOptions): Promise<FixtureWorld> {
  const host = options.host ?? '127.0.0.1';
  const moved: { what: string; wanted: number; got: number }[] = [];
  const origin = await withPort(
    'fixture origin',
    host,
    options.origin,
    (port) => startOrigin({ host, port }),
    moved,
  );
  const cdns: FixtureCdn[] = [];
  const upstream = `http://${hostInUrl(reachableHost(host))}:${origin.port}/`;
  try {
    for (const c of options.cdns) {
      cdns.push(
        await withPort(
          `fixture CDN ${c.id}`,
          host,
          c,
          (port) => startCdn({ id: c.id, origin: upstream, host, port }),
          moved,
        ),
      );
    }
  } catch (err) {
    await Promise.all(cdns.map((c) => c.close()));
    await origin.close();
    throw err;
  }
  return {
    origin,
    cdns,
    moved,
    async close() {
      await Promise.all(cdns.map((c) => c.close()));
      await origin.close();
    },
  };
}

function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A bad --fixture-ports / --ports value: a usage error, one line. */
export class FixturePortsError extends Error {
  override readonly name = 'FixturePortsError';
}

/**
 * `--fixture-ports 9000,9101,9102`: the origin's port, then one per CDN in config order (any count
 * when `cdnCount` is undefined). Throws a one-line FixturePortsError on anything else.
 */
export function parseFixturePorts(value: string, cdnCount?: number): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (cdnCount !== undefined && parts.length !== cdnCount + 1)
    throw new FixturePortsError(
      `--fixture-ports expects ${cdnCount + 1} ports (origin, then ${cdnCount} CDN(s)), got "${value}"`,
    );
  return parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n) || n < 0 || n > 65535)
      throw new FixturePortsError(`--fixture-ports: "${p}" is not a port number 0-65535`);
    return n;
  });
}
