// The service-manager notifications on virtual time with a recording link: READY=1 after the first
// cycle, watchdog pings while the loop is alive and none while a cycle hangs or no next cycle comes,
// STATUS on a reload, STOPPING=1 at stop, and nothing at all without a service manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BehaviorSubject, VirtualTimeScheduler } from 'rxjs';
import type { PolicyStore } from '../../../daemon/config/policy-store.js';
import type { Policy } from '../../../daemon/config/policy-schema.js';
import { watchdogUsecFor } from '../../../daemon/lifecycle/libsystemd-link.js';
import { LoopHeartbeatImpl } from '../../../daemon/lifecycle/loop-heartbeat-impl.js';
import { loopAlive, SdNotify } from '../../../daemon/lifecycle/sd-notify.js';
import { Application } from '../../../daemon/lifecycle/application.js';
import { ManagedService } from '../../../daemon/lifecycle/managed-service.js';
import { sdNotifyModule } from '../../../daemon/lifecycle/sd-notify-module.js';
import { ServiceManagerLink } from '../../../daemon/lifecycle/service-manager-link.js';
import { LoggerFactory } from '../../../daemon/telemetry/logger-factory.js';
import { simContainer } from '../../support/sim-container.js';
import { CapturingLoggerFactory } from '../../support/capturing-logger.js';

class RecordingLink implements ServiceManagerLink {
  readonly sent: { at: number; state: string }[] = [];
  constructor(
    readonly connected: boolean,
    readonly watchdogUsec: number | undefined,
    private readonly now: () => number,
  ) {}
  notify(state: string): boolean {
    this.sent.push({ at: this.now(), state });
    return true;
  }
  pings(from = 0, to = Infinity): number {
    return this.sent.filter((s) => s.state === 'WATCHDOG=1' && s.at >= from && s.at <= to).length;
  }
}

/** `watchdogUsec` null: no watchdog (undefined would take the default). */
function setup(connected = true, watchdogUsec: number | null = 10_000_000) {
  const scheduler = new VirtualTimeScheduler();
  const clock = { now: () => scheduler.now(), scheduler };
  const link = new RecordingLink(connected, watchdogUsec ?? undefined, clock.now);
  const heartbeat = new LoopHeartbeatImpl(clock);
  const policies = new BehaviorSubject<Policy>({} as Policy);
  const store = { changes$: policies.asObservable(), file: '/etc/uhugepaged/uhugepaged.yaml' } as unknown as PolicyStore;
  const loggers = new CapturingLoggerFactory();
  const notify = new SdNotify(link, heartbeat, store, clock, loggers);
  /** Runs virtual time up to `t` ms. */
  const runTo = (t: number): void => {
    scheduler.maxFrames = t;
    scheduler.flush();
  };
  const end = (cycle: number, nextIntervalMs = 2000): void => heartbeat.cycleEnded({ cycle, nextIntervalMs, processes: 3, collapsed: 0 });
  return { scheduler, link, heartbeat, policies, notify, loggers, runTo, end };
}

test('loopAlive: a cycle may run for less than the timeout; between cycles the next is due within its interval plus the timeout', () => {
  assert.equal(loopAlive({ inCycle: true, since: 0, nextIntervalMs: 0 }, 9_999, 10_000), true);
  assert.equal(loopAlive({ inCycle: true, since: 0, nextIntervalMs: 0 }, 10_000, 10_000), false);
  assert.equal(loopAlive({ inCycle: false, since: 0, nextIntervalMs: 60_000 }, 69_999, 10_000), true);
  assert.equal(loopAlive({ inCycle: false, since: 0, nextIntervalMs: 60_000 }, 70_000, 10_000), false);
});

test('WATCHDOG_USEC counts only when WATCHDOG_PID is unset or ours', () => {
  assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '30000000' }, 7), 30_000_000);
  assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 7), 30_000_000);
  assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7), undefined, 'a parent’s watchdog');
  assert.equal(watchdogUsecFor({}, 7), undefined);
  assert.equal(watchdogUsecFor({ WATCHDOG_USEC: '0' }, 7), undefined);
  assert.equal(watchdogUsecFor({ WATCHDOG_USEC: 'soon' }, 7), undefined);
});

test('READY=1 comes with the end of the first cycle, even one that ended before the notifier started', () => {
  const s = setup();
  s.heartbeat.cycleStarted();
  s.end(1);
  s.notify.onStart();
  const ready = s.link.sent.filter((m) => m.state.startsWith('READY=1'));
  assert.equal(ready.length, 1);
  assert.match(ready[0].state, /STATUS=running: first cycle done, watching 3 processes/);
  s.heartbeat.cycleStarted();
  s.end(2);
  assert.equal(s.link.sent.filter((m) => m.state.startsWith('READY=1')).length, 1, 'said once');
  s.notify.onStop();
});

test('no READY=1 before a cycle has ended', () => {
  const s = setup();
  s.notify.onStart();
  s.heartbeat.cycleStarted();
  assert.equal(s.link.sent.some((m) => m.state.includes('READY=1')), false);
  s.notify.onStop();
});

test('pings every half timeout while cycles come; none while a cycle hangs; again once it ends', () => {
  const s = setup(true, 10_000_000); // 10 s timeout: a ping every 5 s
  s.notify.onStart();
  // Cycles every 2 s for 30 s.
  for (let t = 0; t < 30_000; t += 2000) {
    s.runTo(t);
    s.heartbeat.cycleStarted();
    s.end(t / 2000 + 1);
  }
  s.runTo(30_000);
  assert.equal(s.link.pings(0, 30_000), 6, 'pings at 5, 10, ... 30 s');
  const progress = (): string[] => s.link.sent.filter((m) => m.state.startsWith('STATUS=running: cycle')).map((m) => `${m.at} ${m.state}`);
  assert.deepEqual(progress(), [], 'no progress line within 30 s of READY');
  // A cycle starts at 30 s and hangs.
  s.heartbeat.cycleStarted();
  s.runTo(60_000);
  assert.equal(s.link.pings(30_001, 60_000), 1, 'only the ping at 35 s, while the cycle was younger than the timeout');
  assert.ok(s.loggers.entries.some((e) => e.level === 'error' && /withholding the watchdog ping/.test(e.message)));
  assert.equal(s.link.sent.filter((m) => m.state.startsWith('STATUS=hung')).length, 1, 'the hang is told once');
  s.end(99);
  assert.ok(s.link.sent.some((m) => m.at === 60_000 && m.state === 'STATUS=running again: cycle 99 ended'), 'the hang’s STATUS is replaced');
  // Cycles every 2 s again, from 62 s to 90 s.
  for (let t = 62_000; t <= 90_000; t += 2000) {
    s.runTo(t);
    s.heartbeat.cycleStarted();
    s.end(100 + (t - 62_000) / 2000);
    if (t < 90_000) assert.deepEqual(progress(), [], 'the next progress line is due 30 s after that');
  }
  assert.deepEqual(progress(), ['90000 STATUS=running: cycle 114, watching 3 processes, 0 regions collapsed']);
  assert.equal(s.link.pings(60_001, 90_000), 6, 'pings resume once the cycle ends');
  s.notify.onStop();
});

test('a loop that stops scheduling cycles loses the watchdog after its interval plus the timeout', () => {
  const s = setup(true, 10_000_000);
  s.notify.onStart();
  s.heartbeat.cycleStarted();
  s.end(1, 20_000); // the next cycle is due at 20 s and never comes
  s.runTo(60_000);
  assert.equal(s.link.pings(), 5, 'pings at 5 ... 25 s, none after 30 s');
  s.notify.onStop();
});

test('STATUS on a policy reload; STOPPING=1 at stop, and no ping after it', () => {
  const s = setup();
  s.notify.onStart();
  s.policies.next({} as Policy);
  assert.ok(s.link.sent.some((m) => m.state === 'STATUS=policy reloaded from /etc/uhugepaged/uhugepaged.yaml'));
  s.notify.onStop();
  assert.equal(s.link.sent.at(-1)?.state, 'STOPPING=1\nSTATUS=stopping');
  const count = s.link.sent.length;
  s.runTo(60_000);
  assert.equal(s.link.sent.length, count, 'the watchdog timer ended with the stop');
});

test('without a watchdog there are no pings; without a service manager nothing at all', () => {
  const noWatchdog = setup(true, null);
  noWatchdog.notify.onStart();
  noWatchdog.heartbeat.cycleStarted();
  noWatchdog.end(1);
  noWatchdog.runTo(60_000);
  assert.equal(noWatchdog.link.pings(), 0);
  assert.ok(noWatchdog.link.sent.some((m) => m.state.startsWith('READY=1')));
  noWatchdog.notify.onStop();

  const none = setup(false);
  none.notify.onStart();
  none.heartbeat.cycleStarted();
  none.end(1);
  none.runTo(60_000);
  none.notify.onStop();
  assert.deepEqual(none.link.sent, []);
});

test('the module resolves, starts SdNotify after every other service, and without NOTIFY_SOCKET it stays silent', async () => {
  const saved = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
  try {
    const { container } = simContainer({ logLevel: 'error' });
    container.load(sdNotifyModule);
    const services = container.getAll<ManagedService>(ManagedService);
    assert.equal(services.at(-1)?.name, 'sd-notify', 'last to start, first to stop');
    const link = container.get<ServiceManagerLink>(ServiceManagerLink);
    assert.equal(link.connected, false);
    assert.equal(link.notify('READY=1'), false, 'nothing is sent');
    const app = container.get<Application>(Application);
    await app.start();
    await app.stop('test');
    await container.get<LoggerFactory>(LoggerFactory).close();
  } finally {
    if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
  }
});
