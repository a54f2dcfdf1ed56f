/** Public entry points for embedding Switchyard and for custom policies. */
export { createSwitchyard, type SwitchyardServer } from './server/server';
export { parseConfig, loadConfigFile, validateConfig, ConfigError } from './configure';
export type { Config } from './config/schema';
export { SwitchyardError, ERROR_STATUS, type ErrorCode } from './errors';
export { PolicyRegistry, builtinPolicies } from './policy/registry';
export type {
  CdnSelectionPolicy,
  CdnView,
  PolicyFactory,
  PolicyContext,
  Selection,
  SelectionRequest,
} from './policy/types';
export { parseHls } from './manifest/hls';
export { render, type Template, type Slot } from './manifest/template';
export { TokenSigner } from './session/token';
// For custom policy modules: the zod Switchyard validates options with, and a typed factory helper.
export { z } from 'zod';
export { definePolicy, type ModuleToolkit } from './policy/define';
// QoE: the signals CMCD/CMSD become (runtime.qoeSignals) and the aggregates policies read.
export { QoeSignalBus, type QoeSignal, type QoeListener } from './qoe/signals';
export { QoeAggregates, type QoeEstimate, type QoeWindowSettings } from './qoe/aggregate';
