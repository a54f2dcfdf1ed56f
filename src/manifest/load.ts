import { SwitchyardError } from '../errors';
import { looksLikeHls, parseHls, type HlsInfo } from './hls';
import type { Template } from './template';

/** A parsed manifest of any supported format: its template and what it is. */
export interface ParsedManifest {
  readonly template: Template;
  readonly info: HlsInfo;
  readonly contentType: string;
}

const HLS_TYPES = /^(application\/(vnd\.apple\.mpegurl|x-mpegurl)|audio\/(x-)?mpegurl)/i;

/**
 * Detects the format by content first (an origin's content type is often wrong: text/plain,
 * application/octet-stream), then by content type, never by file extension.
 */
export function parseManifest(
  text: string,
  manifestUrl: string,
  originBase: string,
  contentType: string | undefined,
): ParsedManifest {
  if (looksLikeHls(text)) {
    const { template, info } = parseHls(text, manifestUrl, originBase);
    return { template, info, contentType: 'application/vnd.apple.mpegurl' };
  }
  if (contentType && HLS_TYPES.test(contentType)) {
    throw new SwitchyardError(
      'MANIFEST_INVALID',
      'origin sent an HLS content type but the body is not an HLS playlist',
    );
  }
  if (text.trim() === '') throw new SwitchyardError('MANIFEST_INVALID', 'origin sent an empty manifest');
  throw new SwitchyardError(
    'NOT_A_MANIFEST',
    `origin answered ${contentType ? `"${contentType.split(';')[0]}"` : 'content'} that is not a manifest Switchyard can rewrite`,
  );
}

export interface TtlRules {
  masterTtl: number;
  vodTtl: number;
}

/** max-age from a Cache-Control header, in ms; 0 for no-cache/no-store; undefined when absent. */
export function originMaxAge(cacheControl: string | undefined): number | undefined {
  if (!cacheControl) return undefined;
  const cc = cacheControl.toLowerCase();
  if (/(^|[\s,])(no-store|no-cache)([\s,=]|$)/.test(cc)) return 0;
  const m = /(?:^|[\s,])(?:s-maxage|max-age)\s*=\s*"?(\d+)/.exec(cc);
  return m ? Number(m[1]) * 1000 : undefined;
}

/**
 * How long a manifest stays fresh in Switchyard's cache. A live media playlist lives about half its
 * target duration (LL-HLS: half a part target), so a reload never sees a copy older than the player's
 * reload interval allows; VOD media and masters live longer. The origin's max-age is honoured as an
 * upper bound.
 */
export function manifestTtl(info: HlsInfo, rules: TtlRules, cacheControl: string | undefined): number {
  let ttl: number;
  if (info.kind === 'master') ttl = rules.masterTtl;
  else if (!info.live) ttl = rules.vodTtl;
  else {
    const unit = info.partTarget ?? info.targetDuration ?? 2;
    ttl = Math.max(100, (unit * 1000) / 2);
  }
  const maxAge = originMaxAge(cacheControl);
  return maxAge === undefined ? ttl : Math.min(ttl, maxAge);
}
