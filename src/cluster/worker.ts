import { randomBytes } from 'node:crypto';
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from '../config/schema';
import { createLogger } from '../log';
import { installProcessGuards } from '../server/guards';
import { createSwitchyard, type SwitchyardServer } from '../server/server';
import { ClusterStateStore } from './worker-state';
import { processChannel, type PrimaryMessage, type WorkerChannel } from './protocol';

export interface RunningWorker {
  readonly server: SwitchyardServer;
  /** Resolves when the worker has drained and closed (shutdown from the primary, or close()). */
  readonly closed: Promise<void>;
  /** Drains and closes (idempotent). */
  close(drainMs?: number): Promise<void>;
}

/**
 * One worker of `listen.workers: N`: waits for its config from the primary, serves the shared port,
 * takes config changes, health verdicts and peers' state from the primary, and drains on its word
 * (or on SIGTERM sent to the worker itself). SIGINT is left to the primary, which drains everyone.
 */
export async function runWorker(
  channel: WorkerChannel = processChannel(),
  options: { logger?: (config: Config) => Logger } = {},
): Promise<RunningWorker> {
  const init = await new Promise<Extract<PrimaryMessage, { sy: 'init' }>>((resolve) => {
    const off = channel.onMessage((m) => {
      if (m.sy !== 'init') return;
      off();
      resolve(m);
    });
  });
  const config = init.config;
  const logger =
    options.logger?.(config) ??
    createLogger(config.log.level).child({ worker: cluster.worker?.id ?? 0 }, { level: config.log.level });
  const instanceId = randomBytes(6).toString('hex');
  const server = createSwitchyard(config, {
    logger,
    workerId: cluster.worker?.id ?? 0,
    ...(config.state.backend === 'redis'
      ? {}
      : {
          stateStore: (_cfg, deps) =>
            new ClusterStateStore(instanceId, channel, {
              now: deps.now,
              health: init.health,
              sessions: deps.sessions,
            }),
        }),
  });
  const runtime = server.runtime;
  const removeGuards = installProcessGuards(logger, (kind) => runtime.metrics.uncaughtError(kind));

  // /metrics asked of this worker: every worker's, aggregated by the primary.
  let rid = 0;
  const scrapes = new Map<number, { resolve: (t: string) => void; reject: (e: Error) => void }>();
  runtime.metricsText = () =>
    new Promise((resolve, reject) => {
      const id = ++rid;
      scrapes.set(id, { resolve, reject });
      channel.send({ sy: 'metrics-request', rid: id });
    });

  let closing: Promise<void> | undefined;
  const close = (drainMs: number): Promise<void> => {
    closing ??= (async () => {
      logger.info({ event: 'shutdown' }, 'worker draining');
      await server.close(drainMs);
      removeGuards();
      for (const s of scrapes.values()) s.reject(new Error('worker shutting down'));
    })();
    return closing;
  };
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const shutdown = (drainMs: number) => void close(drainMs).then(resolveClosed);

  channel.onMessage((m) => {
    switch (m.sy) {
      case 'config':
        try {
          runtime.reload(m.config);
          channel.send({ sy: 'reloaded', ok: true, version: runtime.state.version });
        } catch (err) {
          runtime.reloadFailed(err as Error);
          channel.send({
            sy: 'reloaded',
            ok: false,
            version: runtime.state.version,
            error: (err as Error).message,
          });
        }
        break;
      case 'metrics-collect':
        void runtime.metrics.registry
          .getMetricsAsJSON()
          .then((metrics) => channel.send({ sy: 'metrics-json', rid: m.rid, metrics }));
        break;
      case 'metrics-text': {
        const s = scrapes.get(m.rid);
        scrapes.delete(m.rid);
        if (m.error !== undefined) s?.reject(new Error(m.error));
        else s?.resolve(m.text);
        break;
      }
      case 'shutdown':
        shutdown(m.drainMs);
        break;
      default:
        break;
    }
  });

  const url = await server.listen();
  channel.send({ sy: 'ready', url });
  return {
    server,
    closed,
    close: (drainMs = 10_000) => {
      shutdown(drainMs);
      return closed;
    },
  };
}

/** The worker process's main: runs until the primary (or SIGTERM) says stop, then exits. */
export async function workerMain(): Promise<number> {
  const running = await runWorker();
  process.on('SIGINT', () => undefined);
  process.once('SIGTERM', () => void running.close());
  // Orphaned (the primary died): drain and go.
  process.once('disconnect', () => void running.close(2_000));
  await running.closed;
  return 0;
}
