/** Debian's Chromium, installed by .ci/run. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for headless Chromium on these machines: no background connections (the network is closed
 * and refused connections pile up), no sandbox (root), no GPU.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
