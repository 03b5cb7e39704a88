/**
 * A pipeline killed with SIGKILL (no handler can run) and resumed gives the demo.json of an
 * uninterrupted run, but for wall-clock fields; its stale lock is taken over with a warning.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-pipeline-kill-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SETTINGS = ['--molecule', 'water', '--sample-steps', '8000', '--harvest-every', '20', '--n-train', '100', '--n-valid', '60', '--restarts', '1', '--max-iterations', '60', '--md-time-ps', '0.5', '--temperatures-K', '300,1000', '--replicas', '2', '--workers', '1', '--quiet'];

/** demo.json without wall-clock fields (times of stages and of each atom's training). */
function comparable(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'), (k, v) => (k === 'timings_s' || k === 'wall_time_s' ? undefined : v));
}

test('pipeline: kill -9 during the NVT stage, then --resume: demo.json equals an uninterrupted run (but wall-clock fields)', async () => {
  const whole = join(root, 'whole');
  const w = runCli(['pipeline', ...SETTINGS, '--out', whole]);
  assert.equal(w.code, 0, w.err);

  const out = join(root, 'killed');
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', 'pipeline', ...SETTINGS, '--out', out], { stdio: 'ignore' });
  const closed = new Promise<NodeJS.Signals | null>((res) => c.on('close', (_code, sig) => res(sig)));
  // Wait until the first prior's NVT runs have started writing, then kill without warning.
  const t0 = Date.now();
  const started = (): boolean => existsSync(join(out, 'runs', 'shift_0.05', 'T300_r00', 'log.csv'));
  while (!started() && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  assert.ok(started(), 'the NVT stage started');
  c.kill('SIGKILL');
  assert.equal(await closed, 'SIGKILL');
  assert.ok(!existsSync(join(out, 'demo.json')), 'killed before the end');
  assert.ok(existsSync(join(out, '.atomgp.lock')), 'the killed run left its lock');

  // Temporaries of atomic writes a killed run may leave in the stage folders are removed on resume.
  const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const stale = [join(out, 'sampling', `.frames.extxyz.${deadPid}.0123456789ab.tmp`), join(out, 'runs', 'shift_0.05', 'T300_r00', `.checkpoint.json.${deadPid}.0123456789ab.tmp`)];
  for (const f of stale) writeFileSync(f, 'half');
  const r = runCli(['pipeline', ...SETTINGS.filter((a) => a !== '--quiet'), '--out', out, '--resume']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: taking over the lock of .*which is no longer running/);
  assert.match(r.err, /sampling: reusing/);
  assert.deepEqual(comparable(join(out, 'demo.json')), comparable(join(whole, 'demo.json')));
  for (const f of stale) assert.ok(!existsSync(f), `${f} removed`);
  assert.ok(!existsSync(join(out, '.atomgp.lock')), 'the lock is released at the end');
});
