import { LRUCache } from 'lru-cache';

/*
 * Redirect mode's answer to a CDN that fails between two health probes. A player asks Switchyard for
 * each segment and follows the 302; when the CDN it was sent to drops the request, the player asks
 * again (shaka and dash.js retry the same URL; hls.js switches rendition, and asks for the first URL
 * again when that fails too). A session that asks for a segment it was redirected for moments ago is
 * telling Switchyard the redirect failed, long before a probe can: the retry, and every segment of that
 * session for a while, goes to the next CDN of the ranking instead.
 */

/** A re-request within this time after a redirect counts as a retry of a failed redirect. */
export const RETRY_WINDOW_MS = 10_000;
/** How long a session avoids the CDN a retry showed failing (unless it is the only healthy one). */
export const AVOID_MS = 10_000;

interface Redirected {
  readonly cdn: string;
  readonly at: number;
}

export class RetryMemory {
  private readonly redirects: LRUCache<string, Redirected>;
  private readonly avoid: LRUCache<string, Redirected>;

  constructor(maxEntries = 50_000) {
    this.redirects = new LRUCache({ max: maxEntries });
    this.avoid = new LRUCache({ max: Math.max(1, Math.floor(maxEntries / 4)) });
  }

  /**
   * The CDN this session should not be sent to for this request, and why: the one its previous
   * redirect for the same path went to (a retry), or the one an earlier retry of the session showed
   * failing. Undefined when nothing points at a failure.
   */
  suspect(session: string, path: string, now: number): { cdn: string; reason: string } | undefined {
    const last = this.redirects.get(`${session}\n${path}`);
    if (last && now >= last.at && now - last.at < RETRY_WINDOW_MS) {
      this.avoid.set(session, { cdn: last.cdn, at: now });
      return { cdn: last.cdn, reason: `retry ${now - last.at} ms after a redirect to ${last.cdn}` };
    }
    const avoided = this.avoid.get(session);
    if (avoided && now >= avoided.at && now - avoided.at < AVOID_MS)
      return { cdn: avoided.cdn, reason: `a retry ${now - avoided.at} ms ago showed ${avoided.cdn} failing` };
    return undefined;
  }

  /** Remembers where this session's request for `path` was sent. */
  note(session: string, path: string, cdn: string, now: number): void {
    this.redirects.set(`${session}\n${path}`, { cdn, at: now });
  }
}
