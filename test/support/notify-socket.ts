// A service manager's end of the notify protocol, for tests: an AF_UNIX datagram socket bound to a
// path, read without blocking. Node's dgram module has no unix sockets, so it is made through koffi.
import { rmSync } from 'node:fs';
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** struct sockaddr_un: a 16-bit family, then up to 108 bytes of path. */
const SUN_PATH_MAX = 108;

const c = koffi.load('libc.so.6');
const socket = c.func('int socket(int domain, int type, int protocol)');
const bind = c.func('int bind(int fd, void *addr, uint32_t len)');
const recv = c.func('long recv(int fd, void *buf, size_t len, int flags)');
const close = c.func('int close(int fd)');

/** A datagram socket at `path` that collects what is sent to it. */
export class NotifySocket {
  private readonly fd: number;
  /** Every datagram received so far, in order. */
  readonly datagrams: string[] = [];

  constructor(readonly path: string) {
    if (Buffer.byteLength(path) >= SUN_PATH_MAX) throw new Error(`socket path too long: ${path}`);
    this.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number;
    if (this.fd < 0) throw new Error(`socket: errno ${koffi.errno()}`);
    const addr = Buffer.alloc(2 + SUN_PATH_MAX);
    addr.writeUInt16LE(AF_UNIX, 0);
    addr.write(path, 2);
    if ((bind(this.fd, addr, 2 + Buffer.byteLength(path) + 1) as number) !== 0) throw new Error(`bind ${path}: errno ${koffi.errno()}`);
  }

  /** Reads every datagram waiting; returns how many there were. */
  drain(): number {
    const buf = Buffer.alloc(4096);
    let n = 0;
    for (;;) {
      const len = Number(recv(this.fd, buf, buf.length, 0));
      if (len < 0) return n; // EAGAIN: nothing more for now
      this.datagrams.push(buf.toString('utf8', 0, len));
      n++;
    }
  }

  /** Drains every `pollMs` until `until` holds for the datagrams or `timeoutMs` passes; whether it held. */
  async waitFor(until: (datagrams: readonly string[]) => boolean, timeoutMs: number, pollMs = 20): Promise<boolean> {
    for (let waited = 0; waited <= timeoutMs; waited += pollMs) {
      this.drain();
      if (until(this.datagrams)) return true;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return false;
  }

  close(): void {
    close(this.fd);
    rmSync(this.path, { force: true });
  }
}
