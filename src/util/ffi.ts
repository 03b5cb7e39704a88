/**
 * Native libraries through koffi (the FFI atomgp uses for libxtb, OpenBLAS and its own prediction
 * kernel), loaded for the life of the process.
 *
 * Why pinned: koffi closes a library (dlclose) when the thread that loaded it ends, so a library
 * first loaded in a worker thread (a training job, a fidelity worker) is unmapped when that worker
 * exits. OpenBLAS registers fork handlers (pthread_atfork); glibc runs them with its handler lock
 * released, so a fork on another thread (child_process.spawnSync: sbatch, squeue, xtb) that runs a
 * handler while the library is being unmapped executes code or locks a mutex that is gone, and the
 * process dies by SIGSEGV (the Slurm pipeline's submitting process did; docs/slurm.md). Every
 * library loaded here is therefore opened once more with
 * dlopen(RTLD_NOW | RTLD_NODELETE) and that handle is never closed: the library stays mapped, and
 * its handlers valid, however many threads load and unload it.
 */
import { createRequire } from 'node:module';

export interface KoffiLibrary {
  func(definition: string): (...args: unknown[]) => unknown;
}
export interface Koffi {
  load(path: string | null): KoffiLibrary;
  pointer(name: string, type: unknown): unknown;
  opaque(): unknown;
}

/** glibc's dlopen flags (Linux; dlfcn.h). */
const RTLD_NOW = 0x2;
const RTLD_NODELETE = 0x1000;

let koffiCache: { koffi?: Koffi; reason?: string } | undefined;
let dlopen: ((file: string, mode: number) => unknown) | null | undefined;

/** The koffi package, or the one-line reason it cannot be loaded (it is optional). */
export function requireKoffi(): { koffi?: Koffi; reason?: string } {
  if (koffiCache) return koffiCache;
  try {
    koffiCache = { koffi: createRequire(import.meta.url)('koffi') as Koffi };
  } catch (e) {
    koffiCache = { reason: `the npm package 'koffi' (FFI) cannot be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  return koffiCache;
}

/**
 * Loads the library `path` (a path or a soname) through koffi and pins it in the process (see the
 * module comment). Throws koffi's error when it does not load.
 */
export function loadPinnedLibrary(koffi: Koffi, path: string): KoffiLibrary {
  const lib = koffi.load(path);
  pinLibrary(koffi, path);
  return lib;
}

/**
 * Opens `path` once more with RTLD_NODELETE and never closes it; returns whether it did. Off Linux,
 * or where the process's symbols have no dlopen, it does nothing (the library is then unloaded with
 * its last thread, as before).
 */
export function pinLibrary(koffi: Koffi, path: string): boolean {
  if (process.platform !== 'linux') return false;
  if (dlopen === undefined) {
    try {
      dlopen = koffi.load(null).func('void *dlopen(const char *file, int mode)') as (file: string, mode: number) => unknown;
    } catch {
      dlopen = null;
    }
  }
  if (!dlopen) return false;
  return dlopen(path, RTLD_NOW | RTLD_NODELETE) !== null;
}
