/**
 * One writer per output folder. A run that writes into a folder first creates `DIR/.atomgp.lock`
 * holding its pid, host, command and start time; a second run into the same folder is refused
 * while that process lives. A lock whose process is gone (a run killed with -9, a power cut) is
 * stale and is taken over with a warning. The lock is created complete in one step (written to a
 * temporary file, then hard-linked to its name, which fails if the name exists), so a reader never
 * sees half a lock; a stale lock is moved aside by rename, which only one contender can do.
 */
import { type Dirent, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AtomgpError } from '../errors.js';

export const LOCK_FILE = '.atomgp.lock';

interface LockContent {
  pid: number;
  host: string;
  command: string;
  started: string;
}

export interface OutputLock {
  dir: string;
  path: string;
  /** Remove the lock (only if it is still ours); further calls do nothing. */
  release(): void;
}

export interface LockOptions {
  /** What is writing, for the message a second writer gets (e.g. `atomgp md`). */
  command: string;
  /** Create the folder when it does not exist (default true). */
  create?: boolean;
  /** Where the stale-lock warning goes (default: stderr). */
  warn?: (message: string) => void;
}

/**
 * `mkdir -p` one level at a time: Node's recursive mkdirSync never returns for a path under /proc
 * (it retries ENOENT forever), so each missing folder is created on its own and errors surface.
 */
export function makeFolders(dir: string): void {
  const parent = dirname(dir);
  if (parent !== dir && !existsSync(parent)) makeFolders(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw e;
  }
}

/** True when `pid` names a live process on this machine (EPERM: alive, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockContent | undefined {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockContent>;
    if (typeof c?.pid === 'number' && typeof c.host === 'string') {
      return { pid: c.pid, host: c.host, command: String(c.command ?? '?'), started: String(c.started ?? '?') };
    }
  } catch {
    // unreadable or not JSON: handled as a lock of unknown owner
  }
  return undefined;
}

const held = new Set<OutputLock>();
let exitHook = false;

/**
 * Take the folder's lock, creating the folder unless `create` is false. Throws an AtomgpError
 * naming the owner when another live process holds it.
 */
export function lockOutputDir(dir: string, options: LockOptions): OutputLock {
  if (!existsSync(dir)) {
    if (options.create === false) throw new AtomgpError(`output folder ${dir} does not exist`);
    makeFolders(resolve(dir));
  } else if (!statSync(dir).isDirectory()) {
    throw new AtomgpError(`--out ${dir} is a file, not a folder`);
  }
  const path = join(dir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: hostname(), command: options.command, started: new Date().toISOString() };
  const text = JSON.stringify(mine) + '\n';
  const warn = options.warn ?? ((m: string) => process.stderr.write(`atomgp: warning: ${m}\n`));
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = join(dir, `.atomgp.lock.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(tmp, text, { flag: 'wx' });
    try {
      linkSync(tmp, path);
      unlinkSync(tmp);
      const lock: OutputLock = {
        dir,
        path,
        release() {
          if (!held.delete(lock)) return;
          const now = readLock(path);
          if (now && now.pid === mine.pid && now.started === mine.started) {
            try {
              unlinkSync(path);
            } catch {
              // already gone
            }
          }
        },
      };
      held.add(lock);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => {
          for (const l of [...held]) l.release();
        });
      }
      return lock;
    } catch (e) {
      unlinkSync(tmp);
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readLock(path);
    if (owner && owner.pid === process.pid && owner.host === mine.host) {
      throw new AtomgpError(`output folder ${dir} is already being written by this process`);
    }
    if (owner && owner.host !== mine.host) {
      throw new AtomgpError(
        `output folder ${dir} is locked by ${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.started}); ` +
          `if that run is over, remove ${path}`,
      );
    }
    if (owner && processAlive(owner.pid)) {
      throw new AtomgpError(
        `output folder ${dir} is in use by ${owner.command} (pid ${owner.pid}, since ${owner.started}); ` +
          `wait for it to finish or choose another --out`,
      );
    }
    // Stale (owner dead) or unreadable: move it aside (one contender wins the rename) and retry.
    const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process took it first
      throw e;
    }
    const moved = readLock(aside);
    if (moved && processAlive(moved.pid) && moved.pid !== owner?.pid) {
      // We moved a fresh lock that replaced the stale one between our read and rename: restore it.
      try {
        linkSync(aside, path);
      } catch {
        // the folder has a newer lock again; ours is lost, so give up below
      }
      unlinkSync(aside);
      throw new AtomgpError(`output folder ${dir} is in use by ${moved.command} (pid ${moved.pid}); wait for it to finish or choose another --out`);
    }
    unlinkSync(aside);
    warn(
      owner
        ? `taking over the lock of ${dir} left by ${owner.command} (pid ${owner.pid}, since ${owner.started}), which is no longer running`
        : `taking over an unreadable lock file ${path}`,
    );
  }
  throw new AtomgpError(`could not lock output folder ${dir} (other processes keep taking it)`);
}

// Temporary files of writeFileAtomic: `.NAME.PID.HEX12.tmp` (atomic-write.ts) and of this module.
const TEMP_RE = /^\.(?:.+)\.(\d+)\.[0-9a-f]{8,12}\.tmp$/;

/**
 * Remove temporary files of atomic writes (and lock attempts) left in `dir` and its subfolders
 * (a pipeline's sampling/, models/<prior>/, runs/<prior>/T…/; at most `depth` levels, symbolic
 * links not followed) by processes that are no longer running (a run killed mid-write). Returns
 * the paths removed, relative to `dir`.
 */
export function removeStaleTempFiles(dir: string, depth = 4): string[] {
  const removed: string[] = [];
  const walk = (sub: string, level: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = sub === '' ? e.name : join(sub, e.name);
      if (e.isDirectory()) {
        if (level < depth) walk(rel, level + 1);
        continue;
      }
      const m = TEMP_RE.exec(e.name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (processAlive(pid)) continue;
      try {
        unlinkSync(join(dir, rel));
        removed.push(rel);
      } catch {
        // gone already
      }
    }
  };
  walk('', 0);
  return removed;
}
