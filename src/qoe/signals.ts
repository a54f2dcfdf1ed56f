import type { CdnId } from '../cdn-view';

/**
 * One observation of delivery quality for one session, whatever carried it: a CMCD payload on a
 * request (query or headers), a CMCD event-mode report (`POST /cmcd`), or a CMSD header a CDN sent.
 * Counts and durations cover the time since the same session's previous signal, so consumers can sum
 * them into rates (errors / requests, rebuffering / playing) without knowing the transport.
 */
export interface QoeSignal {
  /** Runtime clock, ms. */
  readonly at: number;
  readonly source: 'cmcd-query' | 'cmcd-header' | 'cmcd-event' | 'cmsd' | 'server';
  readonly sessionId?: string;
  /** The CDN the signal is about (the session's CDN, or the CDN that sent CMSD). */
  readonly cdn?: CdnId;
  readonly country?: string;
  readonly asn?: number;
  readonly segmentRequests?: number;
  readonly segmentErrors?: number;
  readonly rebufferMs?: number;
  readonly playMs?: number;
  /** CMSD `du`: the CDN asks to be moved off. */
  readonly duress?: boolean;
  /** The player's buffer ran dry since its previous report (CMCD `bs`, `bsa`, `bsd`, `sta=r`). */
  readonly starved?: boolean;
  /** Measured throughput, kbps (CMCD `mtp`, or CMSD `etp` from a probe). */
  readonly throughputKbps?: number;
  /** Encoded bitrate the player is on, kbps (CMCD `br`). */
  readonly bitrateKbps?: number;
  /** Time to first byte, ms (CMCD v2 `ttfb`; the probe's latency for CMSD). */
  readonly ttfbMs?: number;
  /** CMCD v2 event type (`e`: rr, ps, t, e, bc, ...). */
  readonly event?: string;
  /**
   * The sender's address (event mode), for abuse limits: aggregates count few sessions per address.
   * Absent when the session id is Switchyard's own (from a signed session token).
   */
  readonly client?: string;
}

export type QoeListener = (signal: QoeSignal) => void;

/**
 * In-process fan-out of QoE signals from the readers (CMCD/CMSD) to their consumers (aggregates,
 * rollout guards). Synchronous and allocation-free on publish; a listener that throws is isolated
 * (counted, never breaks the request that published).
 */
export class QoeSignalBus {
  private listeners: readonly QoeListener[] = [];
  failures = 0;

  subscribe(listener: QoeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  publish(signal: QoeSignal): void {
    for (const listener of this.listeners) {
      try {
        listener(signal);
      } catch {
        this.failures += 1;
      }
    }
  }
}
