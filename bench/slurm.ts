/**
 * The Slurm executor against local worker threads on the same machine (issue 19):
 *   - R ammonia NVT replicas (shared GP models) × P ps, `atomgp md --replicas R` with
 *     `--executor local --workers W` and with `--executor slurm` (one job array; the one-node
 *     cluster of scripts/slurm-up.sh runs as many tasks at once as it has cores): wall times;
 *   - the scheduler's cost per task: the same number of 1-step tasks through Slurm (queueing,
 *     starting Node, loading the models, writing the result), wall time × concurrency ÷ tasks;
 *     and the difference of the two long runs per task.
 * Runs the compiled CLI (bin/atomgp.js), as an installed atomgp would on a cluster. Wall times on a
 * shared machine move with its load: the load average is printed before and after.
 *
 * Usage: npm run bench:slurm   or   node dist/bench/slurm.js [--replicas 16] [--ps 10] [--workers 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sharedDataForBench } from './md-systems.js';

const { values: args } = parseArgs({ options: { replicas: { type: 'string', default: '16' }, ps: { type: 'string', default: '10' }, workers: { type: 'string', default: '2' } } });
const replicas = Number(args.replicas);
const ps = Number(args.ps);
const workers = Number(args.workers);
const models = sharedDataForBench('ammonia/models');
if (!models) process.exit(0);
const sbatch = spawnSync('sbatch', ['--version'], { encoding: 'utf8' });
if (sbatch.error) {
  process.stderr.write('# skip: sbatch not found (run scripts/slurm-up.sh as root)\n');
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
const bin = resolve('bin/atomgp.js');
const root = mkdtempSync(join(tmpdir(), 'atomgp-bench-slurm-'));
const start = join(root, 'nh3.xyz');
writeFileSync(start, '4\nammonia\nN 0 0 0\nH 0 0.94 0.38\nH 0.814 -0.47 0.38\nH -0.814 -0.47 0.38\n');
const steps = Math.round((ps * 1000) / 0.5);

function md(out: string, n: number, nSteps: number, more: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, 'md', '--models', models!, '--start', start, '--steps', String(nSteps), '--replicas', String(n), '--seed', '1', '--temperature-K', '300', '--traj-stride', '100', '--log-every', '10', '--out', out, ...more], { encoding: 'utf8' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`md failed (${r.status}): ${r.stderr}`);
  return s;
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const cores = cpus().length;
process.stdout.write(`# ${cores} cores, load average before: ${load()}\n`);
process.stdout.write(`# ${replicas} ammonia replicas × ${ps} ps (${steps} steps of 0.5 fs, NVT 300 K, 0.5 ps Langevin equilibration each)\n`);
try {
  const slurmFlags = ['--executor', 'slurm', '--slurm-poll-s', '0.5'];
  const tLocal = md(join(root, 'local'), replicas, steps, ['--workers', String(workers)]);
  process.stdout.write(`local, ${workers} worker threads: ${tLocal.toFixed(1)} s\n`);
  const tSlurm = md(join(root, 'slurm'), replicas, steps, slurmFlags);
  process.stdout.write(`slurm job array (${cores} tasks at a time): ${tSlurm.toFixed(1)} s\n`);
  const same = Array.from({ length: replicas }, (_, r) => `T300_r${String(r).padStart(2, '0')}`).every(
    (d) => readFileSync(join(root, 'local', d, 'trajectory.extxyz'), 'utf8') === readFileSync(join(root, 'slurm', d, 'trajectory.extxyz'), 'utf8'),
  );
  process.stdout.write(`trajectories identical: ${same}\n`);
  const concurrency = Math.min(cores, workers);
  process.stdout.write(`difference per task: (${tSlurm.toFixed(1)} − ${tLocal.toFixed(1)}) s × ${concurrency} / ${replicas} = ${(((tSlurm - tLocal) * concurrency) / replicas).toFixed(2)} s\n`);
  const tEmpty = md(join(root, 'empty'), replicas, 1, [...slurmFlags, '--equilibrate-ps', '0']);
  process.stdout.write(`${replicas} one-step tasks through Slurm: ${tEmpty.toFixed(1)} s → ${((tEmpty * concurrency) / replicas).toFixed(2)} s per task (queue, Node start, model load, result)\n`);
  // Inside each task: from its start line (Node and atomgp loaded) to its result (models loaded and checked, 1 step, written).
  const batch = join(root, 'empty', 'slurm', 'md');
  const inTask = Array.from({ length: replicas }, (_, i) => {
    const started = Date.parse(readFileSync(join(batch, 'started', String(i)), 'utf8').split(' ')[0]!);
    return (statSync(join(batch, 'results', `${i}.json`)).mtimeMs - started) / 1000;
  });
  const mean = inTask.reduce((a, b) => a + b, 0) / replicas;
  process.stdout.write(`  of which inside the task (atomgp loaded → result written): ${mean.toFixed(2)} s mean; the rest (scheduling, job start, Node start): ${((tEmpty * concurrency) / replicas - mean).toFixed(2)} s\n`);
  const tEmptyLocal = md(join(root, 'empty-local'), replicas, 1, ['--workers', String(workers), '--equilibrate-ps', '0']);
  process.stdout.write(`the same locally: ${tEmptyLocal.toFixed(1)} s\n`);
} finally {
  process.stdout.write(`# load average after: ${load()}\n`);
  rmSync(root, { recursive: true, force: true });
}
