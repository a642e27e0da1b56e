/**
 * The worker-thread entry of `uhugepaged compare --jobs N` (compare.ts): runs the tasks it is sent, one
 * at a time, and posts progress and each result back. Holds no state between tasks.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, type CompareTask, type WorkerMessage } from './compare.js';

/** Simulated time between two progress messages of a task, ms (fewer messages, same display). */
const PROGRESS_EVERY_MS = 60_000;

const port = parentPort;
if (port === null) throw new Error('compare-worker.js runs as a worker thread only');
port.on('message', (task: CompareTask) => {
  let last = 0;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  runTask(task, (elapsedMs, totalMs) => {
    if (elapsedMs - last < PROGRESS_EVERY_MS && elapsedMs < totalMs) return;
    last = elapsedMs;
    post({ type: 'progress', id: task.id, elapsedMs });
  }).then(
    (run) => post({ type: 'done', id: task.id, run }),
    (e: unknown) => post({ type: 'failed', id: task.id, message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
