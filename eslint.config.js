import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.sim/**', '.demo/**', 'data/**', 'web/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked in the program of its nearest tsconfig.json: the root one for src,
        // test, bench and *.config.ts, src/web/tsconfig.json for the dashboard.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // TypeScript itself reports undefined names, with the right globals for Node.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'error',
      // A `default` does not stand in for the members of a union or enum it was written before.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Passing on a reason caught elsewhere (an abort reason, a rejection) is fine, as only-throw-error allows for `throw`.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Fastify tells promise hooks and handlers from callback ones by their being async, with or without an await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read API bodies, CLI --json output and fixture files as JSON and check their shape with expect.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // A suite's `let t: T` set in beforeAll is still undefined in afterAll when beforeAll failed: `t?.close()` is needed.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Test sockets get text frames only, which ws always hands over as one Buffer.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // The JavaScript outside every tsconfig (this file, the agent bundler) has no types to check.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
