import { createRequire } from 'node:module';
import path from 'node:path';
import { MODULE_TOOLKIT, type ModuleToolkit } from './define';
import type { core } from 'zod';
import type {
  CdnSelectionPolicy,
  CheckContext,
  PolicyContext,
  PolicyEvent,
  PolicyFactory,
  PolicyIssue,
  SharedPolicyState,
} from './types';
import { createPolicyState } from '../state/policy-state';
import { weightedPolicy } from './weighted';
import { failoverPolicy } from './failover';
import { rulesPolicy } from './rules';
import { capacityPolicy } from './capacity';
import { costPolicy } from './cost';
import { qoePolicy } from './qoe';
import { splitPolicy } from './split';
import { stickyPolicy, withStickiness } from './sticky';

export type { PolicyIssue } from './types';

export interface ResolveOptions {
  /** Folder that relative `module` paths resolve against: the config file's folder. Default: cwd. */
  readonly baseDir?: string;
}

export interface CreateOptions extends ResolveOptions {
  /**
   * The state the policy reads and writes (session memory, volume ledger, scores): pass the same one
   * to every config's policy so a reload keeps it. Default: a new in-process state.
   */
  readonly state?: SharedPolicyState;
}

type Path = (string | number)[];

/** A policy config split into what names the factory and the options it gets. */
type PolicyRef =
  | { kind: 'builtin'; type: string; options: Record<string, unknown> }
  | { kind: 'module'; spec: string; options: Record<string, unknown> };

interface Resolved {
  issues: PolicyIssue[];
  /** The config with every `module` path made absolute, so it builds the same policy from any cwd. */
  config: unknown;
}

/**
 * Policies by type name, plus custom policies loaded from module paths. Built-ins register here; config
 * names them as `policy: { type, ...options }` or `policy: { module: ./file.js, options: {...} }`.
 * The registry holds factories only; the state policies keep (src/state) is handed to create().
 */
export class PolicyRegistry {
  // The factories' option types differ; the registry only hands each its own validated options.
  private readonly factories = new Map<string, PolicyFactory<unknown>>();
  private readonly modules = new Map<string, PolicyFactory<unknown>>();

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
  validate(
    config: unknown,
    cdnIds: readonly string[],
    at: Path = [],
    options: ResolveOptions = {},
  ): PolicyIssue[] {
    return this.resolve(config, cdnIds, at, options).issues;
  }

  /**
   * Validates a policy config and returns it with every custom module path made absolute: the config
   * a server keeps, so building it later does not depend on the cwd or the config file's location.
   */
  resolve(config: unknown, cdnIds: readonly string[], at: Path = [], options: ResolveOptions = {}): Resolved {
    const baseDir = options.baseDir ?? process.cwd();
    const ref = splitPolicyConfig(config);
    if (!('kind' in ref)) return { issues: ref.map((i) => ({ ...i, path: [...at, ...i.path] })), config };
    const found = this.factoryFor(ref, baseDir);
    if ('issue' in found) return { issues: [{ ...found.issue, path: [...at, ...found.issue.path] }], config };
    const { factory } = found;
    // A module policy's options sit under `options`; a built-in's sit next to `type`.
    const optionsAt: Path = ref.kind === 'module' ? [...at, 'options'] : at;
    const parsed = factory.options.safeParse(ref.options, { reportInput: true });
    if (!parsed.success) {
      return { issues: parsed.error.issues.flatMap((i) => formatZodIssue(i, optionsAt)), config };
    }
    const children: { path: Path; config: unknown }[] = [];
    const ctx: CheckContext = {
      cdnIds,
      validateChild: (child, childPath) => {
        const r = this.resolve(child, cdnIds, [], { baseDir });
        children.push({ path: [...childPath], config: r.config });
        return r.issues.map((i) => ({ path: [...childPath, ...i.path], message: i.message }));
      },
    };
    const problems = factory.check?.(parsed.data, ctx) ?? [];
    const issues = problems.map((p) => ({ path: [...optionsAt, ...p.path], message: p.message }));
    let normalized = ref.options;
    for (const c of children) normalized = setAt(normalized, c.path, c.config) as Record<string, unknown>;
    return {
      issues,
      config:
        ref.kind === 'module'
          ? { module: found.resolvedPath, options: normalized }
          : { type: ref.type, ...normalized },
    };
  }

  /**
   * Builds the policy for a config that validate() accepted. The root policy remembers each session's
   * CDN (filling `session.previous` and reporting `switched`) and feeds the volume ledger from
   * `observe({ kind: 'delivery' })`; wrap it in `sticky` in config for a minimum dwell time.
   */
  create(
    config: unknown,
    cdnIds: readonly string[],
    at: Path = [],
    options: CreateOptions = {},
  ): CdnSelectionPolicy {
    const state = options.state ?? createPolicyState();
    const policy = this.build(config, cdnIds, at, options.baseDir ?? process.cwd(), state);
    const isSticky = isType(config, 'sticky');
    const root = isSticky ? policy : withStickiness(policy, state.sessions, { minDwellMs: 0 });
    const ledger = state.ledger;
    return {
      name: root.name,
      select: (req) => root.select(req),
      observe(event: PolicyEvent) {
        if (event.kind === 'delivery')
          ledger.add(event.cdn, (event.mediaSeconds * event.bitrateBps) / 8, event.at);
        root.observe?.(event);
      },
    };
  }

  private build(
    config: unknown,
    cdnIds: readonly string[],
    at: Path,
    baseDir: string,
    state: SharedPolicyState,
  ): CdnSelectionPolicy {
    const resolved = this.resolve(config, cdnIds, at, { baseDir });
    const first = resolved.issues[0];
    if (first) throw new Error(`invalid policy at ${first.path.join('.')}: ${first.message}`);
    const ref = splitPolicyConfig(resolved.config) as PolicyRef;
    const found = this.factoryFor(ref, baseDir) as { factory: PolicyFactory<unknown> };
    const ctx: PolicyContext = {
      cdnIds,
      createChild: (child, childPath) =>
        this.build(
          child,
          cdnIds,
          [...at, ...(ref.kind === 'module' ? ['options'] : []), ...childPath],
          baseDir,
          state,
        ),
      shared: state,
    };
    return found.factory.create(found.factory.options.parse(ref.options), ctx);
  }

  private factoryFor(
    ref: PolicyRef,
    baseDir: string,
  ): { factory: PolicyFactory<unknown>; resolvedPath?: string } | { issue: PolicyIssue } {
    if (ref.kind === 'builtin') {
      const factory = this.factories.get(ref.type);
      if (factory) return { factory };
      return {
        issue: {
          path: ['type'],
          message: `unknown policy type "${ref.type}" (expected one of ${this.types().join(', ')}, or module: PATH for a custom policy)`,
        },
      };
    }
    let resolvedPath: string;
    let exported: unknown;
    try {
      // Resolves "./x.js" against the config's folder, and package names from its node_modules.
      const req = createRequire(path.join(path.resolve(baseDir), 'switchyard.config'));
      resolvedPath = req.resolve(ref.spec);
      // A function export is called here, so what it throws is reported like a load error.
      exported = withToolkit(this.modules.get(resolvedPath) ?? req(resolvedPath));
    } catch (err) {
      return {
        issue: { path: ['module'], message: `cannot load "${ref.spec}" from ${baseDir}: ${firstLine(err)}` },
      };
    }
    const factory = pickFactory(exported);
    if (typeof factory === 'string')
      return { issue: { path: ['module'], message: `"${ref.spec}": ${factory}` } };
    this.modules.set(resolvedPath, factory);
    return { factory, resolvedPath };
  }
}

function isType(config: unknown, type: string): boolean {
  return typeof config === 'object' && config !== null && (config as Record<string, unknown>).type === type;
}

function firstLine(err: unknown): string {
  // Not `instanceof Error`: errors thrown by a module from another realm (vm, jest) are not.
  const message = (err as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : String(err);
  return text.split('\n')[0] ?? text;
}

/**
 * A module that exports a function (as module.exports or its default export) is called with the
 * toolkit (zod and definePolicy from this Switchyard) and returns its factory; anything else as is.
 */
function withToolkit(exported: unknown): unknown {
  const fn =
    typeof exported === 'function' && !('create' in exported)
      ? exported
      : typeof exported === 'object' && exported !== null
        ? (exported as Record<string, unknown>).default
        : undefined;
  if (typeof fn !== 'function' || 'create' in fn) return exported;
  return (fn as (toolkit: ModuleToolkit) => unknown)(MODULE_TOOLKIT);
}

/** The factory a custom module exports (default export, `policy` export, or module.exports), or why not. */
function pickFactory(exported: unknown): PolicyFactory<unknown> | string {
  const record = (typeof exported === 'object' || typeof exported === 'function') && exported !== null;
  const candidates = record
    ? [(exported as Record<string, unknown>).default, (exported as Record<string, unknown>).policy, exported]
    : [exported];
  for (const c of candidates) {
    if (typeof c !== 'object' || c === null) continue;
    const f = c as Record<string, unknown>;
    if (typeof f.create !== 'function') continue;
    const schema = f.options as { safeParse?: unknown; parse?: unknown } | undefined;
    if (typeof schema !== 'object' || schema === null || typeof schema.safeParse !== 'function') {
      return 'expected the policy factory\'s "options" to be a zod schema (an object with safeParse)';
    }
    // A module's factory need not name a type; it is addressed by its path.
    return (typeof f.type === 'string' ? c : { ...f, type: 'custom' }) as PolicyFactory<unknown>;
  }
  const keys = record ? Object.keys(exported as object) : [];
  return `expected the module to export a policy factory { type, options, create } as its default export or as "policy", got ${
    record ? `an export with keys [${keys.join(', ')}]` : describe(exported)
  }`;
}

function splitPolicyConfig(config: unknown): PolicyRef | PolicyIssue[] {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return [
      {
        path: [],
        message: `expected a policy object like { type: weighted } or { module: ./my-policy.js, options: {} }, got ${describe(config)}`,
      },
    ];
  }
  const { type, module, ...rest } = config as Record<string, unknown>;
  if (module !== undefined) {
    if (type !== undefined)
      return [
        {
          path: ['type'],
          message: 'expected either type (a built-in) or module (a custom policy), not both',
        },
      ];
    if (typeof module !== 'string' || module === '')
      return [
        {
          path: ['module'],
          message: `expected a module path like ./policies/my-policy.js, got ${describe(module)}`,
        },
      ];
    const { options, ...extra } = rest;
    const unexpected = Object.keys(extra);
    if (unexpected.length > 0) {
      return unexpected.map((k) => ({
        path: [k],
        message: 'unexpected key next to module (a custom policy takes its options under "options")',
      }));
    }
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
      return [{ path: ['options'], message: `expected an object, got ${describe(options)}` }];
    return { kind: 'module', spec: module, options: (options ?? {}) as Record<string, unknown> };
  }
  if (typeof type !== 'string' || type === '')
    return [{ path: ['type'], message: `expected a string naming the policy, got ${describe(type)}` }];
  return { kind: 'builtin', type, options: rest };
}

/** A short description of a config value for "expected X, got Y" messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array`;
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** Zod's issues as "expected X, got Y" messages at config paths. */
export function formatZodIssue(issue: core.$ZodIssue, at: Path): PolicyIssue[] {
  const p: Path = [...at, ...issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k))];
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return [{ path: p, message: `expected ${expectedName(issue.expected)}, got ${describe(input)}` }];
    case 'invalid_union': {
      // "one or many" unions: say what each branch wanted, once.
      const wanted = issue.errors.flatMap((branch) =>
        branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0
          ? [expectedName(branch[0].expected)]
          : [],
      );
      if (wanted.length === issue.errors.length) {
        return [
          { path: p, message: `expected ${[...new Set(wanted)].join(' or ')}, got ${describe(input)}` },
        ];
      }
      const firstBranch = issue.errors[0] ?? [];
      return firstBranch.length > 0
        ? firstBranch.flatMap((i) => formatZodIssue(i, p))
        : [{ path: p, message: issue.message }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const what =
        issue.origin === 'array' ? 'number of items' : issue.origin === 'string' ? 'length' : issue.origin;
      const got = Array.isArray(input)
        ? `${input.length} item(s)`
        : typeof input === 'string'
          ? `length ${input.length}`
          : describe(input);
      return [{ path: p, message: `expected ${what} ${op} ${String(bound)}, got ${got}` }];
    }
    case 'invalid_value':
      return [
        {
          path: p,
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(input)}`,
        },
      ];
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ path: [...p, k], message: 'unknown option' }));
    default:
      return [{ path: p, message: issue.message }];
  }
}

function expectedName(expected: string): string {
  return expected === 'nonoptional' ? 'a value' : expected;
}

/** Returns a copy of `obj` with `value` at `path` (objects and arrays copied along the way). */
function setAt(obj: unknown, at: Path, value: unknown): unknown {
  if (at.length === 0) return value;
  const [head, ...rest] = at as [string | number, ...Path];
  if (Array.isArray(obj)) {
    const copy = [...(obj as unknown[])];
    copy[head as number] = setAt(copy[head as number], rest, value);
    return copy;
  }
  const record = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
  return { ...record, [head]: setAt(record[head], rest, value) };
}

export function builtinPolicies(): PolicyRegistry {
  return new PolicyRegistry()
    .register(weightedPolicy)
    .register(failoverPolicy)
    .register(rulesPolicy)
    .register(capacityPolicy)
    .register(costPolicy)
    .register(qoePolicy)
    .register(splitPolicy)
    .register(stickyPolicy);
}
