/**
 * The signers of one config, and the caches that make signing free on the hot path: a signed template
 * per (manifest, CDN, epoch), one token per (CDN, stream scope, epoch), and per-URL tokens by URL. A
 * token is minted once per epoch, not per request, so every session on one CDN in one epoch gets the
 * same bytes. No I/O; the clock is the caller's.
 */
import { LRUCache } from 'lru-cache';
import { encodeTemplate, type EncodedTemplate, type Template } from '../manifest/template';
import { signTemplate, withToken, type TemplateSigning } from './apply';
import type { AuthConfig } from './config';
import { mintTimes, usageNeedMs, type MintTimes, type UsageInfo } from './epoch';
import { createSigner } from './index';
import type { SignerRegistry } from './registry';
import type { SignTarget, UrlSigner } from './types';

export interface SigningCdn {
  readonly id: string;
  readonly auth?: AuthConfig;
}

export interface CdnSignersOptions {
  readonly cdns: readonly SigningCdn[];
  /** `<cdn baseUrl><pathTemplate before {path}>` per stream id, per CDN id. */
  readonly prefixes: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly sessionMaxAgeMs: number;
  /** Folder custom signer modules resolve against (their paths are absolute after config load). */
  readonly baseDir?: string;
  /** Signers supplied in process (RuntimeOptions.signers), by scheme name. */
  readonly signers?: SignerRegistry;
  /** Called once per (CDN, stream) when a CDN-side lifetime cannot cover what players need. */
  readonly onShortfall?: (cdn: string, stream: string, shortfallMs: number) => void;
}

/** What signing needs of a cached manifest: its template, and how long players use a copy. */
interface SignableManifest {
  readonly template: Template;
  readonly info: UsageInfo;
}

interface Entry {
  readonly signer: UrlSigner;
  readonly auth: AuthConfig;
  readonly prefix: string;
  /** The prefix-scoped token of the current epoch. */
  scope?: { key: string; token: string };
}

/** What to sign in a rendering: CDN media URIs, keys loaded from the CDN, or both. */
export interface SignWhat {
  readonly media: boolean;
  readonly keys: boolean;
  /** Slot paths are XML-escaped (DASH). */
  readonly xml: boolean;
}

const MAX_URL_TOKENS = 50_000;
/** Signed templates kept per manifest: a few CDNs x the current and the previous epoch. */
const MAX_SIGNED_PER_MANIFEST = 16;

export class CdnSigners {
  private readonly entries = new Map<string, Entry | null>();
  private readonly urlTokens = new LRUCache<string, string>({ max: MAX_URL_TOKENS });
  private readonly signed = new WeakMap<object, Map<string, EncodedTemplate | Template>>();
  private readonly warned = new Set<string>();
  private readonly auths: ReadonlyMap<string, AuthConfig>;

  constructor(private readonly o: CdnSignersOptions) {
    this.auths = new Map(o.cdns.flatMap((c) => (c.auth ? [[c.id, c.auth] as const] : [])));
  }

  /** True when no CDN signs: callers skip all of this. */
  get none(): boolean {
    return this.auths.size === 0;
  }

  signs(cdn: string): boolean {
    return this.auths.has(cdn);
  }

  private entry(cdn: string, stream: string): Entry | undefined {
    const k = cdn + '\0' + stream;
    let e = this.entries.get(k);
    if (e === undefined) {
      const auth = this.auths.get(cdn);
      const prefix = this.o.prefixes.get(stream)?.get(cdn);
      e =
        auth && prefix !== undefined
          ? {
              auth,
              prefix,
              signer: createSigner(
                auth,
                { streamId: stream, streamPrefix: prefix },
                this.o.baseDir,
                this.o.signers,
              ),
            }
          : null;
      this.entries.set(k, e);
    }
    return e ?? undefined;
  }

  private times(e: Entry, cdn: string, stream: string, now: number, needMs: number): MintTimes {
    const t = mintTimes(now, e.auth.window, needMs, e.signer.lifetimeAtCdn);
    if (t.shortfallMs > 0 && !this.warned.has(cdn + '\0' + stream)) {
      this.warned.add(cdn + '\0' + stream);
      this.o.onShortfall?.(cdn, stream, t.shortfallMs);
    }
    return t;
  }

  private signing(e: Entry, cdn: string, stream: string, t: MintTimes, what: SignWhat): TemplateSigning {
    return {
      signer: e.signer,
      keepOriginQuery: e.auth.keepOriginQuery,
      mediaPrefix: e.prefix,
      media: what.media,
      keys: what.keys,
      xml: what.xml,
      token: (target) => this.token(e, cdn, stream, t, target),
    };
  }

  private token(e: Entry, cdn: string, stream: string, t: MintTimes, target: SignTarget): string {
    if (!e.signer.perUrl) {
      if (e.scope?.key !== t.key) e.scope = { key: t.key, token: e.signer.sign(target, t.times) };
      return e.scope.token;
    }
    const k = `${cdn}\0${stream}\0${t.key}\0${target.url}`;
    let token = this.urlTokens.get(k);
    if (token === undefined) {
      token = e.signer.sign(target, t.times);
      this.urlTokens.set(k, token);
    }
    return token;
  }

  /**
   * The manifest's template with `cdn`'s tokens, for this epoch, encoded for renderBytes; undefined
   * when the CDN does not sign. Built once per (manifest, CDN, epoch, what).
   */
  encoded(
    manifest: SignableManifest,
    stream: string,
    cdn: string,
    now: number,
    what: SignWhat,
  ): EncodedTemplate | undefined {
    return this.cached(manifest, stream, cdn, now, what, 'e') as EncodedTemplate | undefined;
  }

  /** The same as a Template (for renderings that map slots, such as steering masters). */
  template(
    manifest: SignableManifest,
    stream: string,
    cdn: string,
    now: number,
    what: SignWhat,
  ): Template | undefined {
    return this.cached(manifest, stream, cdn, now, what, 't') as Template | undefined;
  }

  /**
   * One template carrying the tokens of several CDNs at once (DASH steering: one MPD, one
   * SegmentTemplate for every service location). Each CDN's token parameters are appended in turn.
   */
  templateForAll(
    manifest: SignableManifest,
    stream: string,
    cdns: readonly string[],
    now: number,
    what: SignWhat,
  ): Template {
    const need = usageNeedMs(manifest.info, this.o.sessionMaxAgeMs);
    const steps: { e: Entry; cdn: string; t: MintTimes }[] = [];
    for (const cdn of cdns) {
      const e = this.entry(cdn, stream);
      if (e) steps.push({ e, cdn, t: this.times(e, cdn, stream, now, need) });
    }
    if (steps.length === 0) return manifest.template;
    const key = `a${what.keys ? 'k' : ''}\0${stream}\0${steps.map((x) => x.cdn + '@' + x.t.key).join(',')}`;
    let perManifest = this.signed.get(manifest);
    const hit = perManifest?.get(key);
    if (hit) return hit as Template;
    let template = manifest.template;
    for (const { e, cdn, t } of steps) {
      template = signTemplate(template, { ...this.signing(e, cdn, stream, t, what), keepOriginQuery: true });
    }
    if (!perManifest) {
      perManifest = new Map();
      this.signed.set(manifest, perManifest);
    }
    if (perManifest.size >= MAX_SIGNED_PER_MANIFEST) perManifest.clear();
    perManifest.set(key, template);
    return template;
  }

  private cached(
    manifest: SignableManifest,
    stream: string,
    cdn: string,
    now: number,
    what: SignWhat,
    form: 'e' | 't',
  ): EncodedTemplate | Template | undefined {
    const e = this.entry(cdn, stream);
    if (!e) return undefined;
    const t = this.times(e, cdn, stream, now, usageNeedMs(manifest.info, this.o.sessionMaxAgeMs));
    const key = `${form}${what.media ? 'm' : ''}${what.keys ? 'k' : ''}\0${cdn}\0${stream}\0${t.key}`;
    let perManifest = this.signed.get(manifest);
    const hit = perManifest?.get(key);
    if (hit) return hit;
    const signed = signTemplate(manifest.template, this.signing(e, cdn, stream, t, what));
    const value = form === 'e' ? encodeTemplate(signed) : signed;
    if (!perManifest) {
      perManifest = new Map();
      this.signed.set(manifest, perManifest);
    }
    if (perManifest.size >= MAX_SIGNED_PER_MANIFEST) perManifest.clear();
    perManifest.set(key, value);
    return value;
  }

  /**
   * `pathAndQuery` (under the stream's folder on the CDN, as in a manifest) with `cdn`'s token: for
   * redirect-mode 302s and newest-segment checks. Unchanged when the CDN does not sign.
   */
  signPath(cdn: string, stream: string, pathAndQuery: string, now: number, needMs = 0): string {
    const e = this.entry(cdn, stream);
    if (!e) return pathAndQuery;
    const t = this.times(e, cdn, stream, now, needMs);
    return withToken(
      pathAndQuery,
      this.signing(e, cdn, stream, t, { media: true, keys: false, xml: false }),
      pathAndQuery,
      false,
    );
  }
}
