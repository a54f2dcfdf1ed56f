import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'fixtures/media/', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // URLSearchParams re-encodes `~ = /` and breaks signed CDN tokens: never re-encode a query we did not write.
      'no-restricted-properties': [
        'error',
        {
          object: 'searchParams',
          property: 'set',
          message: 'Re-encodes the whole query; use src/url.ts helpers.',
        },
      ],
    },
  },
  {
    // Type-aware rules for the product: a dropped promise or an async callback where a sync one is
    // expected loses errors (unhandled rejections) or ordering on the request path.
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
