import { hostname } from 'node:os';
import type { HealthMonitor } from '../health/monitor';
import type { QoeAggregates } from '../qoe/aggregate';
import type { SelectionCounter } from './share';
import type { VolumeLedger } from './ledger';
import type { SessionMemory } from './session-memory';

/** One Switchyard instance as the fleet sees it (heartbeat in the state store). */
export interface InstanceInfo {
  readonly id: string;
  /** Hash of the config it applied (listen addresses left out): equal hashes, equal configs. */
  readonly configHash: string;
  /** Its own count of applied configs (1 at start, +1 per reload). */
  readonly configVersion: number;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** When it last wrote its heartbeat. */
  readonly seenAt: number;
}

/** This process as a new instance: no config applied yet, seen now. */
export function newInstanceInfo(id: string, now: number): InstanceInfo {
  return {
    id,
    configHash: '',
    configVersion: 0,
    host: hostname(),
    pid: process.pid,
    startedAt: now,
    seenAt: now,
  };
}

export interface StateStatus {
  readonly backend: 'memory' | 'redis' | 'cluster';
  /** This instance. */
  readonly instance: InstanceInfo;
  /** Whether the shared store answers now (always true in memory). */
  readonly connected: boolean;
  /** When the local mirrors were last refreshed from the store. */
  readonly lastSyncAt: number | null;
  /** Store operations that failed since start (each also counted in switchyard_state_errors_total). */
  readonly errors: number;
  /** Every instance with a recent heartbeat, this one included. */
  readonly instances: readonly InstanceInfo[];
  /** Whether every live instance applied the same config. */
  readonly configConsistent: boolean;
}

/**
 * The state instances share. Everything a request reads is a local, synchronous mirror; writes are
 * queued and sent in the background, so no request waits on the store.
 */
export interface StateStore {
  readonly backend: 'memory' | 'redis' | 'cluster';
  readonly instanceId: string;
  /** Previous CDN and dwell per session (stickiness), with TTL. */
  readonly sessions: SessionMemory;
  /** Committed-volume counters of the cost policy. */
  readonly ledger: VolumeLedger;
  /** Recent selections per CDN (CdnView.share; share and capacity policies). */
  readonly selections: SelectionCounter;
  /** QoE tallies per CDN x (country, ASN) and window: this instance's plus its peers' (src/qoe). */
  readonly qoe: QoeAggregates;
  /** Shares health verdicts, probe leases and drains through the monitor's sync hooks. */
  attachHealth(monitor: HealthMonitor): void;
  /** Announces the config this instance applied (on start and every reload). */
  announceConfig(configHash: string, configVersion: number): void;
  status(now: number): StateStatus;
  start(): void;
  close(): Promise<void>;
}
