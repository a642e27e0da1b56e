// Prometheus metrics: the series the daemon keeps, in a registry of its own, served on 127.0.0.1 only,
// started and stopped with the daemon, off at port 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { DaemonMetrics } from '../../../daemon/telemetry/daemon-metrics.js';
import { MetricsServer } from '../../../daemon/telemetry/metrics-server.js';
import { defaultDaemonOptions } from '../../../daemon/config/daemon-options.js';
import { simContainer } from '../../support/sim-container.js';
import { Application } from '../../../daemon/lifecycle/application.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function fetchText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).once('error', reject);
  });
}

test('the series the daemon keeps, with their labels, in its own registry', async () => {
  const m = new DaemonMetrics();
  m.collapses.inc({ class: 'db', outcome: 'ok', errno: '' }, 3);
  m.collapses.inc({ class: 'db', outcome: 'failed', errno: 'EAGAIN' });
  m.bytesCollapsed.inc({ class: 'db' }, 6 << 20);
  m.hotThpCoverage.set({ class: 'db' }, 0.75);
  m.guardActive.set({ guard: 'few-free-huge-pages', scope: 'node:1' }, 1);
  const text = await m.text();
  assert.match(text, /uhugepaged_collapses_total\{class="db",outcome="ok",errno=""\} 3/);
  assert.match(text, /uhugepaged_collapses_total\{class="db",outcome="failed",errno="EAGAIN"\} 1/);
  assert.match(text, /uhugepaged_collapsed_bytes_total\{class="db"\} 6291456/);
  assert.match(text, /uhugepaged_hot_thp_coverage_ratio\{class="db"\} 0.75/);
  assert.match(text, /uhugepaged_guard_active\{guard="few-free-huge-pages",scope="node:1"\} 1/);
  assert.doesNotMatch(await new DaemonMetrics().text(), /\} 3/, 'another daemon’s registry is separate');
});

test('GET /metrics on 127.0.0.1 while the daemon runs; 404 elsewhere; closed after stop', async () => {
  const port = await freePort();
  const server = new MetricsServer({ ...defaultDaemonOptions, metricsPort: port }, new DaemonMetrics());
  await server.onStart();
  try {
    assert.equal(server.port, port);
    const ok = await fetchText(port, '/metrics');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /# TYPE uhugepaged_collapses_total counter/);
    assert.equal((await fetchText(port, '/')).status, 404);
  } finally {
    await server.onStop();
  }
  await assert.rejects(fetchText(port, '/metrics'));
});

test('port 0 leaves the endpoint off; the application starts and stops it as a managed service', async () => {
  const off = new MetricsServer(defaultDaemonOptions, new DaemonMetrics());
  await off.onStart();
  assert.equal(off.port, undefined);
  const port = await freePort();
  const container = simContainer({ logLevel: 'error', metricsPort: port }).container;
  const app = container.get<Application>(Application);
  await app.start();
  assert.equal((await fetchText(port, '/metrics')).status, 200);
  await app.stop('test done');
  await assert.rejects(fetchText(port, '/metrics'));
});
