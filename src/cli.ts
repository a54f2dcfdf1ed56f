#!/usr/bin/env node
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ConfigError, loadConfigFile } from './configure';
import type { Config } from './config/schema';
import { createLogger } from './log';
import { createSwitchyard, DEFAULT_DRAIN_MS } from './server/server';
import { installProcessGuards } from './server/guards';
import { runDemo } from './demo';
import {
  FixturePortsError,
  isAddressInUse,
  parseFixturePorts,
  PortInUseError,
  startFixtureWorld,
} from './fixture-world';
import { loadtestCommand } from './loadtest/cli';
import { decisionsCommand, DecisionsUsageError } from './decisions/cli';
import { whatifCommand, WhatifUsageError } from './whatif/cli';
import { version } from './version';
import cluster from 'node:cluster';
import { ClusterPrimary, workerCount } from './cluster/primary';
import { workerMain } from './cluster/worker';
import { readCandidate } from './rollout/candidate';
import { builtinPolicies } from './policy/registry';

const HELP = `switchyard ${version} — multi-CDN manifest-rewriting proxy for HLS and DASH

Usage:
  switchyard serve --config FILE [--port N] [--host H]   run the proxy
  switchyard demo [--port N] [--host H] [--config FILE]  fixture origin + 2 fixture CDNs + proxy, admin, /ui, /metrics
                                                         (--config examples/qoe-demo.yaml: the QoE walk-through;
                                                         examples/canary/live.yaml: the canary rollout)
  switchyard fixtures [--host H] [--ports LIST]          only the fixture origin and CDNs (e.g. in docker compose)
  switchyard check-config FILE                           validate a config (and its rollout candidate); every problem
  switchyard loadtest [--sessions N --duration S ...]    simulated players + CDN faults (loadtest --help)
  switchyard decisions --log FILE [--bucket 5m]          summarise a decision log (decisions --help)
  switchyard whatif --config CANDIDATE --log FILE        replay a decision log through a candidate config
                    [--at ISO] [--html report.html]      (whatif --help)
  switchyard COMMAND --help                              the options of one command
  switchyard --help | --version

Streams are HLS (master and media playlists, LL-HLS, content steering) or DASH (MPDs: SegmentTemplate,
SegmentTimeline, SegmentList, SegmentBase, multi-period, live); the manifest tells which.

Player URLs:
  http://HOST:PORT/<stream>/<path under the stream's origin>     opens a new session (master.m3u8, manifest.mpd)
  http://HOST:PORT/s/<token>/<stream>/<path>                      the same session (URIs in manifests)

Exit codes: 0 ok, 1 runtime error, 2 usage or invalid config.
`;

const SERVE_HELP = `Usage: switchyard serve --config FILE [options]

Runs the proxy with a YAML config; the file is watched and every valid change applies live (SIGHUP
re-reads it). SIGTERM/SIGINT drain in-flight requests and exit.

  --config, -c FILE   YAML config (see examples/config.yaml); \${VAR} and \${VAR:-default} are substituted
  --port, -p N        listen port (overrides listen.port)
  --host H            listen host (overrides listen.host)
  --workers, -w N     worker processes on the port: a number or auto, one per CPU (overrides listen.workers)
  --pretty            human-readable logs instead of JSON
  --help, -h          this text
`;

const DEMO_HELP = `Usage: switchyard demo [options]      (npm start runs it)

Everything on this machine: the fixture origin (HLS VOD, live, LL-HLS, fMP4, AES-128, byte ranges and
DASH streams), fixture CDNs a and b pulling from it, and the proxy with examples/demo.yaml, the admin
API, the status page (/ui) and /metrics on behind a printed demo token (SWITCHYARD_DEMO_TOKEN sets it).
Prints the player URLs, then every 5 s a one-line summary: sessions, manifest req/s, share of sessions
per CDN, the last switch and why.

  --port, -p N              the proxy's port (default 8080; busy is an error: choose another)
  --host H                  address everything binds (default 127.0.0.1; URLs printed for it)
  --config, -c FILE         another demo config (default examples/demo.yaml; examples/qoe-demo.yaml: the
                            QoE walk-through); its origin and CDN URLs name the fixture ports
  --fixture-ports O,A,B     ports of the fixture origin and of each CDN, used as given (0 = any free one);
                            without it 9000, 9101, 9102 are tried and a busy one is swapped for a free one
  --summary-every S         seconds between summary lines (default 5; 0 turns them off)
  --help, -h                this text
`;

const FIXTURES_HELP = `Usage: switchyard fixtures [options]

Only the fixture world: the fixture origin and fixture CDNs (pull-through edges), for a Switchyard
configured separately (deploy/compose.yaml runs it this way). Runs until SIGTERM/SIGINT. Each CDN
takes faults on its control API: POST <cdn>/__fixture/mode with {"kind":"down"}, {"kind":"up"},
{"kind":"status","status":503}, {"kind":"slow","delayMs":800} or {"kind":"errors","rate":0.4};
POST <cdn>/__fixture/cmsd with {"duress":true}. The rest: fixtures/README.md in the repository.

  --host H              address to bind (default 127.0.0.1; 0.0.0.0 in a container)
  --ports O,A,B         ports of the origin and of each CDN (default 9000,9101,9102)
  --cdns a,b            ids of the fixture CDNs (default a,b; one port each after the origin's)
  --help, -h            this text
`;

const CHECK_HELP = `Usage: switchyard check-config FILE

Validates a config as serve would load it (environment variables substituted, policy and signer
modules loaded) and prints every problem in one run: its field path, its line in the file when the
YAML gives one, and "did you mean" for a misspelt key. Exit 0 when valid, 2 otherwise.

  --help, -h    this text
`;

const wantsHelp = (args: readonly string[]) => args.includes('--help') || args.includes('-h');

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
  const helps: Readonly<Record<string, string | undefined>> = {
    serve: SERVE_HELP,
    demo: DEMO_HELP,
    fixtures: FIXTURES_HELP,
    'check-config': CHECK_HELP,
  };
  const help = helps[command];
  if (help !== undefined && wantsHelp(rest)) {
    process.stdout.write(help);
    return 0;
  }
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'demo':
      return demo(rest);
    case 'fixtures':
      return fixtures(rest);
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
  logger.info({ event: 'shutdown', drainMs: DEFAULT_DRAIN_MS }, 'draining and shutting down');
  const drainStarted = Date.now();
  await server.close(DEFAULT_DRAIN_MS);
  logger.info({ event: 'stopped', drainedMs: Date.now() - drainStarted }, 'drained and stopped');
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
    options: {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'fixture-ports': { type: 'string' },
      'summary-every': { type: 'string' },
    },
    strict: true,
  });
  const every = values['summary-every'] === undefined ? 5 : Number(values['summary-every']);
  if (!Number.isFinite(every) || every < 0 || every > 3600) {
    process.stderr.write(
      `switchyard demo: expected --summary-every 0-3600 (seconds), got "${values['summary-every']}"\n`,
    );
    return 2;
  }
  const port = values.port === undefined ? undefined : parsePort(values.port);
  if (port === null) return 2;
  let fixturePorts: number[] | undefined;
  if (values['fixture-ports'] !== undefined) {
    try {
      fixturePorts = parseFixturePorts(values['fixture-ports']);
    } catch (err) {
      process.stderr.write(`switchyard demo: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const running = await runDemo({
    port,
    host: values.host,
    fixturePorts,
    out: process.stdout,
    summaryEveryMs: every * 1000,
    ...(values.config === undefined ? {} : { configFile: path.resolve(values.config) }),
  });
  await untilSignal();
  await running.close();
  return 0;
}

async function fixtures(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { host: { type: 'string' }, ports: { type: 'string' }, cdns: { type: 'string' } },
    strict: true,
  });
  const ids = (values.cdns ?? 'a,b').split(',').map((id) => id.trim());
  if (ids.some((id) => !/^[A-Za-z0-9_-]{1,64}$/.test(id))) {
    process.stderr.write(`switchyard fixtures: --cdns expects ids like a,b, got "${values.cdns}"\n`);
    return 2;
  }
  let ports: number[];
  try {
    ports = parseFixturePorts(values.ports ?? [9000, ...ids.map((_, i) => 9101 + i)].join(','), ids.length);
  } catch (err) {
    process.stderr.write(
      `switchyard fixtures: ${(err as Error).message.replace('--fixture-ports', '--ports')}\n`,
    );
    return 2;
  }
  const world = await startFixtureWorld({
    host: values.host,
    origin: { port: ports[0] ?? 9000, fallback: false },
    cdns: ids.map((id, i) => ({ id, port: ports[i + 1] ?? 0, fallback: false })),
  });
  process.stdout.write(
    `fixture origin ${world.origin.url}\n` + world.cdns.map((c) => `fixture CDN ${c.id} ${c.url}\n`).join(''),
  );
  await untilSignal();
  await world.close();
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
    } else if (err instanceof FixturePortsError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof PortInUseError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exitCode = 1;
    } else if (isAddressInUse(err)) {
      // A listen() that failed: one line that says which address, not a stack trace.
      const e = err as { address?: string; port?: number };
      process.stderr.write(
        `switchyard: port ${e.port ?? '?'} on ${e.address ?? '?'} is in use (another switchyard or program); choose another with --port or stop what holds it\n`,
      );
      process.exitCode = 1;
    } else if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`switchyard: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
