import type { IncomingMessage } from 'node:http';
import { SwitchyardError } from '../errors';
import type { Selection } from '../policy/types';
import type { ConfigState, Runtime } from './runtime';

export interface DecisionInput {
  readonly streamId: string;
  readonly protocol: 'hls' | 'dash';
  readonly live: boolean;
  readonly sessionId: string;
  readonly startedAt: number;
  readonly req: Pick<IncomingMessage, 'headers' | 'socket'>;
  /** CMCD and steering signals the player sent with this request. */
  readonly cmcd?: Readonly<Record<string, string | number | boolean>>;
  /** The CDN the player says it is on (a steering request's _HLS_pathway). */
  readonly previous?: string;
  /** Whether this decision places segments (counts toward shares) or only informs (masters). */
  readonly placesSegments: boolean;
}

/** One CDN decision: current views in, the policy's selection out, checked against the config. */
export function decide(runtime: Runtime, state: ConfigState, input: DecisionInput): Selection {
  const now = runtime.now();
  const cdns = runtime.cdnViews(now);
  const selection = state.policy.select({
    session: {
      id: input.sessionId,
      startedAt: input.startedAt,
      ...(input.previous === undefined ? {} : { previous: input.previous }),
    },
    client: {
      ip: input.req.socket.remoteAddress ?? '',
      userAgent: input.req.headers['user-agent'],
      headers: input.req.headers as Record<string, string | undefined>,
      ...(input.cmcd === undefined ? {} : { cmcd: input.cmcd }),
    },
    stream: { id: input.streamId, protocol: input.protocol, live: input.live },
    cdns,
    now,
  });
  if (!state.cdns.has(selection.cdn)) {
    throw new SwitchyardError('NO_CDN', `policy ${state.policy.name} chose unknown CDN "${selection.cdn}"`);
  }
  if (input.placesSegments) {
    runtime.share.record(selection.cdn, now);
    runtime.metrics.selection(selection.cdn, selection.reason);
  }
  if (selection.switched) {
    runtime.recordSwitch({
      session: input.sessionId,
      stream: input.streamId,
      from: selection.switched.from,
      to: selection.switched.to,
      reason: selection.reason,
    });
  }
  return selection;
}

/** Every configured CDN, the selection's ranking first (steering pathway priority). */
export function rankedCdns(state: ConfigState, selection: Selection): string[] {
  const ranked = [selection.cdn, ...(selection.ranked ?? [])].filter((id) => state.cdns.has(id));
  for (const id of state.cdns.keys()) ranked.push(id);
  return [...new Set(ranked)];
}
