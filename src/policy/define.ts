import { z } from 'zod';
import type { PolicyFactory } from './types';

/**
 * Declares a custom policy factory with its options' types inferred from the zod schema; returns it
 * unchanged. For TypeScript modules that depend on the `switchyard` package:
 *
 *   import { definePolicy, z } from 'switchyard';
 *   export default definePolicy({ type: 'mine', options: z.strictObject({...}), create(opts, ctx) {...} });
 */
export function definePolicy<O>(factory: PolicyFactory<O>): PolicyFactory<O> {
  if (typeof factory !== 'object' || factory === null || typeof factory.create !== 'function')
    throw new TypeError('definePolicy: expected { type, options, create }');
  return factory;
}

/**
 * What a custom module gets from the running Switchyard when it exports a function instead of a
 * factory: `module.exports = ({ z, definePolicy }) => definePolicy({...})`. Such a module needs no
 * package of its own, so it works beside a config in /etc/switchyard, far from any node_modules.
 */
export interface ModuleToolkit {
  /** The zod Switchyard validates options with. */
  readonly z: typeof z;
  readonly definePolicy: typeof definePolicy;
}

export const MODULE_TOOLKIT: ModuleToolkit = Object.freeze({ z, definePolicy });
