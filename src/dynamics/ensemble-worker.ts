/**
 * Worker thread of an MD ensemble (ensemble.ts): receives jobs, builds the potential from its
 * serialisable spec (GP model sets are loaded once per worker and reused), runs `runMd`, and posts
 * progress and the summary back.
 */
import { parentPort } from 'node:worker_threads';
import { AtomgpError } from '../errors.js';
import { createPotential, type PotentialSpec } from '../potentials/factory.js';
import type { Potential } from '../potentials/potential.js';
import { type EnsembleJob, STOP_SIGNALS, type WorkerMessage } from './ensemble.js';
import { runMd } from './run.js';

const cache = new Map<string, Potential>();

async function potentialFor(spec: PotentialSpec): Promise<Potential> {
  // Potentials with call-dependent behaviour (broken wrappers) must not be shared between jobs.
  if (spec.kind !== 'gp-models') return createPotential(spec);
  const key = JSON.stringify(spec);
  let p = cache.get(key);
  if (!p) {
    p = await createPotential(spec);
    cache.set(key, p);
  }
  return p;
}

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

parentPort?.on('message', async (msg: { type: 'job'; job: EnsembleJob; stop?: Int32Array } | { type: 'exit' }) => {
  if (msg.type === 'exit') {
    parentPort!.close();
    return;
  }
  const job = msg.job;
  const stop = msg.stop;
  try {
    const potential = await potentialFor(job.potentialSpec);
    const summary = runMd({
      ...job.run,
      potential,
      potentialSpec: job.potentialSpec,
      massesAmu: Float64Array.from(job.massesAmu),
      startPositionsA: Float64Array.from(job.startPositionsA),
      onProgress: (step) => post({ type: 'progress', id: job.id, step }),
      ...(stop ? { shouldStop: () => STOP_SIGNALS[Atomics.load(stop, 0)] } : {}),
    });
    post({ type: 'done', id: job.id, summary });
  } catch (e) {
    post({ type: 'error', id: job.id, message: (e as Error).message, userError: e instanceof AtomgpError, stack: (e as Error).stack ?? '' });
  }
});
