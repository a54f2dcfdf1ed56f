import type { IncomingMessage } from 'node:http';
import { SwitchyardError } from '../errors';
import type { Selection, SelectionRequest } from '../policy/types';
import { decisionRecord } from '../decisions/record';
import type { ConfigState, Runtime } from './runtime';
import { givenRequestId } from './request-id';

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
  /** Media this manifest sends to the chosen CDN, estimated (a media playlist's; for the decision log). */
  readonly delivery?: { readonly mediaSeconds: number; readonly bitrateBps: number };
}

/**
 * Asked before a session moves from a healthy CDN to another: a reason to stay instead, or
 * undefined to let it move (e.g. the new CDN does not serve the newest segment yet).
 */
export type SwitchVeto = (from: string, to: string) => string | undefined;

/**
 * One CDN decision: current views in, the policy's selection out, checked against the config.
 * `placesSegments`: whether this decision places segments (counts toward shares) or only informs
 * (masters, redirect-mode playlists).
 */
export function decide(
  runtime: Runtime,
  state: ConfigState,
  input: DecisionInput,
  placesSegments: boolean,
  vetoSwitch?: SwitchVeto,
): Selection {
  const now = runtime.now();
  // A session in a rollout's canary arm gets the candidate's decisions, over the candidate's CDNs.
  const rollout = runtime.activeRollout;
  const arm = rollout?.armOf(input.sessionId);
  const policy = arm === 'canary' && rollout !== undefined ? rollout.policy : state.policy;
  const live = runtime.cdnViews(now);
  const request: SelectionRequest = {
    session: {
      id: input.sessionId,
      startedAt: input.startedAt,
      previous: input.previous,
      // The stickiness layer asks it before a move, so session memory never records a refused one.
      vetoSwitch,
    },
    client: {
      ip: input.req.socket.remoteAddress ?? '',
      userAgent: input.req.headers['user-agent'],
      headers: input.req.headers as Record<string, string | undefined>,
      cmcd: input.cmcd,
    },
    stream: { id: input.streamId, protocol: input.protocol, live: input.live },
    cdns: arm === 'canary' && rollout !== undefined ? rollout.views(live) : live,
    now,
  };
  const selection = policy.select(request);
  if (!state.cdns.has(selection.cdn)) {
    throw new SwitchyardError('NO_CDN', `policy ${policy.name} chose unknown CDN "${selection.cdn}"`);
  }
  if (placesSegments) {
    runtime.share.record(selection.cdn, now);
    runtime.metrics.selection(selection.cdn, selection.reason, state.cdns);
  }
  if (selection.switched) {
    runtime.recordSwitch({
      requestId: givenRequestId(input.req.headers),
      session: input.sessionId,
      stream: input.streamId,
      from: selection.switched.from,
      to: selection.switched.to,
      reason: selection.reason,
    });
  }
  const log = runtime.decisions;
  if (log.wants(input.sessionId, selection.switched !== undefined)) {
    log.record(
      decisionRecord({
        request,
        selection,
        places: placesSegments,
        sampled: log.sampled(input.sessionId),
        rate: log.sample,
        configVersion: state.version,
        policy: policy.name,
        ...(arm === undefined ? {} : { arm }),
        headerNames: state.recordedHeaders,
        qoe: runtime.qoeScores(now),
        ...(placesSegments && input.delivery !== undefined ? { delivery: input.delivery } : {}),
      }),
    );
  }
  return selection;
}

/** Every configured CDN, the selection's ranking first (steering pathway priority). */
export function rankedCdns(state: ConfigState, selection: Selection): string[] {
  const ranked = [selection.cdn, ...(selection.ranked ?? [])].filter((id) => state.cdns.has(id));
  for (const id of state.cdns.keys()) ranked.push(id);
  return [...new Set(ranked)];
}
