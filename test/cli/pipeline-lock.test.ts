import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-pipeline-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('pipeline: one writer per --out (a second pipeline is refused naming the first), and progress reaches stderr with --json', async () => {
  const out = join(root, 'run');
  const args = ['pipeline', '--molecule', 'water', '--out', out, '--sample-steps', '200000', '--n-train', '150', '--n-valid', '100', '--json'];
  const c = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let stdout = '';
  c.stderr.on('data', (d) => {
    err += String(d);
  });
  c.stdout.on('data', (d) => {
    stdout += String(d);
  });
  const closed = new Promise<number | null>((res) => c.on('close', (code) => res(code)));
  try {
    const t0 = Date.now();
    while (!(existsSync(join(out, '.atomgp.lock')) && err.length > 0) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(join(out, '.atomgp.lock')), `the first pipeline holds the lock (stderr: ${err})`);
    // With --json, stdout stays for the JSON object and the progress goes to stderr.
    assert.match(err, /\[\s*\d+ s\] /, 'progress lines on stderr');
    assert.equal(stdout, '', 'nothing on stdout before the JSON summary');
    const second = runCli(['pipeline', '--molecule', 'water', '--out', out, '--resume', '--quiet']);
    assert.equal(second.code, 2, second.err);
    assert.match(second.err, /output folder .*run is in use by atomgp pipeline \(pid \d+/);
    assert.equal(second.err.trim().split('\n').length, 1, second.err);
  } finally {
    c.kill('SIGKILL');
    await closed;
  }
});
