/**
 * The edge where a config meets the registries: config/ checks the file against its schema, and here
 * the parts only a registry can judge are resolved, `policy:` by the policy registry (options, children,
 * module paths) and `cdns[].auth` by building every CDN's signer for every stream. This is what the
 * CLI, the server's config watcher and library users call; config/ itself knows no policy or signer.
 */
import path from 'node:path';
import {
  loadConfigFileWith,
  parseConfigWith,
  validateConfigWith,
  type ConfigIssue,
  type ConfigLoadOptions as SchemaLoadOptions,
  type ConfigResolver,
} from './config/load';
import { cdnPrefix, type Config } from './config/schema';
import { builtinPolicies, type PolicyRegistry } from './policy/registry';
import { createSigner, SignerRegistry, SigningConfigError } from './signing';
import { isBuiltinScheme, SCHEME_KEYS } from './signing/config';

export { ConfigError, type ConfigIssue } from './config/load';

export interface ConfigLoadOptions extends SchemaLoadOptions {
  /** Policies `policy:` may name; default: the built-ins. */
  policies?: PolicyRegistry;
  /** Signers `cdns[].auth.scheme` may name besides the built-in schemes and `custom` modules. */
  signers?: SignerRegistry;
}

/** `policy:` through the registry; custom module paths come back absolute. */
export function policyResolver(policies: PolicyRegistry = builtinPolicies()): ConfigResolver {
  return {
    resolve(config, { baseDir }) {
      const resolved = policies.resolve(
        config.policy,
        config.cdns.map((c) => c.id),
        ['policy'],
        { baseDir },
      );
      return {
        issues: resolved.issues.map(toConfigIssue),
        // Module paths come back absolute, so the policy builds the same from any cwd.
        config: { ...config, policy: resolved.config as Config['policy'] },
      };
    },
    // The policy's own checks (options, the CDN ids it names) when the schema failed elsewhere, so
    // one report has them all; nothing when the schema already faulted `policy:` itself.
    checkInvalid(raw, { baseDir, issues }) {
      if (issues.some((i) => i.path === 'policy' || i.path.startsWith('policy.'))) return [];
      if (raw === null || typeof raw !== 'object') return [];
      const { policy, cdns } = raw as { policy?: unknown; cdns?: unknown };
      if (policy === null || typeof policy !== 'object' || !Array.isArray(cdns)) return [];
      const ids = cdns
        .map((c: unknown) => (c !== null && typeof c === 'object' ? (c as { id?: unknown }).id : undefined))
        .filter((id): id is string => typeof id === 'string');
      try {
        return policies.resolve(policy, ids, ['policy'], { baseDir }).issues.map(toConfigIssue);
      } catch {
        // An unvalidated shape the registry cannot walk: the schema's report stands alone.
        return [];
      }
    },
  };
}

function toConfigIssue(issue: {
  readonly path: readonly (string | number)[];
  readonly message: string;
}): ConfigIssue {
  return { path: issue.path.join('.'), message: issue.message };
}

/**
 * Builds every CDN's signer once for every stream, so a key, a scope or a custom signer module that
 * cannot sign is reported now (by path) rather than on the first playlist; custom signer module
 * paths come back absolute.
 */
export function signerResolver(signers?: SignerRegistry): ConfigResolver {
  return { resolve: (config, { baseDir }) => resolveSigners(config, baseDir, signers) };
}

function resolveSigners(
  config: Config,
  baseDir: string,
  signers: SignerRegistry | undefined,
): { config: Config; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const cdns = config.cdns.map((cdn, i) => {
    if (!cdn.auth) return cdn;
    let auth = cdn.auth;
    const scheme = auth.scheme;
    if (scheme !== undefined && scheme !== 'custom' && !isBuiltinScheme(scheme) && signers?.get(scheme)) {
      // A registered signer takes its settings under `options`, like a custom module.
      const stray = [...SCHEME_KEYS, 'module' as const].filter((k) => auth[k] !== undefined);
      for (const k of stray)
        issues.push({
          path: `cdns.${i}.auth.${k}`,
          message: `${k} does not apply to the registered signer ${scheme}: its settings go under options`,
        });
      if (stray.length > 0) return cdn;
    }
    if (auth.module !== undefined) {
      const spec = auth.module;
      const absolute = spec.startsWith('.') || path.isAbsolute(spec) ? path.resolve(baseDir, spec) : spec;
      auth = { ...auth, module: absolute };
    }
    for (const stream of config.streams) {
      try {
        createSigner(
          auth,
          { streamId: stream.id, streamPrefix: cdnPrefix(cdn, stream.id) },
          baseDir,
          signers,
        );
      } catch (err) {
        const at = err instanceof SigningConfigError ? err.path : ['module'];
        const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
        issues.push({ path: ['cdns', i, 'auth', ...at].join('.'), message });
        break;
      }
    }
    return { ...cdn, auth };
  });
  return { issues, config: { ...config, cdns } };
}

function resolvers(options: ConfigLoadOptions): ConfigResolver[] {
  return [policyResolver(options.policies), signerResolver(options.signers)];
}

/**
 * Validates a parsed config object; returns a deep-frozen Config or throws one ConfigError with every
 * problem (schema, policy and signers) found in one pass.
 */
export function validateConfig(raw: unknown, options: ConfigLoadOptions = {}): Config {
  return validateConfigWith(raw, resolvers(options), options);
}

/** Parses YAML text (JSON is YAML too) and validates it; every problem carries its line. */
export function parseConfig(text: string, options: ConfigLoadOptions = {}): Config {
  return parseConfigWith(text, resolvers(options), options);
}

/** Reads and validates a config file; relative module paths in it resolve against its folder. */
export function loadConfigFile(
  file: string,
  options: Pick<ConfigLoadOptions, 'env' | 'policies' | 'signers'> = {},
): Promise<Config> {
  return loadConfigFileWith(file, resolvers(options), options);
}
