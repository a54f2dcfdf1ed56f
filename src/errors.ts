/**
 * One catalogue of error codes, each with the HTTP status a player or operator gets for it.
 * Only the HTTP error responder turns these into responses; everything else throws them.
 */
export const ERROR_STATUS = {
  /** A request body that cannot be read (e.g. a CMCD report cut off). */
  BAD_REQUEST: 400,
  BAD_PATH: 400,
  URL_TOO_LONG: 414,
  NOT_FOUND: 404,
  /** Content Steering deliberately withdrawn (stream removed or no longer in steering mode). */
  STEERING_WITHDRAWN: 410,
  UNKNOWN_STREAM: 404,
  TOKEN_INVALID: 403,
  TOKEN_EXPIRED: 403,
  TOKEN_WRONG_STREAM: 403,
  METHOD_NOT_ALLOWED: 405,
  ORIGIN_NOT_FOUND: 404,
  ORIGIN_STATUS: 502,
  ORIGIN_UNREACHABLE: 502,
  ORIGIN_TIMEOUT: 504,
  ORIGIN_TOO_LARGE: 502,
  ORIGIN_REDIRECT: 502,
  ORIGIN_NOT_ALLOWED: 502,
  ORIGIN_BAD_ENCODING: 502,
  MANIFEST_INVALID: 502,
  /**
   * The manifest is past one of `limits.manifest` (lines, segments, variants, elements, depth...), or
   * its parse ran past `limits.parse.timeout` or needed more than `limits.parse.workerHeapBytes`.
   */
  MANIFEST_TOO_COMPLEX: 502,
  NOT_A_MANIFEST: 502,
  SIGNING_UNSUPPORTED: 502,
  NO_CDN: 503,
  /**
   * The heap is above `limits.heapBudget`, or every parse thread is busy and `limits.parse.maxQueued`
   * parses wait already: new manifest work is shed (with Retry-After).
   */
  OVERLOADED: 503,
  /** LL-HLS: `_HLS_part` without `_HLS_msn`, a malformed value, or a directive too far ahead. */
  BLOCKING_RELOAD_INVALID: 400,
  /** LL-HLS: a blocking reload not satisfied within three target durations. */
  BLOCKING_RELOAD_TIMEOUT: 503,
  /** One client address holds more blocking reloads at once than `limits.blockingPerClient`. */
  TOO_MANY_BLOCKING_RELOADS: 429,
  /** CMCD event mode: a body with no readable report (`POST /cmcd`). */
  CMCD_INVALID: 400,
  /** CMCD event mode: a body larger than `qoe.events.maxBodyBytes`. */
  CMCD_TOO_LARGE: 413,
  /** CMCD event mode: a body that is not `application/cmcd` (or text/plain, as sendBeacon sends). */
  CMCD_MEDIA_TYPE: 415,
  /** CMCD event mode: one address sends reports faster than `qoe.events.ratePerClient`. */
  CMCD_RATE_LIMITED: 429,
  /** A config file or object that does not validate (ConfigError, with every issue by path). */
  CONFIG_INVALID: 500,
  /** A candidate config sent to the admin API (what-if) does not validate. */
  CANDIDATE_INVALID: 400,
  /** A request body over its route's limit. */
  PAYLOAD_TOO_LARGE: 413,
  /** A rollout action that does not apply now (no rollout running, already decided). */
  ROLLOUT_CONFLICT: 409,
  UNAUTHORIZED: 401,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /**
   * Extra, non-secret facts for logs and the JSON body (e.g. the origin status): the body nests them
   * under `error.details`, so they never stand in for `code` or `message`.
   */
  readonly details: Readonly<Record<string, string | number | boolean>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, string | number | boolean> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

export function isSwitchyardError(err: unknown): err is SwitchyardError {
  return err instanceof SwitchyardError;
}

/** Any thrown value as a SwitchyardError; unknown errors become INTERNAL without leaking their text. */
export function toSwitchyardError(err: unknown): SwitchyardError {
  if (isSwitchyardError(err)) return err;
  return new SwitchyardError('INTERNAL', 'internal error', { cause: err });
}
