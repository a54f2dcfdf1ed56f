import { builtinPolicies, type PolicyRegistry } from '../../src/policy/registry';
import type { CdnSelectionPolicy, CdnView, SelectionRequest } from '../../src/policy/types';

export function cdn(id: string, over: Partial<CdnView> = {}): CdnView {
  return {
    id,
    baseUrl: `https://${id}.cdn.test/`,
    weight: 1,
    healthy: true,
    errorRate: 0,
    latencyMs: 10,
    share: 0,
    tags: {},
    ...over,
  };
}

type RequestOverrides = {
  session?: Partial<SelectionRequest['session']>;
  client?: Partial<SelectionRequest['client']>;
  stream?: Partial<SelectionRequest['stream']>;
  cdns?: readonly CdnView[];
  now?: number;
};

export function request(over: RequestOverrides = {}): SelectionRequest {
  return {
    session: { id: 's1', startedAt: 0, ...over.session },
    client: { ip: '192.0.2.1', ...over.client },
    stream: { id: 'live1', protocol: 'hls', live: true, ...over.stream },
    cdns: over.cdns ?? [cdn('a'), cdn('b'), cdn('c')],
    now: over.now ?? 1_000_000,
  };
}

/** Builds a policy from config with the built-in registry (the root wrapper included). */
export function build(
  config: unknown,
  cdnIds: readonly string[] = ['a', 'b', 'c'],
  registry: PolicyRegistry = builtinPolicies(),
): CdnSelectionPolicy {
  return registry.create(config, cdnIds, ['policy']);
}

export function issues(config: unknown, cdnIds: readonly string[] = ['a', 'b', 'c']): string[] {
  return builtinPolicies()
    .validate(config, cdnIds, ['policy'])
    .map((i) => `${i.path.join('.')}: ${i.message}`);
}

export const baseConfig = {
  secrets: ['0123456789abcdef0123'],
  streams: [{ id: 'live1', origin: 'https://origin.test/live1/' }],
  cdns: [
    { id: 'a', baseUrl: 'https://a.cdn.test/', tags: { region: 'EU' } },
    { id: 'b', baseUrl: 'https://b.cdn.test/', tags: { region: 'US' } },
  ],
};
