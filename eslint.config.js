// @ts-check
// Lint rules that guard the architecture as well as style:
// - typed typescript-eslint rules everywhere;
// - eslint-plugin-rxjs-x's rules for the reactive code (no nested subscribe, takeUntil last, private
//   subjects, no ignored subscriptions or floating observables);
// - determinism: the kernel model and the daemon's logic never read the wall clock, schedule on real
//   timers or draw unseeded randomness. Only daemon/schedule/ (the one clock module) may, and the
//   benchmarks in sim/bench/, whose job is to measure wall time.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import rxjsX from 'eslint-plugin-rxjs-x';

const timeAndRandomGlobals = [
  { name: 'Date', message: 'Use the injected clock (daemon/schedule) or simulated time (kernel-model engine).' },
  { name: 'setTimeout', message: 'Schedule on the injected rxjs scheduler or the simulation engine.' },
  { name: 'setInterval', message: 'Schedule on the injected rxjs scheduler or the simulation engine.' },
  { name: 'setImmediate', message: 'Schedule on the injected rxjs scheduler or the simulation engine.' },
  { name: 'performance', message: 'Wall-clock time is only for daemon/schedule and the benchmarks.' },
];
const timeAndRandomProperties = [
  { object: 'Math', property: 'random', message: 'Use the seeded PRNG passed in.' },
  { object: 'performance', property: 'now', message: 'Wall-clock time is only for daemon/schedule and the benchmarks.' },
  { object: 'Date', property: 'now', message: 'Use the injected clock.' },
  { object: 'globalThis', property: 'setTimeout', message: 'Schedule on the injected scheduler.' },
  { object: 'globalThis', property: 'Date', message: 'Use the injected clock.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'report/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false, program: null },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', module: 'writable', require: 'readonly' },
    },
  },
  {
    files: ['daemon/**/*.ts', 'sim/**/*.ts', 'cli/**/*.ts', 'test/**/*.ts'],
    ...rxjsX.configs.recommended,
  },
  {
    files: ['daemon/**/*.ts', 'sim/**/*.ts', 'cli/**/*.ts', 'test/**/*.ts'],
    rules: {
      'rxjs-x/no-nested-subscribe': 'error',
      'rxjs-x/no-unsafe-takeuntil': 'error',
      'rxjs-x/no-exposed-subjects': 'error',
      'rxjs-x/no-ignored-subscription': 'error',
      'rxjs-x/no-floating-observables': 'error',
    },
  },
  {
    files: ['kernel-model/**/*.ts', 'daemon/**/*.ts', 'sim/**/*.ts'],
    ignores: ['daemon/schedule/**', 'sim/bench/**'],
    rules: {
      'no-restricted-globals': ['error', ...timeAndRandomGlobals],
      'no-restricted-properties': ['error', ...timeAndRandomProperties],
    },
  },
  {
    // The kernel model is pure: it does not see the process it runs in either.
    files: ['kernel-model/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...timeAndRandomGlobals,
        { name: 'process', message: 'The kernel model is pure: no process, environment or I/O.' },
        { name: 'queueMicrotask', message: 'The kernel model runs synchronously on simulated time.' }],
    },
  },
);
