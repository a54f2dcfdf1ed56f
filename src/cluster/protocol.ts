/**
 * The messages between the primary process and its workers (node:cluster IPC, JSON). Workers never
 * talk to each other: the primary relays. Everything here is plain data.
 */
import type { Config } from '../config/schema';
import type { SharedHealth } from '../health/monitor';
import type { QoeSnapshot } from '../qoe/aggregate';
import type { SessionRecord } from '../state/session-memory';
import type { InstanceInfo } from '../state/types';

/** A CDN's health as the primary knows it: the verdict of its probes and the operator's drain. */
export interface HealthSnapshot {
  readonly id: string;
  readonly health: SharedHealth;
  readonly drained: boolean;
}

export type PrimaryMessage =
  /** First message to a new worker: the config to serve and the current health of every CDN. */
  | { readonly sy: 'init'; readonly config: Config; readonly health: readonly HealthSnapshot[] }
  /** A config the primary loaded (file change or SIGHUP): apply it. */
  | { readonly sy: 'config'; readonly config: Config }
  /** A probe verdict of the primary. */
  | { readonly sy: 'health'; readonly id: string; readonly health: SharedHealth }
  /** A drain or undrain made on any worker. */
  | { readonly sy: 'drain'; readonly id: string; readonly drained: boolean }
  /** Another worker's recent selections (decaying from `at`). */
  | {
      readonly sy: 'shares';
      readonly from: string;
      readonly at: number;
      readonly counts: Readonly<Record<string, number>>;
    }
  /** Another worker's QoE tallies (its own, per window). */
  | { readonly sy: 'qoe'; readonly from: string; readonly snapshot: QoeSnapshot }
  /** The other workers' delivered volume of one day, summed, per CDN. */
  | { readonly sy: 'ledger'; readonly day: string; readonly totals: Readonly<Record<string, number>> }
  /** Sessions another worker placed or moved. */
  | { readonly sy: 'sessions'; readonly records: readonly { id: string; record: SessionRecord }[] }
  /** Every live worker. */
  | { readonly sy: 'instances'; readonly instances: readonly InstanceInfo[] }
  /** Asks for this worker's metrics (prom-client JSON) for an aggregated scrape. */
  | { readonly sy: 'metrics-collect'; readonly rid: number }
  /** The aggregated /metrics text a worker asked for. */
  | { readonly sy: 'metrics-text'; readonly rid: number; readonly text: string; readonly error?: string }
  /** Stop accepting, drain, exit. */
  | { readonly sy: 'shutdown'; readonly drainMs: number };

export type WorkerMessage =
  /** Listening: the primary counts the worker in. */
  | { readonly sy: 'ready'; readonly url: string }
  /** The worker's instance info (on start and after every applied config). */
  | { readonly sy: 'announce'; readonly info: InstanceInfo }
  /** What changed on this worker since its last sync. */
  | {
      readonly sy: 'sync';
      readonly shares?: { at: number; counts: Record<string, number> };
      readonly qoe?: QoeSnapshot;
      readonly ledger?: readonly { day: string; totals: Record<string, number> }[];
      readonly sessions?: readonly { id: string; record: SessionRecord }[];
    }
  /** An operator drained or undrained a CDN on this worker. */
  | { readonly sy: 'drain'; readonly id: string; readonly drained: boolean }
  /** A config from the primary was applied, or refused. */
  | { readonly sy: 'reloaded'; readonly ok: boolean; readonly version: number; readonly error?: string }
  /** /metrics was asked of this worker: the primary gathers every worker's. */
  | { readonly sy: 'metrics-request'; readonly rid: number }
  /** This worker's metrics for an aggregated scrape. */
  | { readonly sy: 'metrics-json'; readonly rid: number; readonly metrics: unknown };

export function isPrimaryMessage(m: unknown): m is PrimaryMessage {
  return typeof m === 'object' && m !== null && typeof (m as { sy?: unknown }).sy === 'string';
}

export const isWorkerMessage = isPrimaryMessage as (m: unknown) => m is WorkerMessage;

/** How a worker's side talks to the primary (process IPC in production, a pair of queues in tests). */
export interface WorkerChannel {
  send(message: WorkerMessage): void;
  /** Subscribes; returns the unsubscribe. */
  onMessage(handler: (message: PrimaryMessage) => void): () => void;
}

/** The worker side of node:cluster's IPC. */
export function processChannel(proc: NodeJS.Process = process): WorkerChannel {
  return {
    send(message) {
      // A primary that went away is handled by the 'disconnect' event, not by each send.
      if (proc.connected) proc.send?.(message, undefined, undefined, () => undefined);
    },
    onMessage(handler) {
      const listener = (m: unknown) => {
        if (isPrimaryMessage(m)) handler(m);
      };
      proc.on('message', listener);
      return () => void proc.off('message', listener);
    },
  };
}
