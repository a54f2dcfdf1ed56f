#!/usr/bin/env node
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ConfigError, loadConfigFile } from './config/load';
import type { Config } from './config/schema';
import { createLogger } from './log';
import { createSwitchyard } from './server/server';
import { installProcessGuards } from './server/guards';
import { runDemo } from './demo';
import { loadtestCommand } from './loadtest/cli';
import { decisionsCommand, DecisionsUsageError } from './decisions/cli';
import { whatifCommand, WhatifUsageError } from './whatif/cli';
import { version } from './version';
import cluster from 'node:cluster';
import { ClusterPrimary, workerCount } from './cluster/primary';
import { workerMain } from './cluster/worker';
import { readCandidate } from './rollout/candidate';
import { builtinPolicies } from './policy/registry';

const HELP = `switchyard ${version} — multi-CDN manifest-rewriting proxy for HLS

Usage:
  switchyard serve --config FILE [--port N] [--host H]   run the proxy
  switchyard demo [--port N] [--config FILE]             fixture origin + fixture CDNs + proxy on 127.0.0.1
                                                         (--config examples/qoe-demo.yaml: the QoE walk-through;
                                                         examples/canary/live.yaml: the canary rollout)
  switchyard check-config FILE                           validate a config (and its rollout candidate); prints each error with its field path
  switchyard loadtest [--sessions N --duration S ...]    simulated players + CDN faults (loadtest --help)
  switchyard decisions --log FILE [--bucket 5m]          summarise a decision log (decisions --help)
  switchyard whatif --config CANDIDATE --log FILE        replay a decision log through a candidate config
                    [--at ISO] [--html report.html]      (whatif --help)
  switchyard --help | --version

serve:
  --config, -c FILE   YAML config (see examples/config.yaml); \${VAR} and \${VAR:-default} are substituted
  --port, -p N        listen port (overrides listen.port)
  --host H            listen host (overrides listen.host)
  --workers, -w N     worker processes on the port: a number or auto, one per CPU (overrides listen.workers)
  --pretty            human-readable logs instead of JSON

Player URLs:
  http://HOST:PORT/<stream>/<path under the stream's origin>     opens a new session
  http://HOST:PORT/s/<token>/<stream>/<path>                      the same session (URIs in manifests)

Exit codes: 0 ok, 1 runtime error, 2 usage or invalid config.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version + '\n');
    return 0;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'demo':
      return demo(rest);
    case 'check-config':
      return checkConfig(rest);
    case 'loadtest':
      return loadtestCommand(rest);
    case 'decisions':
      return decisionsCommand(rest);
    case 'whatif':
      return whatifCommand(rest);
    default:
      process.stderr.write(`switchyard: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

async function serve(args: string[]): Promise<number> {
  // A worker of listen.workers > 1 (forked with the same arguments): its config comes from the primary.
  if (cluster.isWorker && process.env.SWITCHYARD_WORKER === '1') {
    await workerMain();
    process.exit(0);
  }
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      workers: { type: 'string', short: 'w' },
      pretty: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.config) {
    process.stderr.write('switchyard serve: --config FILE is required\n');
    return 2;
  }
  const port = values.port === undefined ? undefined : parsePort(values.port);
  if (port === null) return 2;
  const workersOverride = values.workers === undefined ? undefined : parseWorkers(values.workers);
  if (workersOverride === null) return 2;
  const config = await loadConfigFile(path.resolve(values.config));
  const logger = createLogger(config.log.level, { pretty: values.pretty });
  const workers = workerCount(workersOverride ?? config.listen.workers);
  if (workers > 1) {
    const listen = {
      ...config.listen,
      host: values.host ?? config.listen.host,
      port: port ?? config.listen.port,
    };
    return servePrimary({ ...config, listen }, path.resolve(values.config), workers, logger);
  }
  const server = createSwitchyard(config, { logger });
  const removeGuards = installProcessGuards(logger, (kind) => server.runtime.metrics.uncaughtError(kind));
  const url = await server.listen({ port, host: values.host });
  const watcher = server.watchConfig(path.resolve(values.config));
  const onHup = () => void watcher.reload();
  process.on('SIGHUP', onHup);
  logger.info(
    {
      event: 'listening',
      url,
      admin: server.adminUrl() ?? (config.admin.token ? `${url}admin/` : 'off'),
      streams: config.streams.map((s) => s.id),
      cdns: config.cdns.map((c) => c.id),
    },
    `switchyard listening on ${url}`,
  );
  await untilSignal();
  process.off('SIGHUP', onHup);
  logger.info({ event: 'shutdown' }, 'draining and shutting down');
  await server.close();
  removeGuards();
  return 0;
}

/** listen.workers > 1: the primary forks the workers, probes, watches the config, drains on a signal. */
async function servePrimary(
  config: Config,
  file: string,
  workers: number,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const primary = new ClusterPrimary(config, { logger, workers, configFile: file });
  const removeGuards = installProcessGuards(logger, () => undefined);
  const onHup = () => primary.reloadFile();
  process.on('SIGHUP', onHup);
  let url: string;
  try {
    url = await primary.start();
  } catch (err) {
    await primary.close(0);
    throw err;
  }
  logger.info(
    {
      event: 'listening',
      url,
      workers,
      streams: config.streams.map((s) => s.id),
      cdns: config.cdns.map((c) => c.id),
    },
    `switchyard listening on ${url} with ${workers} workers`,
  );
  await untilSignal();
  process.off('SIGHUP', onHup);
  logger.info({ event: 'shutdown', workers: primary.workers }, 'draining every worker and shutting down');
  await primary.close();
  removeGuards();
  return 0;
}

function parseWorkers(value: string): number | 'auto' | null {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    process.stderr.write(`switchyard: expected --workers 1-256 or auto, got "${value}"\n`);
    return null;
  }
  return n;
}

async function demo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string', short: 'p' }, config: { type: 'string', short: 'c' } },
    strict: true,
  });
  const port = values.port === undefined ? undefined : parsePort(values.port);
  if (port === null) return 2;
  const running = await runDemo({
    port,
    out: process.stdout,
    ...(values.config === undefined ? {} : { configFile: path.resolve(values.config) }),
  });
  await untilSignal();
  await running.close();
  return 0;
}

async function checkConfig(args: string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('switchyard check-config: expected one FILE\n');
    return 2;
  }
  const policies = builtinPolicies();
  const config = await loadConfigFile(path.resolve(file), { policies });
  // The rollout's candidate is validated like the live config, and against it.
  const candidate = readCandidate(config, policies);
  process.stdout.write(
    `${file}: ok (${config.streams.length} stream(s), ${config.cdns.length} CDN(s), policy ${policyLabel(config.policy)})\n`,
  );
  if (candidate)
    process.stdout.write(
      `rollout candidate ${path.relative(process.cwd(), candidate.file) || candidate.file}: ok (policy ${policyLabel(candidate.config.policy)})\n`,
    );
  return 0;
}

/** A policy as an operator names it: its type, or the module a custom one comes from. */
function policyLabel(policy: Record<string, unknown>): string {
  if (typeof policy.type === 'string') return policy.type;
  if (typeof policy.module === 'string') return `module ${path.basename(policy.module)}`;
  return 'custom';
}

function parsePort(value: string): number | null {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`switchyard: expected a port number 0-65535, got "${value}"\n`);
    return null;
  }
  return n;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof DecisionsUsageError || err instanceof WhatifUsageError) {
      process.stderr.write(err.message + '\n');
      process.exitCode = 2;
    } else if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'EISDIR'
    ) {
      process.stderr.write(`switchyard: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exitCode = 2;
    } else if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
