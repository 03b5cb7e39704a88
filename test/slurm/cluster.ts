/**
 * The Slurm tests run against a real cluster (scripts/slurm-up.sh starts a one-node one). Under
 * CI=true a missing sbatch or a cluster that is not up fails them; elsewhere they are skipped
 * with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function clusterProblem(): string | undefined {
  const v = spawnSync('sbatch', ['--version'], { encoding: 'utf8' });
  if (v.error) return 'sbatch not found on PATH (install slurm-wlm and run scripts/slurm-up.sh as root)';
  const s = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 20_000 });
  // A node that takes jobs: idle, partly or fully allocated, completing, or planned by the backfill
  // scheduler for a pending job (`plnd`, seen while another test file's jobs queue). The flag
  // suffixes (`*` not responding, `~` powered off, ...) are stripped; a not-responding node is `down` soon.
  const states = (s.stdout ?? '').split('\n').map((l) => l.trim().replace(/[*~#!%$@^-]+$/, '')).filter((l) => l !== '');
  if (s.status !== 0 || !states.some((t) => ['idle', 'mix', 'alloc', 'comp', 'plnd'].includes(t))) {
    return `the Slurm cluster is not up (sinfo: ${(s.stderr || s.stdout || '').trim().split('\n')[0] || 'no node'}); run scripts/slurm-up.sh as root`;
  }
  return undefined;
}

const problem = clusterProblem();
const ci = process.env.CI === 'true';

/** `skip` option of the Slurm tests: the reason outside CI, false under CI (they then fail in `requireCluster`). */
export const slurmSkip: string | false = problem !== undefined && !ci ? `skipped: ${problem}` : false;

/** Fails the test (under CI) when there is no cluster. */
export function requireCluster(): void {
  assert.equal(problem, undefined, `CI=true needs a running Slurm cluster: ${problem}`);
}

/** `atomgp ARGS` from source in a child process (async, so the test can act on the cluster meanwhile). */
export function startCli(args: string[], env: Record<string, string> = {}): { done: Promise<{ code: number; out: string; err: string }>; pid: number; kill: (sig: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', ...args], { env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number; out: string; err: string }>((res) => child.on('close', (code, sig) => res({ code: code ?? (sig === 'SIGINT' ? 130 : -1), out, err })));
  return { done, pid: child.pid!, kill: (sig) => child.kill(sig) };
}

export const runCli = (args: string[], env: Record<string, string> = {}) => startCli(args, env).done;

/** Queue entries (`<arrayJob>_<index>` → state) of the given array job ids. */
export function queued(jobIds: readonly string[]): Map<string, string> {
  const r = spawnSync('squeue', ['-h', '-r', '-o', '%F|%K|%T'], { encoding: 'utf8' });
  const m = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [a, k, st] = line.split('|');
    if (a && jobIds.includes(a) && k && st) m.set(`${a}_${k}`, st);
  }
  return m;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Files of a run folder, byte for byte, except summary.json (wall time and speed differ); `outDir`
 * (where a file names it, e.g. the models of a study) is written as OUT.
 */
export function runFiles(dir: string, outDir?: string): Record<string, string> {
  const text = (f: string): string => {
    const t = readFileSync(join(dir, f), 'utf8');
    return outDir === undefined ? t : t.split(outDir).join('OUT');
  };
  return Object.fromEntries(readdirSync(dir).filter((f) => f !== 'summary.json').sort().map((f) => [f, text(f)]));
}

/** summary.json without what depends on the machine and the moment (wall time, speed, resume point). */
export function summaryNumbers(file: string): Record<string, unknown> {
  const { wallSeconds: _w, stepsPerSecond: _s, nsPerDay: _n, resumedFromStep: _r, ...rest } = JSON.parse(readFileSync(file, 'utf8'));
  return rest;
}
