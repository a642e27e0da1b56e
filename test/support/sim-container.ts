/**
 * The daemon's container with the simulated kernel as its platform, as `run --kernel sim` builds it:
 * for tests that need the whole daemon (every managed service resolves) without a real kernel.
 */
import type { Container } from 'inversify';
import { buildContainer } from '../../daemon/container.js';
import type { DaemonOptions } from '../../daemon/config/daemon-options.js';
import { SimKernel } from '../../kernel-model/index.js';
import { bindSimPlatform } from '../../sim/daemon/daemon-run.js';
import { SimKernelPort } from '../../sim/kernel-port/sim-kernel-port.js';

export function simContainer(options: Partial<DaemonOptions> = {}, sim = new SimKernel()): { container: Container; port: SimKernelPort } {
  const container = buildContainer(options);
  const port = new SimKernelPort(sim);
  bindSimPlatform(container, port);
  return { container, port };
}
