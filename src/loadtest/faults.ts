/**
 * The fault schedule: what happens to which fixture CDN when, written the way an operator says it:
 *   at=20s cdn=b down for=30s     at=40s cdn=a latency=800ms     at=10s cdn=b status=503 for=5s
 *   at=30s cdn=a errors=40%       at=30s cdn=a duress for=20s
 * A fault without `for=` lasts until the end of the run. Faults drive the fixture CDNs' control API
 * (POST /__fixture/mode, /__fixture/cmsd), so the proxy sees them only the way it would see a real CDN
 * fail: `errors=` fails that share of media segments (players see it, health probes do not), `duress`
 * makes the CDN's CMSD say `du`.
 */

export type FaultAction =
  | { readonly kind: 'down' }
  | { readonly kind: 'up' }
  | { readonly kind: 'latency'; readonly delayMs: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'errors'; readonly rate: number }
  | { readonly kind: 'duress' }
  /** The end of a duress fault. */
  | { readonly kind: 'calm' };

export interface Fault {
  /** The text it was parsed from, for reports. */
  readonly spec: string;
  readonly cdn: string;
  readonly atMs: number;
  /** Undefined: until the end of the run. */
  readonly forMs: number | undefined;
  readonly action: FaultAction;
}

/** One change of a CDN's mode at a point of the run. */
export interface FaultStep {
  readonly atMs: number;
  readonly cdn: string;
  readonly action: FaultAction;
  /** Index of the fault in the schedule that caused it. */
  readonly fault: number;
  readonly ends: boolean;
}

export class LoadtestUsageError extends Error {
  readonly code = 'LOADTEST_USAGE';
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "800ms", "20s", "1.5m", "1h"; a bare number means `bareUnit` (seconds unless told). */
export function parseDurationMs(text: string, bareUnit: 'ms' | 's' = 's'): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? bareUnit] as number));
}

function expectDuration(key: string, value: string, spec: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new LoadtestUsageError(
      `--fault "${spec}": expected ${key}= a duration like 800ms, 20s or 2m, got "${value}"`,
    );
  }
  return ms;
}

export function parseFault(spec: string): Fault {
  let atMs: number | undefined;
  let forMs: number | undefined;
  let cdn: string | undefined;
  let action: FaultAction | undefined;
  const setAction = (a: FaultAction): void => {
    if (action !== undefined) {
      throw new LoadtestUsageError(
        `--fault "${spec}": expected one of down, up, latency=, status=, errors=, duress; got two`,
      );
    }
    action = a;
  };
  for (const token of spec.trim().split(/\s+/)) {
    if (token === '') continue;
    const eq = token.indexOf('=');
    const key = (eq < 0 ? token : token.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : token.slice(eq + 1);
    switch (key) {
      case 'at':
        atMs = expectDuration('at', value, spec);
        break;
      case 'for':
        forMs = expectDuration('for', value, spec);
        if (forMs <= 0) throw new LoadtestUsageError(`--fault "${spec}": expected for= longer than 0`);
        break;
      case 'cdn':
        if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value)) {
          throw new LoadtestUsageError(`--fault "${spec}": expected cdn=<id>, got "${token}"`);
        }
        cdn = value;
        break;
      case 'down':
      case 'up':
      case 'duress':
        if (eq >= 0) throw new LoadtestUsageError(`--fault "${spec}": expected "${key}" without a value`);
        setAction({ kind: key });
        break;
      case 'errors': {
        const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
        const rate = m ? Number(m[1]) / (m[2] === '%' ? 100 : 1) : NaN;
        if (!(rate > 0 && rate <= 1))
          throw new LoadtestUsageError(
            `--fault "${spec}": expected errors= a share of media requests to fail, like 40% or 0.4, got "${value}"`,
          );
        setAction({ kind: 'errors', rate });
        break;
      }
      case 'latency':
      case 'slow':
        setAction({ kind: 'latency', delayMs: expectDuration(key, value, spec) });
        break;
      case 'status': {
        const status = Number(value);
        if (!/^\d{3}$/.test(value) || status < 100 || status > 599) {
          throw new LoadtestUsageError(
            `--fault "${spec}": expected status= an HTTP status 100-599, got "${value}"`,
          );
        }
        setAction({ kind: 'status', status });
        break;
      }
      default:
        throw new LoadtestUsageError(
          `--fault "${spec}": unknown "${token}" (expected at=, cdn=, for=, down, up, latency=, status=, errors=, duress)`,
        );
    }
  }
  if (atMs === undefined) throw new LoadtestUsageError(`--fault "${spec}": expected at=<time>, e.g. at=20s`);
  if (cdn === undefined) throw new LoadtestUsageError(`--fault "${spec}": expected cdn=<id>, e.g. cdn=b`);
  if (action === undefined) {
    throw new LoadtestUsageError(
      `--fault "${spec}": expected what happens: down, up, latency=800ms, status=503, errors=40% or duress`,
    );
  }
  return { spec: spec.trim(), cdn, atMs, forMs, action };
}

/**
 * The mode changes of a schedule in time order: each fault's start, and its end (back to up) when it
 * has `for=`. An end and a start at the same instant: the end goes first, so back-to-back faults hold.
 */
export function faultTimeline(faults: readonly Fault[]): FaultStep[] {
  const steps: FaultStep[] = [];
  faults.forEach((f, i) => {
    steps.push({ atMs: f.atMs, cdn: f.cdn, action: f.action, fault: i, ends: false });
    if (f.forMs !== undefined) {
      const end: FaultAction = f.action.kind === 'duress' ? { kind: 'calm' } : { kind: 'up' };
      steps.push({ atMs: f.atMs + f.forMs, cdn: f.cdn, action: end, fault: i, ends: true });
    }
  });
  return steps.sort((a, b) => a.atMs - b.atMs || Number(b.ends) - Number(a.ends) || a.fault - b.fault);
}

/** The fixture CDN control API body for an action (POST /__fixture/mode, or /__fixture/cmsd). */
export function fixtureMode(action: FaultAction): Record<string, unknown> {
  switch (action.kind) {
    case 'down':
    case 'up':
      return { kind: action.kind };
    case 'latency':
      return { kind: 'slow', delayMs: action.delayMs };
    case 'status':
      return { kind: 'status', status: action.status };
    case 'errors':
      return { kind: 'errors', rate: action.rate, status: 503 };
    case 'duress':
      return { duress: true };
    case 'calm':
      return { duress: false };
  }
}

/** The control endpoint an action goes to, under the fixture CDN's base URL. */
export function fixtureEndpoint(action: FaultAction): '__fixture/mode' | '__fixture/cmsd' {
  return action.kind === 'duress' || action.kind === 'calm' ? '__fixture/cmsd' : '__fixture/mode';
}

/** Faults a session must move away from (a slow CDN still serves, so it need not be evacuated). */
export function isOutage(action: FaultAction): boolean {
  return action.kind === 'down' || (action.kind === 'status' && action.status >= 400);
}

export function describeAction(action: FaultAction): string {
  switch (action.kind) {
    case 'down':
    case 'up':
      return action.kind;
    case 'latency':
      return `latency ${action.delayMs} ms`;
    case 'status':
      return `status ${action.status}`;
    case 'errors':
      return `errors ${Math.round(action.rate * 1000) / 10}%`;
    case 'duress':
    case 'calm':
      return action.kind === 'duress' ? 'CMSD duress' : 'duress ended';
  }
}
