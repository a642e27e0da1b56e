/**
 * `uhugepaged run --kernel linux`: the production container with the platform bound to this host — the
 * Linux kernel port, the wall clock and node-cron (the schedule module's own bindings) — run until
 * `--once` finishes its cycle, `--duration` of wall-clock time passes, or the caller's signal aborts it.
 *
 * Order: the port is made; the start-up checks run (preflight.ts; a refusal ends the run); the access
 * sampler is chosen, which cleans up a kdamond a crashed run left behind; the services start. On the
 * way out, by whatever path (the end, a signal, an error): the services stop (sampling stopped, pidfds
 * closed, kernel settings restored), then the port is disposed (its kdamond removed, its syscall thread
 * ended), then the logs are flushed.
 */
import type { Container } from 'inversify';
import { firstValueFrom, fromEvent, map, merge, of, timer, type Observable } from 'rxjs';
import { buildContainer } from '../container.js';
import type { DaemonOptions } from '../config/daemon-options.js';
import { PolicyStore } from '../config/policy-store.js';
import { CollapseDaemon } from '../engine/collapse-daemon.js';
import { formatDaemonTotals, type DaemonRunTotals } from '../engine/daemon-summary.js';
import { KernelPort, KernelPortError } from '../kernel-port/kernel-port.js';
import { LinuxKernelPort } from '../kernel-port/linux/linux-kernel-port.js';
import { parseKeyValueKb } from '../kernel-port/procfs-parsers.js';
import { Clock } from '../schedule/clock.js';
import { LoggerFactory } from '../telemetry/logger-factory.js';
import { Application } from './application.js';
import { formatFindings, logFindings, preflightRefusals, type Finding } from './preflight.js';
import { preflightThisHost } from './preflight-host.js';
import { sdNotifyModule } from './sd-notify-module.js';

export interface LinuxRunOptions {
  /** The daemon's options (policy file, dry run, once, logging, metrics port). */
  readonly daemon?: Partial<DaemonOptions>;
  /** Wall-clock time to run, ms (default: until `signal` aborts or `--once` finishes). */
  readonly durationMs?: number;
  /** Aborting it stops the daemon gracefully (SIGINT/SIGTERM in the CLI). */
  readonly signal?: AbortSignal;
  /** Directory of the daemon's state file (default /run/uhugepaged). */
  readonly stateDir?: string;
  /**
   * Start-up checks, run before anything is sampled or started: their findings are logged, and any
   * refusal ends the run before it began (a {@link PreflightRefused}). Default: every check of
   * preflight.ts on this host; tests give their own.
   */
  readonly preflight?: (policyFile: string, dryRun: boolean) => Finding[];
}

export interface LinuxRunResult {
  readonly kernel: 'linux';
  /** Wall-clock time the daemon ran, ms. */
  readonly durationMs: number;
  readonly stoppedBy: 'once' | 'duration' | 'signal';
  readonly daemon: DaemonRunTotals;
  /** The access sampler used, and why. */
  readonly sampling: { readonly mechanism: string; readonly reason: string };
  /** The host's AnonHugePages (/proc/meminfo), kB, before the daemon started and after it stopped. */
  readonly anonHugeKb: { readonly before: number; readonly after: number };
}

/** Binds the daemon's platform to this host's kernel: the port, and its wall clock as the daemon's one clock. Cron stays node-cron's. */
export function bindLinuxPlatform(container: Container, port: LinuxKernelPort): void {
  container.bind<KernelPort>(KernelPort).toConstantValue(port);
  container.rebind<Clock>(Clock).toConstantValue(port.clock);
}

/** AnonHugePages of the whole host, kB (0 if /proc/meminfo cannot be read). */
function anonHugeKb(port: KernelPort): number {
  try {
    return parseKeyValueKb(port.readFile('/proc/meminfo')).get('AnonHugePages') ?? 0;
  } catch (e) {
    if (e instanceof KernelPortError) return 0;
    throw e;
  }
}

/** The start-up checks refused to start; `findings` says why and how to fix it. */
export class PreflightRefused extends Error {
  constructor(readonly findings: readonly Finding[]) {
    super(`refusing to start:\n${formatFindings(findings)}`);
    this.name = 'PreflightRefused';
  }
}

/** Runs the daemon on this host; resolves once it stopped and everything it set up is gone. */
export async function runOnLinux(opts: LinuxRunOptions = {}): Promise<LinuxRunResult> {
  // Its comm, as ps and policies' `exclude: { comm: [uhugepaged] }` see it (rather than `node`).
  process.title = 'uhugepaged';
  const container = buildContainer(opts.daemon);
  const loggers = container.get<LoggerFactory>(LoggerFactory);
  const port = new LinuxKernelPort({ ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}), log: loggers.forClass('kernel-port', 'LinuxKernelPort') });
  bindLinuxPlatform(container, port);
  // Last, so that the service manager hears READY=1 after everything started and STOPPING=1 first.
  container.load(sdNotifyModule);
  const begun = port.clock.now();
  const before = anonHugeKb(port);
  const app = container.get<Application>(Application);
  const daemon = container.get(CollapseDaemon);
  let stoppedBy: LinuxRunResult['stoppedBy'] = 'signal';
  let sampling: LinuxRunResult['sampling'];
  try {
    const policyFile = container.get(PolicyStore).file;
    const findings = (opts.preflight ?? preflightThisHost)(policyFile, opts.daemon?.dryRun ?? false);
    logFindings(loggers.forClass('lifecycle', 'Preflight'), findings);
    const refusals = preflightRefusals(findings);
    if (refusals.length > 0) throw new PreflightRefused(refusals);
    sampling = { mechanism: port.open().mechanism, reason: port.samplingReason };
    const ends: Observable<LinuxRunResult['stoppedBy']>[] = [daemon.done$.pipe(map(() => 'once' as const))];
    if (opts.durationMs !== undefined) ends.push(timer(opts.durationMs, port.clock.scheduler).pipe(map(() => 'duration' as const)));
    if (opts.signal) ends.push(opts.signal.aborted ? of('signal' as const) : fromEvent(opts.signal, 'abort').pipe(map(() => 'signal' as const)));
    const end = firstValueFrom(merge(...ends));
    await app.start();
    stoppedBy = await end;
  } finally {
    await app.stop(`run ended (${stoppedBy})`);
    await port.dispose();
    await loggers.close();
  }
  return {
    kernel: 'linux',
    durationMs: port.clock.now() - begun,
    stoppedBy,
    daemon: { ...daemon.totals, cpuMs: port.selfCpuMs(), policyFile: container.get(PolicyStore).file, dryRun: opts.daemon?.dryRun ?? false },
    sampling,
    anonHugeKb: { before, after: anonHugeKb(port) },
  };
}

/** The summary printed at the end of `uhugepaged run --kernel linux`. */
export function formatLinuxSummary(r: LinuxRunResult): string {
  const d = r.daemon;
  const why = { once: 'one cycle (--once)', duration: 'the --duration given', signal: 'a signal' }[r.stoppedBy];
  return [
    `uhugepaged on this host's kernel${d.dryRun ? ' (dry run: no actions)' : ''} with policy ${d.policyFile}: ran ${(r.durationMs / 1000).toFixed(1)} s, until ${why}`,
    `access sampling: ${r.sampling.mechanism} — ${r.sampling.reason}`,
    ...formatDaemonTotals(d, 'measured'),
    `host AnonHugePages: ${r.anonHugeKb.before} kB before, ${r.anonHugeKb.after} kB after (every process's, not only what uhugepaged collapsed)`,
  ].join('\n');
}
