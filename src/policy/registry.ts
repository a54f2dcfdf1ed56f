import type { CdnSelectionPolicy, PolicyContext, PolicyFactory } from './types';
import { weightedPolicy } from './weighted';
import { failoverPolicy } from './failover';

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Policies by type name. Built-ins register here; config names them as `policy: { type, ...options }`.
 */
export class PolicyRegistry {
  // The factories' option types differ; the registry only hands each its own validated options.
  private readonly factories = new Map<string, PolicyFactory<unknown>>();

  register<O>(factory: PolicyFactory<O>): this {
    if (this.factories.has(factory.type))
      throw new Error(`policy type "${factory.type}" is already registered`);
    this.factories.set(factory.type, factory as PolicyFactory<unknown>);
    return this;
  }

  types(): string[] {
    return [...this.factories.keys()];
  }

  /** Validates a policy config (recursively, through children) and returns every problem with its path. */
  validate(config: unknown, cdnIds: readonly string[], path: (string | number)[] = []): PolicyIssue[] {
    const split = splitPolicyConfig(config);
    if (typeof split === 'string') return [{ path, message: split }];
    const factory = this.factories.get(split.type);
    if (!factory) {
      return [
        {
          path: [...path, 'type'],
          message: `unknown policy type "${split.type}" (expected one of ${this.types().join(', ')})`,
        },
      ];
    }
    const parsed = factory.options.safeParse(split.options);
    if (!parsed.success) {
      return parsed.error.issues.map((i) => ({
        path: [...path, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
        message: i.message,
      }));
    }
    const problems = factory.check?.(parsed.data, { cdnIds }) ?? [];
    return problems.map((p) => ({ path: [...path, ...p.path], message: p.message }));
  }

  /** Builds a policy from a config that validate() accepted. */
  create(config: unknown, cdnIds: readonly string[], path: (string | number)[] = []): CdnSelectionPolicy {
    const issues = this.validate(config, cdnIds, path);
    if (issues.length > 0)
      throw new Error(`invalid policy at ${issues[0]?.path.join('.')}: ${issues[0]?.message}`);
    const split = splitPolicyConfig(config) as { type: string; options: Record<string, unknown> };
    const factory = this.factories.get(split.type) as PolicyFactory<unknown>;
    const ctx: PolicyContext = {
      cdnIds,
      createChild: (child, childPath) => this.create(child, cdnIds, [...path, ...childPath]),
    };
    return factory.create(factory.options.parse(split.options), ctx);
  }
}

function splitPolicyConfig(config: unknown): { type: string; options: Record<string, unknown> } | string {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return 'expected a policy object like { type: weighted }';
  }
  const { type, ...options } = config as Record<string, unknown>;
  if (typeof type !== 'string' || type === '') return 'expected a string "type" naming the policy';
  return { type, options };
}

export function builtinPolicies(): PolicyRegistry {
  return new PolicyRegistry().register(weightedPolicy).register(failoverPolicy);
}
