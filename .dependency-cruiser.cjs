// Import rules that keep the architecture's boundaries (docs/architecture.md). `npm test` runs them on
// the real tree, and test/architecture/boundaries.test.ts runs them on fixtures to prove they bite.
// Paths are matched from the cruise's base directory: `kernel-model/...`, `daemon/...`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycles turn tokens into undefined at load time and tangle the layers. Cycles made only of ' +
        'type imports are erased by the compiler and allowed (mechanisms name each other\'s types).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'kernel-model-is-pure',
      severity: 'error',
      comment: 'The simulated kernel knows nothing above it: nothing from the daemon, sim or cli.',
      from: { path: '^kernel-model/' },
      to: { path: '^(daemon|sim|cli|test)/' },
    },
    {
      name: 'kernel-model-no-framework',
      severity: 'error',
      comment: 'The simulated kernel is plain deterministic TypeScript: no rxjs, DI, logging, cron or FFI.',
      from: { path: '^kernel-model/' },
      to: { path: '(^|/)node_modules/(rxjs|inversify|@inversifyjs|winston|node-cron|koffi|reflect-metadata)(/|$)' },
    },
    {
      name: 'kernel-model-no-outside-world',
      severity: 'error',
      comment: 'No Node built-in that reaches the outside world (files, network, processes, timers, threads).',
      from: { path: '^kernel-model/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|tls|dgram|dns|http|https|http2|child_process|cluster|timers|timers/promises|worker_threads|process|os|readline|inspector|perf_hooks|v8|vm)$',
      },
    },
    {
      name: 'daemon-not-evaluation',
      severity: 'error',
      comment: 'The daemon sees only what a real kernel shows; ground truth is for sim/ (evaluation) only.',
      from: { path: '^daemon/' },
      to: { path: '^kernel-model/evaluation(\\.ts|/|$)' },
    },
    {
      name: 'daemon-not-sim-or-cli',
      severity: 'error',
      comment: 'The daemon is the product; evaluation tooling and the command line sit above it.',
      from: { path: '^daemon/' },
      to: { path: '^(sim|cli)/' },
    },
    {
      name: 'kernel-model-internals-via-index',
      severity: 'error',
      comment: 'Code outside the model uses its public entry (index) or, in sim/, its evaluation entry.',
      from: { path: '^(daemon|sim|cli)/' },
      to: { path: '^kernel-model/', pathNot: '^kernel-model/(index|evaluation)\\.ts$' },
    },
    {
      name: 'sources-not-to-tests',
      severity: 'error',
      comment: 'Product code never depends on tests or their fixtures.',
      from: { path: '^(kernel-model|daemon|sim|cli)/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'Shipped code may not need a devDependency at run time.',
      from: { path: '^(kernel-model|daemon|sim|cli)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Cruise the project's TypeScript, not build output, fixtures, scripts or root config files.
    exclude: { path: '^(dist|test/fixtures|scripts|bin|coverage|report)/|^[^/]+\\.[cm]?js$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
    combinedDependencies: false,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
