import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema';
import { ConfigWatcher } from '../config/watch';
import { parseConfig } from '../configure';
import { createApp } from './app';
import { handleManifestRequest } from './manifest-handler';
import { sendError } from './http-errors';
import { Runtime, type RuntimeOptions } from './runtime';
import { applyTimeouts, checkingInterval, ConnectionGuard } from './connections';

export interface SwitchyardServer {
  readonly runtime: Runtime;
  readonly http: Server;
  /** The operator listener when `admin.listen` is configured. */
  readonly adminHttp: Server | undefined;
  /** Listens on the config's host/port (or the override); resolves to the base URL. */
  listen(override?: { host?: string; port?: number }): Promise<string>;
  /** Base URL of the admin listener, once listening (undefined when admin shares the main one). */
  adminUrl(): string | undefined;
  /**
   * Watches the config file and applies every valid change (and re-reads on reload(), e.g. SIGHUP).
   * Listen addresses are read once at start; everything else applies to the very next request.
   */
  watchConfig(file: string): ConfigWatcher;
  /** Stops accepting, lets in-flight requests finish (bounded by drainMs), then closes. */
  close(drainMs?: number): Promise<void>;
}

/** How long close() lets in-flight requests finish before it closes their connections. */
export const DEFAULT_DRAIN_MS = 10_000;

function listenOn(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve(`http://${h}:${addr.port}/`);
    });
  });
}

function closeGracefully(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), drainMs);
    force.unref();
    // A keep-alive connection whose request finishes during the drain turns idle afterwards: close
    // those as they go idle, or the drain would wait out drainMs for clients that are done.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    sweep.unref();
    server.close(() => {
      clearTimeout(force);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * One http.Server whose listener tries the manifest route first and hands everything else to the
 * express app: manifests skip express's router and response helpers.
 */
export function createSwitchyard(config: Config, options: RuntimeOptions): SwitchyardServer {
  const runtime = new Runtime(config, options);
  const separateAdmin = config.admin.listen !== undefined;
  // Operator routes (/admin, /ui, an open /metrics) live on the admin listener when there is one.
  const app = createApp(runtime, { admin: !separateAdmin, metrics: separateAdmin ? false : 'token' });
  const limits = config.limits;
  // Per request, so a reload applies to connections already open.
  const guard = new ConnectionGuard(
    () => runtime.state.config.limits,
    (reason) => {
      runtime.metrics.connectionCut(reason);
      runtime.logger.info({ event: 'connection_cut', reason }, 'player connection closed');
    },
  );
  const serverOptions = {
    maxHeaderSize: 16 * 1024,
    requestTimeout: limits.requestTimeout,
    headersTimeout: limits.headersTimeout,
    connectionsCheckingInterval: checkingInterval(limits),
  };
  const http = createServer(serverOptions, (req, res) => {
    try {
      if (!guard.admit(req, res)) return;
      if (!handleManifestRequest(runtime, req, res)) app(req, res);
    } catch (err) {
      // Nothing a request does may take the process down.
      sendError(res, err, runtime.logger);
    }
  });
  applyTimeouts(http, limits, guard);
  const adminHttp = separateAdmin
    ? createServer(serverOptions, createApp(runtime, { admin: true, metrics: 'open', cmcd: false }))
    : undefined;
  if (adminHttp) applyTimeouts(adminHttp, limits, guard);
  let adminBase: string | undefined;
  let watcher: ConfigWatcher | undefined;
  return {
    runtime,
    http,
    adminHttp,
    async listen(override = {}) {
      const url = await listenOn(
        http,
        override.host ?? config.listen.host,
        override.port ?? config.listen.port,
      );
      if (adminHttp && config.admin.listen)
        adminBase = await listenOn(adminHttp, config.admin.listen.host, config.admin.listen.port);
      runtime.start();
      return url;
    },
    adminUrl: () => adminBase,
    watchConfig(file) {
      runtime.configSource = file;
      watcher = new ConfigWatcher(
        file,
        {
          onConfig: (next) => runtime.reload(next),
          onError: (err) => runtime.reloadFailed(err),
        },
        (text, at) => parseConfig(text, { policies: runtime.policies, signers: runtime.signers, ...at }),
      );
      watcher.start();
      return watcher;
    },
    async close(drainMs = DEFAULT_DRAIN_MS) {
      watcher?.stop();
      await Promise.all([
        closeGracefully(http, drainMs),
        adminHttp ? closeGracefully(adminHttp, drainMs) : undefined,
      ]);
      await runtime.close();
    },
  };
}
