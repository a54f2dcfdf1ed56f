import type { HealthMonitor } from '../health/monitor';
import { QoeAggregates } from '../qoe/aggregate';
import { SelectionShare } from './share';
import { InMemoryVolumeLedger } from './ledger';
import { SessionMemory, type SessionMemoryOptions } from './session-memory';
import { newInstanceInfo, type InstanceInfo, type StateStatus, type StateStore } from './types';

/** The default: one instance, nothing to run; exactly the in-process state Switchyard always had. */
export class MemoryStateStore implements StateStore {
  readonly backend = 'memory';
  readonly sessions: SessionMemory;
  readonly ledger = new InMemoryVolumeLedger();
  readonly selections = new SelectionShare();
  readonly qoe = new QoeAggregates();
  private info: InstanceInfo;

  constructor(
    readonly instanceId: string,
    options: { sessions?: SessionMemoryOptions; now?: () => number } = {},
  ) {
    const now = (options.now ?? Date.now)();
    this.sessions = new SessionMemory({ now: options.now, ...options.sessions });
    this.info = newInstanceInfo(instanceId, now);
  }

  attachHealth(_monitor: HealthMonitor): void {
    // Alone, the monitor's own probes are the verdicts.
  }

  announceConfig(configHash: string, configVersion: number): void {
    this.info = { ...this.info, configHash, configVersion };
  }

  status(now: number): StateStatus {
    const instance = { ...this.info, seenAt: now };
    return {
      backend: 'memory',
      instance,
      connected: true,
      lastSyncAt: null,
      errors: 0,
      instances: [instance],
      configConsistent: true,
    };
  }

  start(): void {}

  async close(): Promise<void> {}
}
