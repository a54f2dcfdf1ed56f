/**
 * The public API for embedding Switchyard and for custom policies and signers. What is not exported
 * here (the runtime object, caches, state stores, delivery modes) is internal and may change.
 */
import type { Config } from './config/schema';
import type { ConfigWatcher } from './config/watch';
import { createSwitchyard as createServer, type SwitchyardServer as InternalServer } from './server/server';
import type { RuntimeOptions as InternalRuntimeOptions } from './server/runtime';
import { QoeSignalBus, type QoeListener, type QoeSignal } from './qoe/signals';

/** What createSwitchyard takes besides the config. */
export type RuntimeOptions = Omit<InternalRuntimeOptions, 'stateStore' | 'workerId'>;
/** A Switchyard: its listeners, listen/close, live config reloads, and its QoE signals. */
export type SwitchyardServer = Omit<InternalServer, 'runtime'> & {
  /** Every CMCD/CMSD observation as a QoeSignal: subscribe to consume them (synchronous, no I/O). */
  readonly qoeSignals: QoeSignalBus;
};
export type { ConfigWatcher };

/** Builds a Switchyard for a validated config (validateConfig, parseConfig or loadConfigFile). */
export function createSwitchyard(config: Config, options: RuntimeOptions): SwitchyardServer {
  const server = createServer(config, options);
  // A new object, so the runtime is not reachable from a library user's server at all.
  return {
    http: server.http,
    adminHttp: server.adminHttp,
    qoeSignals: server.runtime.qoeSignals,
    listen: (override) => server.listen(override),
    adminUrl: () => server.adminUrl(),
    watchConfig: (file) => server.watchConfig(file),
    close: (drainMs) => server.close(drainMs),
  };
}

// Config: load and validate (every problem by path in one ConfigError), and its types.
export {
  parseConfig,
  loadConfigFile,
  validateConfig,
  ConfigError,
  type ConfigIssue,
  type ConfigLoadOptions,
} from './configure';
export type { Config };
export type { CdnConfig, HealthConfig, StreamConfig } from './config/schema';

// Errors: one hierarchy, one catalogue of codes and statuses.
export { SwitchyardError, ERROR_STATUS, type ErrorCode } from './errors';

// Health probes (RuntimeOptions.prober).
export type { Prober, ProbeResult } from './health/monitor';

// Policies: the registry, the interface a policy implements, and the toolkit of policy modules.
export { PolicyRegistry, builtinPolicies } from './policy/registry';
export type {
  CdnId,
  CdnSelectionPolicy,
  CdnView,
  CheckContext,
  PolicyContext,
  PolicyEvent,
  PolicyFactory,
  PolicyIssue,
  Selection,
  SelectionRequest,
} from './policy/types';
export { z } from 'zod';
export { definePolicy, type ModuleToolkit } from './policy/define';
// QoE: the signals CMCD/CMSD become (server.qoeSignals) and the aggregates policies read.
export { QoeSignalBus, type QoeSignal, type QoeListener };
export { QoeAggregates, type QoeEstimate, type QoeWindowSettings } from './qoe/aggregate';

// URL signers (CDN token authentication): the registry (RuntimeOptions.signers) and the interfaces
// a custom signer implements, in process or as a module (`auth: { module: PATH }`).
export {
  SignerRegistry,
  SigningConfigError,
  type CustomSigner,
  type CustomSignerModule,
  type SignerContext,
  type SignTarget,
  type TokenTimes,
  type UrlSigner,
} from './signing';

// Manifest parsers: origin text to a template of typed slots, and back.
export { parseManifest, type ManifestInfo, type ParsedManifest } from './manifest/load';
export { parseHls, type HlsInfo } from './manifest/hls';
export { parseDash, type DashInfo } from './manifest/dash';
export { render, type Template, type Slot } from './manifest/template';

// Session tokens (the /s/<token>/ part of session URLs).
export { TokenSigner } from './session/token';
