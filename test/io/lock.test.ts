import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { LOCK_FILE, lockOutputDir, makeFolders, processAlive, removeStaleTempFiles } from '../../src/io/lock.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('processAlive: this process is alive, an exited one and nonsense pids are not', () => {
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(deadPid()), false);
  assert.equal(processAlive(0), false);
  assert.equal(processAlive(-1), false);
  assert.equal(processAlive(Number.NaN), false);
});

test('lockOutputDir: creates the folder, holds pid and command, refuses a second lock, releases only its own', () => {
  const dir = join(root, 'a', 'b');
  const lock = lockOutputDir(dir, { command: 'atomgp test' });
  const content = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.equal(content.pid, process.pid);
  assert.equal(content.host, hostname());
  assert.equal(content.command, 'atomgp test');
  assert.throws(() => lockOutputDir(dir, { command: 'atomgp other' }), /already being written by this process/);
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  lock.release(); // a second release does nothing
  // a live owner elsewhere (pid 1 is always alive) refuses, naming it
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, host: hostname(), command: 'atomgp md', started: 'then' }));
  assert.throws(() => lockOutputDir(dir, { command: 'atomgp test' }), /is in use by atomgp md \(pid 1, since then\)/);
  // a lock from another host is never taken over
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'elsewhere', command: 'atomgp md', started: 'then' }));
  assert.throws(() => lockOutputDir(dir, { command: 'atomgp test' }), /on elsewhere.*remove/);
  rmSync(join(dir, LOCK_FILE));
  const file = join(root, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => lockOutputDir(file, { command: 'atomgp test' }), /is a file, not a folder/);
  assert.throws(() => lockOutputDir(join(root, 'missing'), { command: 'atomgp test', create: false }), /does not exist/);
});

test('a stale lock (dead pid) is taken over with one warning; an unreadable one too', () => {
  const dir = join(root, 'stale');
  makeFolders(dir);
  const pid = deadPid();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), command: 'atomgp md', started: 'then' }));
  const warnings: string[] = [];
  const lock = lockOutputDir(dir, { command: 'atomgp test', warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`left by atomgp md \\(pid ${pid}, since then\\), which is no longer running`));
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  lock.release();
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
  const again = lockOutputDir(dir, { command: 'atomgp test', warn: (m) => warnings.push(m) });
  assert.match(warnings[1]!, /unreadable lock file/);
  again.release();
});

test('removeStaleTempFiles removes atomic-write temporaries of dead processes only', () => {
  const dir = join(root, 'tmpfiles');
  makeFolders(dir);
  const pid = deadPid();
  writeFileSync(join(dir, `.checkpoint.json.${pid}.0123456789ab.tmp`), 'half');
  writeFileSync(join(dir, `.summary.json.${process.pid}.0123456789ab.tmp`), 'live');
  writeFileSync(join(dir, 'log.csv'), 'keep');
  writeFileAtomic(join(dir, 'checkpoint.json'), '{}');
  // and in subfolders (a pipeline's runs/<prior>/T…/, sampling/)
  mkdirSync(join(dir, 'runs', 'min', 'T300_r00'), { recursive: true });
  writeFileSync(join(dir, 'runs', 'min', 'T300_r00', `.checkpoint.json.${pid}.00112233aabb.tmp`), 'half');
  writeFileSync(join(dir, 'runs', 'min', 'T300_r00', 'log.csv'), 'keep');
  assert.deepEqual(removeStaleTempFiles(dir).sort(), [`.checkpoint.json.${pid}.0123456789ab.tmp`, join('runs', 'min', 'T300_r00', `.checkpoint.json.${pid}.00112233aabb.tmp`)].sort());
  assert.ok(existsSync(join(dir, 'runs', 'min', 'T300_r00', 'log.csv')));
  assert.ok(existsSync(join(dir, `.summary.json.${process.pid}.0123456789ab.tmp`)));
  assert.ok(existsSync(join(dir, 'log.csv')));
  assert.ok(existsSync(join(dir, 'checkpoint.json')));
});
