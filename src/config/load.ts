import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SwitchyardError } from '../errors';
import { didYouMean, knownKeysAt, lineOf, type SchemaLike } from './hints';
import { cdnPrefix, configSchema, type Config } from './schema';
import { builtinPolicies, type PolicyRegistry } from '../policy/registry';
import { createSigner, SigningConfigError } from '../signing';

export interface ConfigIssue {
  /** Dotted path of the field, e.g. "cdns.1.baseUrl"; "" for the whole file. */
  path: string;
  message: string;
  /** 1-based line of the field in the YAML file, when it was read from one. */
  line?: number;
  /** An unknown key (its line is the key's own); internal to locating it. */
  key?: string;
}

/** An invalid config, with every problem by path: a SwitchyardError of code CONFIG_INVALID. */
export class ConfigError extends SwitchyardError {
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source?: string,
  ) {
    super(
      'CONFIG_INVALID',
      `invalid config${source ? ` ${source}` : ''}` +
        (issues.length > 1 ? ` (${issues.length} problems)` : '') +
        ':\n' +
        issues
          .map(
            (i) =>
              `  ${i.path === '' ? '(file)' : i.path}: ${i.message}${i.line === undefined ? '' : ` (line ${i.line})`}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${VAR} and ${VAR:-default} in every string value (never in keys, never in the raw text, so
 * a variable cannot inject YAML structure). Unset variables without a default are reported by path.
 */
export function substituteEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  issues: ConfigIssue[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (whole, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      issues.push({
        path: path.join('.'),
        message: `environment variable ${name} is not set (used as ${whole})`,
      });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        substituteEnv(v, env, issues, [...path, k]),
      ]),
    );
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export interface ConfigLoadOptions {
  /** Where ${VAR} references are looked up; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  policies?: PolicyRegistry;
  /** Named in error messages (the file). */
  source?: string;
  /** Folder that relative policy module paths resolve against (the config file's); default: cwd. */
  baseDir?: string;
}

/** A zod issue as config issues: an unknown key names the key and the nearest allowed one. */
function schemaIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const at = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
  const path = at.join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = knownKeysAt(configSchema as unknown as SchemaLike, at);
    return issue.keys.map((key) => {
      const near = didYouMean(key, allowed);
      return {
        path,
        key,
        message: `unknown key "${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`,
      };
    });
  }
  // A required field that is absent: say so, rather than "expected string, received undefined".
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message))
    return [{ path, message: `required, missing (expected ${issue.expected})` }];
  return [{ path, message: issue.message }];
}

/** The policy's own checks (options, CDN ids) on a config whose schema failed elsewhere. */
function policyIssuesOfRaw(raw: unknown, options: ConfigLoadOptions): ConfigIssue[] {
  if (raw === null || typeof raw !== 'object') return [];
  const { policy, cdns } = raw as { policy?: unknown; cdns?: unknown };
  if (policy === null || typeof policy !== 'object' || !Array.isArray(cdns)) return [];
  const ids = cdns
    .map((c: unknown) => (c !== null && typeof c === 'object' ? (c as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === 'string');
  try {
    const resolved = (options.policies ?? builtinPolicies()).resolve(policy, ids, ['policy'], {
      baseDir: options.baseDir,
    });
    return resolved.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  } catch {
    return [];
  }
}

/**
 * Validates a parsed config object; returns a deep-frozen Config or throws ConfigError with every
 * problem found in one pass: unset environment variables, the schema, and the policy's cross-field
 * checks (CDN ids it names) even when the schema failed elsewhere; signers when the rest is valid.
 */
export function validateConfig(raw: unknown, options: ConfigLoadOptions = {}): Config {
  const envIssues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw ?? {}, options.env ?? process.env, envIssues);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    // An unset variable also fails the schema at the same field: report it once, as the variable.
    const envPaths = new Set(envIssues.map((i) => i.path));
    const issues = [
      ...envIssues,
      ...parsed.error.issues.flatMap(schemaIssues).filter((i) => !envPaths.has(i.path)),
    ];
    if (!issues.some((i) => i.path === 'policy' || i.path.startsWith('policy.')))
      issues.push(...policyIssuesOfRaw(substituted, options));
    throw new ConfigError(issues, options.source);
  }
  const policies = options.policies ?? builtinPolicies();
  const resolved = policies.resolve(
    parsed.data.policy,
    parsed.data.cdns.map((c) => c.id),
    ['policy'],
    { baseDir: options.baseDir },
  );
  const issues: ConfigIssue[] = [
    ...envIssues,
    ...resolved.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  ];
  let cdns: Config['cdns'] = parsed.data.cdns;
  try {
    cdns = resolveSigners(parsed.data, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues.push(...err.issues);
  }
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  // Module and file paths come back absolute, so the config means the same from any cwd.
  return deepFreeze({
    ...parsed.data,
    cdns,
    policy: resolved.config as Config['policy'],
    decisions: withAbsoluteFile(parsed.data.decisions, options.baseDir),
    ...(parsed.data.rollout === undefined
      ? {}
      : { rollout: withAbsolutePaths(parsed.data.rollout, options.baseDir ?? process.cwd()) }),
  });
}

function withAbsolutePaths(
  rollout: NonNullable<Config['rollout']>,
  baseDir: string,
): NonNullable<Config['rollout']> {
  return {
    ...rollout,
    candidate: path.resolve(baseDir, rollout.candidate),
    ...(rollout.writeTo === undefined ? {} : { writeTo: path.resolve(baseDir, rollout.writeTo) }),
  };
}

function withAbsoluteFile(decisions: Config['decisions'], baseDir: string | undefined): Config['decisions'] {
  if (!decisions.file) return decisions;
  return {
    ...decisions,
    file: { ...decisions.file, path: path.resolve(baseDir ?? process.cwd(), decisions.file.path) },
  };
}

/**
 * Builds every CDN's signer once for every stream, so a key, a scope or a custom signer module that
 * cannot sign is reported now (by path) rather than on the first playlist; custom signer module
 * paths come back absolute.
 */
function resolveSigners(config: z.output<typeof configSchema>, options: ConfigLoadOptions): Config['cdns'] {
  const issues: ConfigIssue[] = [];
  const baseDir = options.baseDir ?? process.cwd();
  const cdns = config.cdns.map((cdn, i) => {
    if (!cdn.auth) return cdn;
    let auth = cdn.auth;
    if (auth.module !== undefined) {
      const spec = auth.module;
      const absolute = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(baseDir, spec) : spec;
      auth = { ...auth, module: absolute };
    }
    for (const stream of config.streams) {
      try {
        createSigner(auth, { streamId: stream.id, streamPrefix: cdnPrefix(cdn, stream.id) }, baseDir);
      } catch (err) {
        const at = err instanceof SigningConfigError ? err.path : ['module'];
        const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
        issues.push({ path: ['cdns', i, 'auth', ...at].join('.'), message });
        break;
      }
    }
    return { ...cdn, auth };
  });
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return cdns;
}

/** Parses YAML text (JSON is YAML too) and validates it; every problem carries its line. */
export function parseConfig(text: string, options: ConfigLoadOptions = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
      })),
      options.source,
    );
  }
  try {
    return validateConfig(doc.toJS({ maxAliasCount: 100 }), options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(
      err.issues.map((i) => {
        if (i.path === '' && i.key === undefined) return i;
        const at = i.path === '' ? [] : i.path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        const line = lineOf(doc, lineCounter, at, i.key);
        return line === undefined ? i : { ...i, line };
      }),
      err.source,
    );
  }
}

export async function loadConfigFile(
  file: string,
  options: Pick<ConfigLoadOptions, 'env' | 'policies'> = {},
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }], file);
  }
  return parseConfig(text, { ...options, source: file, baseDir: path.dirname(path.resolve(file)) });
}
