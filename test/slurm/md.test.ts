/**
 * `atomgp md --replicas 8 --executor slurm` on the real cluster gives the same runs, file for
 * file, as the local worker threads with the same seed; a rerun submits nothing; --detach, status
 * and collect.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requireCluster, runCli, runFiles, slurmSkip, summaryNumbers } from './cluster.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-slurm-md-'));
after(() => rmSync(root, { recursive: true, force: true }));
const labels = Array.from({ length: 8 }, (_, r) => `T300_r0${r}`);
const md = (out: string, ...more: string[]) => ['md', '--models', 'examples/water-morse', '--start', 'examples/water-morse/water.xyz', '--steps', '1000', '--replicas', '8', '--seed', '11', '--traj-stride', '25', '--out', out, ...more];
const slurm = ['--executor', 'slurm', '--slurm-poll-s', '0.3', '--slurm-start-timeout-s', '120'];

test('md --replicas 8 through Slurm equals the local worker threads bit for bit; a rerun submits nothing', { skip: slurmSkip, timeout: 180_000 }, async () => {
  requireCluster();
  const local = join(root, 'local');
  const viaSlurm = join(root, 'slurm');
  const [l, s] = await Promise.all([runCli(md(local)), runCli(md(viaSlurm, ...slurm))]);
  assert.equal(l.code, 0, l.err);
  assert.equal(s.code, 0, s.err);
  assert.match(s.err, /slurm job \d+: 8\/8 done/);
  for (const label of labels) {
    assert.deepEqual(runFiles(join(viaSlurm, label)), runFiles(join(local, label)), label);
    assert.deepEqual(summaryNumbers(join(viaSlurm, label, 'summary.json')), summaryNumbers(join(local, label, 'summary.json')), label);
  }
  // The same table (apart from the speed column) and an ensemble.json of the eight runs.
  const table = (out: string) => out.split('\n').map((line) => line.replace(/\s+\d+\s+-$/, '').replace(/\s+\d+\s+\S+$/, ''));
  assert.deepEqual(table(s.out), table(l.out));
  assert.equal(JSON.parse(readFileSync(join(viaSlurm, 'ensemble.json'), 'utf8')).length, 8);
  // The job script is in the output folder, readable and re-submittable.
  const script = readFileSync(join(viaSlurm, 'slurm', 'md', 'job.sh'), 'utf8');
  assert.match(script, /#SBATCH --job-name=atomgp-md/);
  assert.match(script, / task \S+\/tasks\/"\$SLURM_ARRAY_TASK_ID"\.json/);
  // Rerunning the command gathers the finished tasks and submits nothing.
  const again = await runCli(md(viaSlurm, ...slurm));
  assert.equal(again.code, 0, again.err);
  assert.equal(JSON.parse(readFileSync(join(viaSlurm, 'slurm', 'md', 'batch.json'), 'utf8')).submissions.length, 1);
  assert.deepEqual(table(again.out), table(l.out));
  // Other settings into the same folder: refused before anything is submitted, as locally.
  const changed = await runCli([...md(viaSlurm, ...slurm), '--steps', '1100']);
  assert.equal(changed.code, 2);
  assert.match(changed.err, /^atomgp md: error: output folder \S+T300_r00 already holds a run .*pass --overwrite to replace it or --resume to continue it$/m);
  assert.equal(JSON.parse(readFileSync(join(viaSlurm, 'slurm', 'md', 'batch.json'), 'utf8')).submissions.length, 1);
  const status = await runCli(['status', viaSlurm]);
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /slurm\/md \(md\): slurm job \d+: 8\/8 done, 0 running, 0 queued/);
});

test('md --detach submits and exits; status shows the batch; collect gathers what finished', { skip: slurmSkip, timeout: 120_000 }, async () => {
  requireCluster();
  const out = join(root, 'detached');
  const d = await runCli(md(out, ...slurm, '--detach', '--steps', '300', '--replicas', '2'));
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /submitted Slurm job \d+ \(2 runs/);
  assert.ok(!existsSync(join(out, 'ensemble.json')));
  const early = await runCli(['status', out]);
  assert.equal(early.code, 0, early.err);
  assert.match(early.out, /slurm job \d+: \d\/2 done/);
  // Wait for both results, then collect.
  for (let k = 0; k < 120 && !(existsSync(join(out, 'slurm', 'md', 'results', '0.json')) && existsSync(join(out, 'slurm', 'md', 'results', '1.json'))); k++) await new Promise((r) => setTimeout(r, 500));
  const c = await runCli(['collect', out]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /2\/2 runs survived/);
  assert.equal(JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')).length, 2);
  assert.deepEqual(
    JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')).map((x: { seed: number }) => x.seed),
    [11, 12],
  );
});
