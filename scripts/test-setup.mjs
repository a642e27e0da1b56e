// Preloaded into every test process (scripts/run-tests.mjs): property tests draw from a fixed seed, so a
// run is reproducible and CI cannot flake on a lucky draw. Set FC_SEED to explore other draws locally.
import fc from 'fast-check';

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261122) });
