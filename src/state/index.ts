import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { SessionMemoryOptions } from './session-memory';
import { MemoryStateStore } from './memory';
import { RedisStateStore } from './redis';
import type { StateStore } from './types';

export type { InstanceInfo, StateStatus, StateStore } from './types';
export { configHash } from './fleet';
export { MemoryStateStore } from './memory';
export { RedisStateStore } from './redis';

export interface StateStoreDeps {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly registry?: Registry;
  readonly sessions?: SessionMemoryOptions;
  /** Defaults to a random id, new at every start (peers tell instances apart by it). */
  readonly instanceId?: string;
}

/** The store the config names: in-process by default, Redis for a fleet. */
export function createStateStore(config: Config['state'], deps: StateStoreDeps): StateStore {
  const instanceId = deps.instanceId ?? randomBytes(6).toString('hex');
  if (config.backend === 'redis') return new RedisStateStore(config, { ...deps, instanceId });
  return new MemoryStateStore(instanceId, { sessions: deps.sessions, now: deps.now });
}
