/**
 * Worker thread of the linear-algebra team (linalg-team.ts). Importing the modules that own the
 * maths registers their jobs exactly as in the leading thread; then the command loop runs until
 * the team closes (or the process exits: the worker is unref'd).
 */
import { parentPort } from 'node:worker_threads';
import './likelihood.js';
import './linalg.js';
import { runTeamWorker } from './linalg-team.js';
import { attachSharedMemory } from './linalg-wasm.js';

parentPort!.once('message', (first: Parameters<typeof runTeamWorker>[0]) => {
  runTeamWorker(first, attachSharedMemory);
});
