import path from 'node:path';
import { validateConfig, ConfigError } from '../../src/configure';
import { builtinPolicies } from '../../src/policy/registry';
import { createPolicyState } from '../../src/state/policy-state';
import { baseConfig, build, cdn, issues, request } from './helpers';

const FIXTURES = path.join(__dirname, 'fixtures');

function configIssues(policy: unknown, baseDir = FIXTURES): string[] {
  try {
    validateConfig({ ...baseConfig, policy }, { env: {}, baseDir });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('policy registry', () => {
  it('lists every built-in', () => {
    expect(builtinPolicies().types().sort()).toEqual(
      ['capacity', 'cost', 'failover', 'qoe', 'rules', 'split', 'sticky', 'weighted'].sort(),
    );
  });

  it('reports an unknown type at policy.type', () => {
    expect(issues({ type: 'nope' })[0]).toMatch(/^policy\.type: unknown policy type "nope"/);
  });

  it('reports option errors as "expected X, got Y" with their paths', () => {
    expect(issues({ type: 'failover', order: 'a' })).toEqual([
      'policy.order: expected array, got string "a"',
    ]);
    expect(issues({ type: 'failover', order: ['a', 'zz'] })).toEqual([
      'policy.order.1: unknown CDN "zz" (expected one of a, b, c)',
    ]);
    expect(issues({ type: 'weighted', extra: 1 })).toEqual(['policy.extra: unknown option']);
  });

  it('validates nested policies with full paths', () => {
    expect(
      issues({
        type: 'rules',
        rules: [
          { match: { country: 'DE' }, policy: { type: 'weighted' } },
          { match: { stream: 'x' }, policy: { type: 'failover' } },
          { match: { userAgent: 'tv' }, policy: { type: 'bogus' } },
        ],
        default: { type: 'split', splits: [{ percent: 100, policy: { type: 'failover', order: [5] } }] },
      }),
    ).toEqual([
      expect.stringMatching(/^policy\.rules\.2\.policy\.type: unknown policy type "bogus"/),
      'policy.default.splits.0.policy.order.0: expected string, got number 5',
    ]);
  });

  it('rejects type and module together, and unexpected keys next to module', () => {
    expect(issues({ type: 'weighted', module: './x.js' })).toEqual([
      'policy.type: expected either type (a built-in) or module (a custom policy), not both',
    ]);
    expect(configIssues({ module: './policies/esm-default.js', threshold: 1 })).toEqual([
      'policy.threshold: unexpected key next to module (a custom policy takes its options under "options")',
    ]);
  });

  it('asks for type or module in the config schema', () => {
    expect(configIssues({ options: {} })[0]).toMatch(/^policy: expected \{ type: NAME/);
  });
});

describe('custom policy modules', () => {
  it('loads a default export relative to the config folder and makes the path absolute', () => {
    const config = validateConfig(
      { ...baseConfig, policy: { module: './policies/esm-default.js' } },
      { env: {}, baseDir: FIXTURES },
    );
    expect(config.policy.module).toBe(path.join(FIXTURES, 'policies/esm-default.js'));
    const policy = builtinPolicies().create(config.policy, ['a', 'b'], ['policy']);
    expect(policy.select(request({ cdns: [cdn('b'), cdn('a')] })).cdn).toBe('b');
  });

  it('reports a module that does not export a factory', () => {
    expect(configIssues({ module: './policies/not-a-policy.js' })).toEqual([
      'policy.module: "./policies/not-a-policy.js": expected the module to export a policy factory { type, options, create } as its default export or as "policy", got an export with keys [hello]',
    ]);
  });

  it('reports a module that cannot be found or throws while loading', () => {
    expect(configIssues({ module: './policies/missing.js' })[0]).toMatch(
      /^policy\.module: cannot load "\.\/policies\/missing\.js" from .*fixtures: Cannot find module/,
    );
    expect(configIssues({ module: './policies/throws.js' })[0]).toMatch(/boom while loading/);
  });

  it('resolves against the cwd when no folder is given', () => {
    const rel = path.relative(process.cwd(), path.join(FIXTURES, 'policies/esm-default.js'));
    expect(issues({ module: './' + rel })).toEqual([]);
  });

  it('builds a module policy nested in a built-in (paths under options)', () => {
    const r = builtinPolicies().resolve(
      { type: 'split', splits: [{ percent: 100, policy: { module: './policies/esm-default.js' } }] },
      ['a', 'b'],
      ['policy'],
      { baseDir: FIXTURES },
    );
    expect(r.issues).toEqual([]);
    expect(JSON.stringify(r.config)).toContain(path.join(FIXTURES, 'policies/esm-default.js'));
    // The normalized config builds from any cwd, without a baseDir.
    const policy = build(r.config, ['a', 'b']);
    expect(policy.select(request({ cdns: [cdn('a'), cdn('b')] })).reason).toBe('split 0: always-first');
  });
});

describe('root policy', () => {
  it('reports a switch once, and remembers the previous CDN', () => {
    const policy = build({ type: 'failover', order: ['a', 'b'] });
    expect(policy.select(request()).switched).toBeUndefined();
    const moved = policy.select(request({ cdns: [cdn('a', { healthy: false }), cdn('b')], now: 1_000_500 }));
    expect(moved.cdn).toBe('b');
    expect(moved.switched).toEqual({ from: 'a', to: 'b' });
    expect(
      policy.select(request({ cdns: [cdn('a', { healthy: false }), cdn('b')] })).switched,
    ).toBeUndefined();
  });

  it('feeds delivery events into the shared volume ledger', () => {
    const state = createPolicyState();
    const policy = builtinPolicies().create({ type: 'weighted' }, ['a'], ['policy'], { state });
    policy.observe?.({
      kind: 'delivery',
      sessionId: 's',
      streamId: 'live1',
      cdn: 'a',
      mediaSeconds: 4,
      bitrateBps: 2_000_000,
      at: Date.UTC(2025, 0, 10),
    });
    expect(state.ledger.delivered('a', 'month', Date.UTC(2025, 0, 20))).toBe(1_000_000);
  });
});
