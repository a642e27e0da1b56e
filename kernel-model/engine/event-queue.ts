/**
 * A binary min-heap of events ordered by (time, priority, sequence). The sequence number is assigned at
 * insertion, so two events at the same time and priority run in the order they were scheduled: ties are
 * deterministic, never left to the heap's shape.
 */
export interface QueuedEvent {
  readonly time: number;
  readonly priority: number;
  readonly seq: number;
  readonly run: () => void;
  /** Set by `cancel`; a cancelled event is dropped when it reaches the top. */
  cancelled: boolean;
}

/** The event heap. */
export class EventQueue {
  private readonly heap: QueuedEvent[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, priority: number, run: () => void): QueuedEvent {
    const ev: QueuedEvent = { time, priority, seq: this.nextSeq++, run, cancelled: false };
    this.heap.push(ev);
    this.siftUp(this.heap.length - 1);
    return ev;
  }

  /** The earliest live event, without removing it. */
  peek(): QueuedEvent | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Removes and returns the earliest live event. */
  pop(): QueuedEvent | undefined {
    this.dropCancelled();
    return this.removeTop();
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.removeTop();
  }

  private removeTop(): QueuedEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(a: QueuedEvent, b: QueuedEvent): boolean {
    if (a.time !== b.time) return a.time < b.time;
    if (a.priority !== b.priority) return a.priority < b.priority;
    return a.seq < b.seq;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.less(heap[l], heap[m])) m = l;
      if (r < heap.length && this.less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
}
