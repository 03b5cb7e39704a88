/** Worker thread of fit-job.ts: runs one job with the same code as the main thread and posts progress and the result. */
import { parentPort } from 'node:worker_threads';
import { AtomgpError } from '../../errors.js';
import { type FitJob, type FitJobMessage, runFitJob } from './fit-job.js';

function post(m: FitJobMessage): void {
  parentPort!.postMessage(m);
}

parentPort?.once('message', (job: FitJob) => {
  try {
    const result = runFitJob(job, (progress) => post({ type: 'progress', progress }));
    post({ type: 'done', result });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message, userError: e instanceof AtomgpError, stack: (e as Error).stack ?? '' });
  }
});
