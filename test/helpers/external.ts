/**
 * Real external programs for the i-PI tests: ASE (Debian python3-ase, run with /usr/bin/python3)
 * and LAMMPS (Debian lammps, `lmp`). Outside CI a missing program skips its tests with a message;
 * under CI=true the tests run and fail.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';
export const ASE_SCRIPT = 'test/helpers/ase/ipi_ase.py';
const ci = process.env.CI === 'true';

/** Why a program is unusable, or undefined when it works. */
function probe(cmd: string, args: string[], what: string): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${what}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`;
  if (r.status !== 0) return `${what}: exit ${r.status} ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return undefined;
}

let aseReason: string | undefined | null = null;
let lammpsReason: string | undefined | null = null;

/** `false` when ASE works (or under CI, where its absence must fail), else the skip message. */
export function skipWithoutAse(): false | string {
  if (aseReason === null) {
    aseReason = probe(PYTHON, ['-c', 'import ase, ase.calculators.socketio, ase.calculators.emt'], 'ASE (Debian: apt-get install python3-ase)');
    if (aseReason !== undefined && !ci) process.stderr.write(`# skip: ${aseReason}\n`);
  }
  return aseReason === undefined || ci ? false : aseReason;
}

/** `false` when LAMMPS works (or under CI), else the skip message. */
export function skipWithoutLammps(): false | string {
  if (lammpsReason === null) {
    lammpsReason = probe('lmp', ['-h'], 'LAMMPS lmp (Debian: apt-get install lammps)');
    if (lammpsReason !== undefined && !ci) process.stderr.write(`# skip: ${lammpsReason}\n`);
  }
  return lammpsReason === undefined || ci ? false : lammpsReason;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** A running child with its output collected; `done` resolves when it exits. */
export interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
}

/** Start a program asynchronously (the test may block its own thread meanwhile). */
export function start(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Running {
  const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  const done = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
  return { child, done };
}

/** `atomgp ARGS` from source, asynchronously. */
export function startAtomgp(args: string[], opts: { timeoutMs?: number } = {}): Running {
  return start(process.execPath, ['--import', 'tsx', 'test/helpers/cli-entry.ts', ...args], opts);
}

/** The ASE helper script, asynchronously. */
export function startAse(args: string[], opts: { timeoutMs?: number } = {}): Running {
  return start(PYTHON, [ASE_SCRIPT, ...args], opts);
}

/** A unix socket name unique to this test process. */
export function socketName(tag: string): string {
  return `atomgp-test-${process.pid}-${tag}`;
}
