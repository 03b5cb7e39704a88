/**
 * Faults on the real cluster: an array element cancelled by the scheduler is retried and the run
 * equals the local one; a task that fails every time is reported with its log while the other
 * runs are kept; a job that never starts times out with a clear message and is cancelled;
 * Ctrl-C cancels the jobs; no sbatch, or a controller that does not answer, is a one-line error.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { waterLikeSpec } from '../../src/potentials/analytic.js';
import { queued, requireCluster, runCli, runFiles, sleep, slurmSkip, startCli, summaryNumbers } from './cluster.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-faults-'));
after(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }));
const { spec, minimumA } = waterLikeSpec();
const specFile = join(root, 'water.json');
writeFileSync(specFile, JSON.stringify({ kind: 'analytic', spec }));
const start = join(root, 'start.xyz');
writeFileSync(start, `${spec.symbols.length}\nstart\n` + spec.symbols.map((s, i) => `${s} ${minimumA[3 * i]} ${minimumA[3 * i + 1]} ${minimumA[3 * i + 2]}`).join('\n') + '\n');
const md = (out: string, steps: number, ...more: string[]) => ['md', '--potential', specFile, '--start', start, '--steps', String(steps), '--replicas', '3', '--seed', '5', '--out', out, ...more];
const slurm = ['--executor', 'slurm', '--slurm-poll-s', '0.3', '--slurm-start-timeout-s', '120'];
const batch = (out: string) => JSON.parse(readFileSync(join(out, 'slurm', 'md', 'batch.json'), 'utf8')) as { submissions: { jobId: string; indices: number[] }[] };

/** Wait until array element `index` of the run in `out` is running and its task has started. */
async function runningElement(out: string, index: number): Promise<string> {
  for (let k = 0; k < 400; k++) {
    if (existsSync(join(out, 'slurm', 'md', 'batch.json')) && existsSync(join(out, 'slurm', 'md', 'started', String(index)))) {
      const id = batch(out).submissions[0]!.jobId;
      if (queued([id]).get(`${id}_${index}`) === 'RUNNING') return id;
    }
    await sleep(100);
  }
  throw new Error(`array element ${index} never ran`);
}

test('an array element cancelled by the scheduler (scancel) is resubmitted and its run equals the local one', { skip: slurmSkip, timeout: 180_000 }, async () => {
  requireCluster();
  const out = join(root, 'scancel');
  const local = join(root, 'scancel-local');
  // Long enough (≈ 7 s of MD per run on the 2-core VM) that the cancel surely lands mid-run: a fixed
  // 1.5-s wait on a 1.5-s run sometimes cancelled a finished element, and nothing was retried.
  const steps = 300_000;
  const driver = startCli(md(out, steps, ...slurm, '--checkpoint-every', '5000'));
  const reference = runCli(md(local, steps, '--checkpoint-every', '5000'));
  const jobId = await runningElement(out, 1);
  // Cancel once the run is under way (its first checkpoint, at step 5000, is on disk).
  for (let k = 0; k < 600 && !existsSync(join(out, 'T300_r01', 'checkpoint.json')); k++) await sleep(50);
  assert.ok(existsSync(join(out, 'T300_r01', 'checkpoint.json')), 'element 1 never wrote its first checkpoint');
  assert.equal(spawnSync('scancel', [`${jobId}_1`]).status, 0);
  const r = await driver.done;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /1 retried/);
  const subs = batch(out).submissions;
  assert.equal(subs.length, 2);
  assert.deepEqual(subs[1]!.indices, [1]);
  // Two attempts started; the second continued (or redid) the first's run: the same files as locally.
  assert.equal(readFileSync(join(out, 'slurm', 'md', 'started', '1'), 'utf8').trim().split('\n').length, 2);
  // SIGTERM from scancel made the run write a checkpoint; the retry resumed from it.
  assert.ok(JSON.parse(readFileSync(join(out, 'T300_r01', 'summary.json'), 'utf8')).resumedFromStep > 0);
  const l = await reference;
  assert.equal(l.code, 0, l.err);
  for (const label of ['T300_r00', 'T300_r01', 'T300_r02']) {
    assert.deepEqual(runFiles(join(out, label)), runFiles(join(local, label)), label);
    assert.deepEqual(summaryNumbers(join(out, label, 'summary.json')), summaryNumbers(join(local, label, 'summary.json')), label);
  }
});

test('a task that fails every time is reported with its log; the other runs are kept; a rerun resubmits only it', { skip: slurmSkip, timeout: 120_000 }, async () => {
  requireCluster();
  const out = join(root, 'fails');
  // Replica 1's run folder is a file: that run can never start, on any attempt.
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'T300_r01'), 'not a folder\n');
  const r = await runCli(md(out, 400, ...slurm, '--slurm-retries', '1'));
  assert.equal(r.code, 1, r.err);
  const m = /atomgp md: run T300_r01 failed after 2 attempt\(s\): (.*); log: (\S+)\n/.exec(r.err);
  assert.ok(m, r.err);
  assert.match(m[1]!, /T300_r01/);
  assert.ok(existsSync(m[2]!), `log ${m[2]} exists`);
  assert.match(readFileSync(m[2]!, 'utf8'), /T300_r01/);
  assert.match(r.err, /2\/3 runs finished and are kept/);
  assert.match(r.out, /T300_r00 .* yes/);
  assert.match(r.out, /T300_r02 .* yes/);
  assert.equal(JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')).length, 2);
  const status = await runCli(['status', out]);
  assert.match(status.out, /2\/3 done/);
  assert.match(status.out, new RegExp(`T300_r01: .*; log: ${m[2]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  // Fixed, the rerun submits only the failed task and keeps the two finished runs.
  rmSync(join(out, 'T300_r01'));
  const summary0 = readFileSync(join(out, 'T300_r00', 'summary.json'), 'utf8');
  const again = await runCli(md(out, 400, ...slurm));
  assert.equal(again.code, 0, again.err);
  const subs = batch(out).submissions;
  assert.deepEqual(subs.at(-1)!.indices, [1]);
  assert.equal(readFileSync(join(out, 'T300_r00', 'summary.json'), 'utf8'), summary0);
  assert.match(again.out, /3\/3 runs survived/);
});

test('a job that never starts times out with a clear message and is cancelled', { skip: slurmSkip, timeout: 60_000 }, async () => {
  requireCluster();
  const out = join(root, 'never');
  const r = await runCli(md(out, 100, '--executor', 'slurm', '--slurm-poll-s', '0.3', '--slurm-start-timeout-s', '3', '--slurm-extra=--begin=now+1hour'));
  assert.equal(r.code, 2, r.err);
  const line = r.err.trim().split('\n').pop()!;
  assert.match(line, /^atomgp md: error: no task of Slurm job\(s\) (\d+) started within 3 s \(pending, reason: BeginTime\); the jobs were cancelled/);
  const id = /job\(s\) (\d+)/.exec(line)![1]!;
  assert.equal(queued([id]).size, 0);
});

test('SIGINT cancels the jobs of the batch (exit 130)', { skip: slurmSkip, timeout: 120_000 }, async () => {
  requireCluster();
  const out = join(root, 'sigint');
  const driver = startCli(md(out, 60_000, ...slurm));
  const id = await runningElement(out, 0);
  driver.kill('SIGINT');
  const r = await driver.done;
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /SIGINT received: cancelling the Slurm jobs/);
  for (let k = 0; k < 50 && queued([id]).size > 0; k++) await sleep(200);
  assert.equal(queued([id]).size, 0);
});

test('no sbatch on PATH, or a controller that does not answer: one-line error, exit 2', { skip: slurmSkip, timeout: 60_000 }, async () => {
  requireCluster();
  const empty = join(root, 'empty-path');
  mkdirSync(empty);
  const noSbatch = await runCli(md(join(root, 'nosbatch'), 100, '--executor', 'slurm'), { PATH: empty });
  assert.equal(noSbatch.code, 2);
  assert.equal(noSbatch.err.trim().split('\n').filter((l) => l.startsWith('atomgp md: error:')).length, 1);
  assert.match(noSbatch.err, /atomgp md: error: sbatch not found on PATH: --executor slurm needs Slurm's client commands/);
  assert.doesNotMatch(noSbatch.err, /\n\s+at /);
  // The same cluster configuration with a controller port nobody listens on.
  const conf = readFileSync(process.env.SLURM_CONF ?? '/etc/slurm/slurm.conf', 'utf8').replace(/^SlurmctldHost=(\S+)$/m, 'SlurmctldHost=$1\nSlurmctldPort=6999');
  const confFile = join(root, 'down.conf');
  writeFileSync(confFile, conf);
  const down = await runCli(md(join(root, 'down'), 100, '--executor', 'slurm'), { SLURM_CONF: confFile });
  assert.equal(down.code, 2);
  assert.match(down.err, /atomgp md: error: sbatch failed: .*Unable to contact slurm controller/);
  assert.doesNotMatch(down.err, /\n\s+at /);
});

test('replacing a batch whose jobs are still queued or running is refused with their job ids', { skip: slurmSkip, timeout: 60_000 }, async () => {
  requireCluster();
  const out = join(root, 'busy');
  const d = await runCli(md(out, 60_000, ...slurm, '--detach'));
  assert.equal(d.code, 0, d.err);
  const id = batch(out).submissions[0]!.jobId;
  try {
    const r = await runCli(md(out, 60_000, ...slurm, '--overwrite'));
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`^atomgp md: error: \\S+slurm/md holds Slurm job\\(s\\) ${id}, still queued or running: wait for them or scancel ${id}, then rerun$`, 'm'));
    assert.equal(batch(out).submissions.length, 1);
  } finally {
    spawnSync('scancel', [id]);
    // A cancelled run still writes its final checkpoint: wait until the job has left the queue, so
    // the folder is not removed under it.
    for (let i = 0; i < 120 && spawnSync('squeue', ['-h', '-j', id], { encoding: 'utf8' }).stdout.trim() !== ''; i++) await new Promise((r) => setTimeout(r, 250));
  }
});
