import type { HealthMonitor } from '../health/monitor';
import type { HealthSnapshot, PrimaryMessage, WorkerChannel } from './protocol';
import type { SessionMemoryOptions } from '../state/session-memory';
import { QoeAggregates } from '../qoe/aggregate';
import { FleetLedger, FleetShare, SharedSessionMemory } from '../state/fleet';
import { newInstanceInfo, type InstanceInfo, type StateStatus, type StateStore } from '../state/types';

/** How often a worker sends what changed (selections, volume, sessions) to the primary. */
const SYNC_INTERVAL_MS = 250;

/**
 * The state of one cluster worker (listen.workers > 1 with the in-process store): the primary probes
 * the CDNs and hands every worker its verdicts, drains made on any worker reach all, and selections,
 * delivered volume and session placements go through the primary to the other workers. Requests read
 * local mirrors only; nothing on a request's path waits on IPC.
 */
export class ClusterStateStore implements StateStore {
  readonly backend = 'cluster';
  readonly sessions: SharedSessionMemory;
  readonly ledger = new FleetLedger();
  readonly selections: FleetShare;
  readonly qoe = new QoeAggregates();
  private monitor: HealthMonitor | undefined;
  private info: InstanceInfo;
  private instances: readonly InstanceInfo[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt: number | null = null;
  private readonly unsubscribe: () => void;
  private readonly now: () => number;

  constructor(
    readonly instanceId: string,
    private readonly channel: WorkerChannel,
    options: { sessions?: SessionMemoryOptions; now?: () => number; health?: readonly HealthSnapshot[] } = {},
  ) {
    this.now = options.now ?? Date.now;
    const now = this.now();
    this.sessions = new SharedSessionMemory({ now: this.now, ...options.sessions });
    this.selections = new FleetShare(30_000, now);
    this.info = newInstanceInfo(instanceId, now);
    this.pendingHealth = options.health ?? [];
    this.unsubscribe = channel.onMessage((m) => this.onMessage(m));
  }

  private pendingHealth: readonly HealthSnapshot[];

  attachHealth(monitor: HealthMonitor): void {
    this.monitor = monitor;
    monitor.sync = {
      // The primary probes for the machine.
      shouldProbe: () => Promise.resolve(false),
      drained: (id, drained) => this.channel.send({ sy: 'drain', id, drained }),
    };
    for (const h of this.pendingHealth) this.applyHealth(h);
    this.pendingHealth = [];
  }

  private applyHealth(h: HealthSnapshot): void {
    if (!this.monitor) return;
    this.monitor.applyPeer(h.id, h.health, 'primary');
    this.monitor.setDrained(h.id, h.drained, true);
  }

  announceConfig(configHash: string, configVersion: number): void {
    this.info = { ...this.info, configHash, configVersion };
    this.channel.send({ sy: 'announce', info: this.info });
  }

  status(now: number): StateStatus {
    const self = { ...this.info, seenAt: now };
    const all = this.instances.some((i) => i.id === self.id)
      ? this.instances.map((i) => (i.id === self.id ? self : i))
      : [...this.instances, self];
    return {
      backend: 'cluster',
      instance: self,
      connected: true,
      lastSyncAt: this.lastSyncAt,
      errors: 0,
      instances: all,
      configConsistent: new Set(all.map((i) => i.configHash)).size <= 1,
    };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  /** Sends what changed since the last call (nothing when nothing did). */
  flush(): void {
    const now = this.now();
    const shares = this.selections.takeSnapshot(now);
    const ledger = this.ledger.takeDirty().map((d) => ({ day: d.day, totals: Object.fromEntries(d.totals) }));
    const sessions = this.sessions
      .takeWrites()
      .filter((w) => w.broadcast)
      .map((w) => ({ id: w.id, record: w.record }));
    const qoe = this.qoe.takeSnapshot();
    if (shares === undefined && ledger.length === 0 && sessions.length === 0 && qoe === undefined) return;
    this.channel.send({
      sy: 'sync',
      ...(shares === undefined ? {} : { shares }),
      ...(qoe === undefined ? {} : { qoe }),
      ...(ledger.length === 0 ? {} : { ledger }),
      ...(sessions.length === 0 ? {} : { sessions }),
    });
  }

  private onMessage(m: PrimaryMessage): void {
    switch (m.sy) {
      case 'health':
        this.monitor?.applyPeer(m.id, m.health, 'primary');
        break;
      case 'drain':
        this.monitor?.setDrained(m.id, m.drained, true);
        break;
      case 'shares':
        this.selections.setPeer(m.from, m.at, new Map(Object.entries(m.counts)));
        this.lastSyncAt = this.now();
        break;
      case 'qoe':
        this.qoe.setPeer(m.from, m.snapshot);
        break;
      case 'ledger':
        this.ledger.setPeers(m.day, new Map(Object.entries(m.totals)));
        break;
      case 'sessions':
        for (const r of m.records) this.sessions.applyPeer(r.id, r.record);
        break;
      case 'instances':
        this.instances = m.instances;
        this.selections.retainPeers(new Set(m.instances.map((i) => i.id)));
        this.qoe.retainPeers(new Set(m.instances.map((i) => i.id)));
        break;
      default:
        break;
    }
  }

  close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    this.unsubscribe();
    return Promise.resolve();
  }
}
