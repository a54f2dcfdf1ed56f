#!/usr/bin/env node
/**
 * The container's health probe: reads the config Switchyard serves (default
 * /etc/switchyard/config.yaml, or the first argument), and asks GET /healthz on the address it listens
 * on. Exit 0 when it answers 200, 1 otherwise, with one line saying why. The Dockerfile's HEALTHCHECK
 * runs it, so the probe follows `listen.port` instead of an environment variable nothing sets.
 */
import { loadConfigFile } from './configure';
import type { Config } from './config/schema';

export const DEFAULT_CONFIG = '/etc/switchyard/config.yaml';

/** Where a local probe reaches a server listening on `listen`: wildcard hosts mean loopback. */
export function healthUrl(listen: Pick<Config['listen'], 'host' | 'port'>): string {
  const host =
    listen.host === '0.0.0.0' || listen.host === ''
      ? '127.0.0.1'
      : listen.host === '::'
        ? '[::1]'
        : listen.host.includes(':')
          ? `[${listen.host}]`
          : listen.host;
  return `http://${host}:${listen.port}/healthz`;
}

export async function healthcheck(file: string, timeoutMs = 2500): Promise<{ ok: boolean; line: string }> {
  let url: string;
  try {
    url = healthUrl((await loadConfigFile(file, { env: process.env })).listen);
  } catch (err) {
    // A ConfigError's message lists its problems on lines of their own: one line here.
    const why = (err as Error).message.replace(/\s*\n\s*/g, ' ').trim();
    return { ok: false, line: `healthcheck: ${why}` };
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { ok: res.status === 200, line: `healthcheck: ${url} answered ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { ok: false, line: `healthcheck: ${url}: ${cause}` };
  }
}

if (require.main === module) {
  void healthcheck(process.argv[2] ?? DEFAULT_CONFIG).then(({ ok, line }) => {
    (ok ? process.stdout : process.stderr).write(line + '\n');
    process.exitCode = ok ? 0 : 1;
  });
}
