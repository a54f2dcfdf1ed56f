/**
 * Types for the parts of mpd-parser (1.x) that Switchyard uses; the package ships none. mpd-parser turns
 * an MPD into m3u8-parser's manifest shape (playlists with resolved segment URLs).
 */
declare module 'mpd-parser' {
  export interface MpdByteRange {
    length: number;
    offset: number;
  }

  export interface MpdMap {
    uri: string;
    resolvedUri: string;
    byterange?: MpdByteRange;
  }

  export interface MpdSegment {
    uri: string;
    resolvedUri: string;
    duration: number;
    number?: number;
    timeline?: number;
    presentationTime?: number;
    map?: MpdMap;
    byterange?: MpdByteRange;
  }

  export interface MpdPlaylist {
    /** Inherited MPD attributes: NAME, BANDWIDTH, CODECS, RESOLUTION, serviceLocation, ... */
    attributes: Record<string, unknown>;
    uri: string;
    resolvedUri?: string;
    endList: boolean;
    targetDuration?: number;
    mediaSequence?: number;
    timeline?: number;
    segments: MpdSegment[];
    sidx?: {
      uri: string;
      resolvedUri: string;
      byterange: MpdByteRange;
      map?: MpdMap;
    };
  }

  export interface MpdMediaGroup {
    language?: string;
    autoselect?: boolean;
    default?: boolean;
    playlists: MpdPlaylist[];
    uri?: string;
  }

  export interface MpdManifest {
    allowCache?: boolean;
    endList?: boolean;
    duration?: number;
    /** ms, when the MPD has minimumUpdatePeriod. */
    minimumUpdatePeriod?: number;
    suggestedPresentationDelay?: number;
    locations?: string[];
    contentSteering?: {
      serverURL: string;
      defaultServiceLocation?: string;
      queryBeforeStart?: boolean;
      proxyServerURL?: string;
    };
    playlists?: MpdPlaylist[];
    mediaGroups?: {
      AUDIO: Record<string, Record<string, MpdMediaGroup>>;
      VIDEO: Record<string, Record<string, MpdMediaGroup>>;
      'CLOSED-CAPTIONS': Record<string, Record<string, unknown>>;
      SUBTITLES: Record<string, Record<string, MpdMediaGroup>>;
    };
  }

  export interface MpdParseOptions {
    /** The MPD's own URL: the root of the BaseURL chain. */
    manifestUri?: string;
    /** "Now" for dynamic MPDs, ms since the epoch (default Date.now()). */
    NOW?: number;
    clientOffset?: number;
    previousManifest?: MpdManifest;
    sidxMapping?: Record<string, unknown>;
    eventHandler?: (event: { type: string; message: string }) => void;
  }

  /** Parses an MPD string; throws Error on XML it cannot read or an MPD without a Period. */
  export function parse(manifestString: string, options?: MpdParseOptions): MpdManifest;
  export function parseUTCTiming(manifestString: string): Record<string, unknown> | null;
  export const VERSION: string;
}
