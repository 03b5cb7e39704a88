/**
 * Worker thread of the linear-algebra team (linalg-team.ts). Importing the modules that registered
 * jobs in the leading thread (their URLs come with the first message) registers the same jobs
 * here; only then does the worker report ready and run commands until the team closes (or the
 * process exits: the worker is unref'd).
 */
import { parentPort } from 'node:worker_threads';
import './linalg.js';
import { runTeamWorker, type TeamWorkerStart } from './linalg-team.js';
import { attachSharedMemory } from './linalg-wasm.js';

parentPort!.once('message', (first: TeamWorkerStart) => {
  void (async () => {
    for (const url of first.modules) await import(url);
    runTeamWorker(first, attachSharedMemory);
  })();
});
