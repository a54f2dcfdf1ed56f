import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { cdnPrefix, configSchema, type Config } from './schema';
import { builtinPolicies, type PolicyRegistry } from '../policy/registry';
import { createSigner, SigningConfigError } from '../signing';

export interface ConfigIssue {
  /** Dotted path of the field, e.g. "cdns.1.baseUrl"; "" for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source?: string,
  ) {
    super(
      `invalid config${source ? ` ${source}` : ''}:\n` +
        issues.map((i) => `  ${i.path === '' ? '(file)' : i.path}: ${i.message}`).join('\n'),
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

/** Validates a parsed config object; returns a deep-frozen Config or throws ConfigError with every issue. */
export function validateConfig(raw: unknown, options: ConfigLoadOptions = {}): Config {
  const issues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw ?? {}, options.env ?? process.env, issues);
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      options.source,
    );
  }
  const policies = options.policies ?? builtinPolicies();
  const resolved = policies.resolve(
    parsed.data.policy,
    parsed.data.cdns.map((c) => c.id),
    ['policy'],
    { baseDir: options.baseDir },
  );
  if (resolved.issues.length > 0) {
    throw new ConfigError(
      resolved.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      options.source,
    );
  }
  const cdns = resolveSigners(parsed.data, options);
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

/** Parses YAML text (JSON is YAML too) and validates it. */
export function parseConfig(text: string, options: ConfigLoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message })),
      options.source,
    );
  }
  return validateConfig(doc.toJS({ maxAliasCount: 100 }), options);
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
