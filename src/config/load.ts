import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SwitchyardError } from '../errors';
import { didYouMean, knownKeysAt, lineOf, type SchemaLike } from './hints';
import { configSchema, type Config } from './schema';

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
  /** Named in error messages (the file). */
  source?: string;
  /** Folder that relative module paths resolve against (the config file's); default: cwd. */
  baseDir?: string;
}

export interface ResolveContext {
  /** Folder that relative module paths resolve against. */
  readonly baseDir: string;
}

/**
 * A part of the config that only something outside config/ can judge (the policy registry judges
 * `policy:`, the signers judge `cdns[].auth`). Supplied by the caller (src/configure.ts), so config/
 * knows no policy or signer implementation. Every resolver's problems join the same one-pass report as
 * the schema's.
 */
export interface ConfigResolver {
  /**
   * Judges a schema-valid config: returns it, possibly normalised (module paths made absolute), with
   * every problem found.
   */
  resolve(
    config: Config,
    context: ResolveContext,
  ): { readonly config: Config; readonly issues: readonly ConfigIssue[] };
  /**
   * Its checks on a config whose schema failed elsewhere (the substituted, unvalidated object), so the
   * report still names them; `issues` are the problems found so far (environment and schema), so a
   * resolver stays quiet about a part already reported. Must not throw on any shape. Omitted: nothing
   * to say until the schema passes.
   */
  checkInvalid?(
    raw: unknown,
    context: ResolveContext & { readonly issues: readonly ConfigIssue[] },
  ): readonly ConfigIssue[];
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

/**
 * Validates a parsed config object in one pass: ${VAR} substitution, the schema, and each resolver
 * (src/configure.ts gives the policy's and the signers'). Returns a deep-frozen Config or throws one
 * ConfigError with every problem found: unset variables, the schema's, and the resolvers' (their checks
 * on the raw object when the schema failed elsewhere, their full checks when it passed).
 */
export function validateConfigWith(
  raw: unknown,
  resolvers: readonly ConfigResolver[],
  options: ConfigLoadOptions = {},
): Config {
  const envIssues: ConfigIssue[] = [];
  const substituted = substituteEnv(raw ?? {}, options.env ?? process.env, envIssues);
  const context: ResolveContext = { baseDir: options.baseDir ?? process.cwd() };
  const parsed = configSchema.safeParse(substituted);
  if (!parsed.success) {
    // An unset variable also fails the schema at the same field: report it once, as the variable.
    const envPaths = new Set(envIssues.map((i) => i.path));
    const issues = [
      ...envIssues,
      ...parsed.error.issues.flatMap(schemaIssues).filter((i) => !envPaths.has(i.path)),
    ];
    for (const resolver of resolvers) {
      if (resolver.checkInvalid) issues.push(...resolver.checkInvalid(substituted, { ...context, issues }));
    }
    throw new ConfigError(issues, options.source);
  }
  const issues: ConfigIssue[] = [...envIssues];
  let config: Config = parsed.data;
  for (const resolver of resolvers) {
    const resolved = resolver.resolve(config, context);
    issues.push(...resolved.issues);
    config = resolved.config;
  }
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  // File paths come back absolute, so the config means the same from any cwd (the resolvers do the
  // same for module paths).
  return deepFreeze({
    ...config,
    decisions: withAbsoluteFile(config.decisions, context.baseDir),
    ...(config.rollout === undefined ? {} : { rollout: withAbsolutePaths(config.rollout, context.baseDir) }),
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

/** Parses YAML text (JSON is YAML too) and validates it; every problem carries its line. */
export function parseConfigWith(
  text: string,
  resolvers: readonly ConfigResolver[],
  options: ConfigLoadOptions = {},
): Config {
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
    return validateConfigWith(doc.toJS({ maxAliasCount: 100 }), resolvers, options);
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

/** Reads a config file and validates it; relative paths in it resolve against its folder. */
export async function loadConfigFileWith(
  file: string,
  resolvers: readonly ConfigResolver[],
  options: Pick<ConfigLoadOptions, 'env'> = {},
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }], file);
  }
  return parseConfigWith(text, resolvers, {
    ...options,
    source: file,
    baseDir: path.dirname(path.resolve(file)),
  });
}
