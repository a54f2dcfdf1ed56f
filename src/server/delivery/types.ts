import type { IncomingMessage } from 'node:http';
import type { StreamConfig } from '../../config/schema';
import type { ParsedManifest } from '../../manifest/load';
import type { SessionClaims } from '../../session/token';
import type { DecisionInput } from '../decide';
import type { ConfigState, Runtime } from '../runtime';

/**
 * A delivery mode: how one stream's viewers reach the CDNs. The manifest handler does route →
 * session → cache → decide → render → respond and asks the stream's mode for the two middle steps;
 * the mode's other session documents (steering JSON, segment redirects) it answers itself.
 *
 * Adding a mode: one file implementing this interface, one entry in `./index.ts`, and its name in
 * the config schema's `streams[].mode`.
 */
export interface DeliveryMode {
  readonly name: StreamConfig['mode'];
  /**
   * Which CDN this manifest sends the session to, and why. Runs the policy (through `decide`) or not
   * (a pinned steering pathway). May name a segment check the render should wait for.
   */
  choose(job: ManifestJob): Choice;
  /** The session's copy of the manifest for that choice: what URI each slot role maps to. */
  render(job: ManifestJob, choice: Choice): string | Buffer;
  /**
   * The session documents this mode answers besides manifests, by route kind (`segment`: a
   * redirect-mode segment URL, `steering`: a steering manifest). They are served whatever mode the
   * stream has now, so URLs handed out before a reload keep working.
   */
  readonly documents?: Partial<Record<DocumentRoute, (job: DocumentJob) => DocumentResult>>;
}

export type DocumentRoute = 'segment' | 'steering';

/** One manifest request, after routing, session and cache: everything a mode reads. */
export interface ManifestJob {
  readonly runtime: Runtime;
  readonly state: ConfigState;
  readonly stream: StreamConfig;
  readonly manifest: ParsedManifest;
  readonly session: SessionClaims;
  /** `<publicBase>s/<token>/`: Switchyard's URLs in this session. */
  readonly sessionBase: string;
  /** The policy's inputs for this request (the mode says whether the decision places segments). */
  readonly decision: DecisionInput;
  readonly originUrl: string;
  /** The player's query string on this manifest request, raw (never forwarded as a whole). */
  readonly query: string;
  readonly now: number;
}

export interface Choice {
  readonly cdn: string;
  readonly reason: string;
  /** CDNs in the policy's order, the chosen one first (steering pathways, service locations). */
  readonly ranked?: readonly string[];
  /** Whether this manifest puts the session's segments on `cdn` (counted as delivered volume). */
  readonly delivers: boolean;
  /** A segment URL whose availability check is still running: the render may wait for it once. */
  readonly pendingCheck?: string;
}

/** A session document request (`/s/<token>/…` that is not a manifest). */
export interface DocumentJob {
  readonly runtime: Runtime;
  readonly state: ConfigState;
  readonly stream: StreamConfig;
  readonly claims: SessionClaims;
  readonly token: string;
  /** The path after the document's route (a segment's path), or '' for a fixed document. */
  readonly path: string;
  readonly query: string;
  /** Set for steering routes: which standard's steering manifest was asked for. */
  readonly format?: 'hls' | 'dash';
  readonly req: Pick<IncomingMessage, 'headers' | 'socket'>;
}

export interface DocumentResult {
  readonly status: number;
  readonly body: string | Buffer;
  readonly headers: Record<string, string>;
}
