import { isBuiltinScheme } from './config';
import type { CustomSignerModule } from './types';

const NAME = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * URL signers a library user supplies in process, by scheme name: `createSwitchyard(config, { signers })`
 * and `validateConfig(raw, { signers })`, mirroring `policies`. A config names one as
 * `auth: { scheme: NAME, options: {...} }`; it is built exactly like a custom signer module
 * (`auth: { module: PATH }`), without a file to load.
 */
export class SignerRegistry {
  private readonly signers = new Map<string, CustomSignerModule>();

  register(scheme: string, signer: CustomSignerModule): this {
    if (!NAME.test(scheme))
      throw new Error(`signer scheme "${scheme}": expected lower-case letters, digits and "-"`);
    if (isBuiltinScheme(scheme) || scheme === 'custom')
      throw new Error(`signer scheme "${scheme}" is built in`);
    if (this.signers.has(scheme)) throw new Error(`signer scheme "${scheme}" is already registered`);
    if (typeof signer?.create !== 'function')
      throw new Error(`signer scheme "${scheme}": expected { create(options, context) }`);
    this.signers.set(scheme, signer);
    return this;
  }

  get(scheme: string): CustomSignerModule | undefined {
    return this.signers.get(scheme);
  }

  schemes(): string[] {
    return [...this.signers.keys()];
  }
}
