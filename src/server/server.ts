import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema';
import { createApp } from './app';
import { handleManifestRequest } from './manifest-handler';
import { sendError } from './http-errors';
import { Runtime, type RuntimeOptions } from './runtime';

export interface SwitchyardServer {
  readonly runtime: Runtime;
  readonly http: Server;
  /** Listens on the config's host/port (or the override); resolves to the base URL. */
  listen(override?: { host?: string; port?: number }): Promise<string>;
  close(): Promise<void>;
}

/**
 * One http.Server whose listener tries the manifest route first and hands everything else to the
 * express app: manifests skip express's router and response helpers.
 */
export function createSwitchyard(config: Config, options: RuntimeOptions): SwitchyardServer {
  const runtime = new Runtime(config, options);
  const app = createApp(runtime);
  const http = createServer(
    { maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000 },
    (req, res) => {
      try {
        if (!handleManifestRequest(runtime, req, res)) app(req, res);
      } catch (err) {
        // Nothing a request does may take the process down.
        sendError(res, err, runtime.logger);
      }
    },
  );
  http.keepAliveTimeout = 65_000;
  return {
    runtime,
    http,
    async listen(override = {}) {
      const host = override.host ?? config.listen.host;
      const port = override.port ?? config.listen.port;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      runtime.start();
      const addr = http.address() as AddressInfo;
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return `http://${h}:${addr.port}/`;
    },
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await runtime.close();
    },
  };
}
