import path from 'node:path';
import { parseConfig, ConfigError } from '../../src/configure';
import { builtinPolicies } from '../../src/policy/registry';
import { cdn, request } from './helpers';

const EXAMPLES = path.resolve(__dirname, '../../examples');

function yaml(policy: string): string {
  return `
secrets: ['0123456789abcdef0123']
streams: [{ id: live1, origin: 'https://origin.test/live1/' }]
cdns:
  - { id: eu1, baseUrl: 'https://eu1.cdn.test/', tags: { region: EU } }
  - { id: eu2, baseUrl: 'https://eu2.cdn.test/', tags: { region: eu } }
  - { id: us1, baseUrl: 'https://us1.cdn.test/', tags: { region: US } }
policy:
${policy}
`;
}

const cdns = [
  cdn('eu1', { tags: { region: 'EU' } }),
  cdn('eu2', { tags: { region: 'eu' } }),
  cdn('us1', { tags: { region: 'US' } }),
];

describe('examples/policies/prefer-tag.js through config validation', () => {
  const config = parseConfig(
    yaml(`  module: ./policies/prefer-tag.js
  options: { header: X-Viewer-Region, threshold: 0.1 }`),
    { env: {}, baseDir: EXAMPLES },
  );
  const policy = builtinPolicies().create(config.policy, ['eu1', 'eu2', 'us1'], ['policy']);

  it('prefers CDNs whose tag matches the region header', () => {
    for (let i = 0; i < 50; i++) {
      const sel = policy.select(
        request({ session: { id: `s${i}` }, client: { headers: { 'x-viewer-region': 'eu' } }, cdns }),
      );
      expect(['eu1', 'eu2']).toContain(sel.cdn);
      expect(sel.reason).toMatch(/^prefer-tag: region=eu \(weighted: rendezvous\)$/);
      expect(sel.ranked?.at(-1)).toBe('us1');
    }
  });

  it('skips matching CDNs that are unhealthy or above the error threshold', () => {
    const sel = policy.select(
      request({
        client: { headers: { 'x-viewer-region': 'EU' } },
        cdns: [
          cdn('eu1', { tags: { region: 'EU' }, healthy: false }),
          cdn('eu2', { tags: { region: 'eu' }, errorRate: 0.5 }),
          cdns[2]!,
        ],
      }),
    );
    expect(sel.cdn).not.toBe('eu1');
    expect(sel.reason).toBe('prefer-tag: no region match, weighted: rendezvous');
  });

  it('falls back to weighted without the header', () => {
    expect(policy.select(request({ cdns })).reason).toBe('prefer-tag: no region match, weighted: rendezvous');
  });

  it('reports bad options with their path and "expected X, got Y"', () => {
    const bad = () =>
      parseConfig(
        yaml(`  module: ./policies/prefer-tag.js\n  options: { threshold: high, fallback: { type: nope } }`),
        {
          env: {},
          baseDir: EXAMPLES,
        },
      );
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        { path: 'policy.options.threshold', message: 'expected number, got string "high"', line: 10 },
      ]);
    }
    try {
      parseConfig(yaml(`  module: ./policies/prefer-tag.js\n  options: { fallback: { type: nope } }`), {
        env: {},
        baseDir: EXAMPLES,
      });
      throw new Error('accepted');
    } catch (err) {
      expect((err as ConfigError).issues[0]?.path).toBe('policy.options.fallback.type');
    }
  });
});
