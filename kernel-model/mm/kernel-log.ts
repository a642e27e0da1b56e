/**
 * The kernel log ring (printk), readable as /dev/kmsg records: `level,seq,timestamp_us,-;message`.
 */

/** One log record. */
export interface LogRecord {
  readonly seq: number;
  readonly timeMs: number;
  /** syslog level: 3 err, 4 warning, 6 info. */
  readonly level: number;
  readonly message: string;
}

/** The kernel log. */
export class KernelLog {
  private readonly records: LogRecord[] = [];
  private static readonly capacity = 4096;
  private seq = 0;

  printk(timeMs: number, level: number, message: string): void {
    this.records.push({ seq: this.seq++, timeMs, level, message });
    if (this.records.length > KernelLog.capacity) this.records.shift();
  }

  /** Every retained record, oldest first. */
  all(): readonly LogRecord[] {
    return this.records;
  }

  /** The /dev/kmsg text of the retained records. */
  kmsg(): string {
    return this.records
      .map((r) => `${r.level},${r.seq},${Math.round(r.timeMs * 1000)},-;${r.message}\n`)
      .join('');
  }
}
