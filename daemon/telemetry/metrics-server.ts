/**
 * The Prometheus endpoint: GET /metrics on 127.0.0.1:`metricsPort` (never another interface: the
 * figures say which processes run on the host), started and stopped with the daemon; port 0 turns it off.
 */
import { createServer, type Server } from 'node:http';
import { inject, injectable } from 'inversify';
import { DaemonOptions } from '../config/daemon-options.js';
import type { ManagedService } from '../lifecycle/managed-service.js';
import { DaemonMetrics } from './daemon-metrics.js';

@injectable()
export class MetricsServer implements ManagedService {
  readonly name = 'metrics-server';
  private server: Server | undefined;

  constructor(
    @inject(DaemonOptions) private readonly options: DaemonOptions,
    @inject(DaemonMetrics) private readonly metrics: DaemonMetrics,
  ) {}

  /** The port listened on, once started (undefined when off). */
  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  async onStart(): Promise<void> {
    if (this.options.metricsPort === 0) return;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      this.metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e instanceof Error ? e.message : String(e)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.metricsPort, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async onStop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
