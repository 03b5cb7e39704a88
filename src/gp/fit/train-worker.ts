/**
 * Worker thread of the parallel trainer (train-parallel.ts): receives tasks one at a time, runs
 * them with the same code as the main thread, and posts progress and the result back.
 */
import { parentPort } from 'node:worker_threads';
import { AtomgpError } from '../../errors.js';
import { runTrainTask, type TrainTask, type TrainWorkerMessage } from './train-parallel.js';

function post(m: TrainWorkerMessage): void {
  parentPort!.postMessage(m);
}

parentPort?.on('message', (msg: { type: 'task'; id: number; task: TrainTask }) => {
  const { id, task } = msg;
  try {
    const result = runTrainTask(task, (progress) => post({ type: 'progress', id, progress }));
    post({ type: 'done', id, result });
  } catch (e) {
    post({ type: 'error', id, message: (e as Error).message, userError: e instanceof AtomgpError, stack: (e as Error).stack ?? '' });
  }
});
