/**
 * Jest transform for the ES-module-only packages Switchyard depends on (@svta/cml-*): jest runs
 * CommonJS, so their `import`/`export` are compiled to `require`/`exports` with TypeScript's own
 * transpiler (no type check). Node itself loads them as they are (require(esm), Node >= 20.19).
 */
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports */
const crypto = require('node:crypto');
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const out = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    return { code: out.outputText };
  },
  getCacheKey(source, filename) {
    return crypto.createHash('sha1').update(ts.version).update(filename).update(source).digest('hex');
  },
};
