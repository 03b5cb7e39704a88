/**
 * Bindings to the xtb C API (`xtb.h`, libxtb 6.x) through koffi, a prebuilt Node FFI.
 *
 * Only what a single-point energy + gradient needs: environment, molecule, calculator (GFN2-xTB),
 * results. Every xtb call that can fail reports through the environment's error stack, never by
 * aborting the process (checked on libxtb 6.5.1 with a non-converging SCF, overlapping atoms and
 * unknown parameters), so each `XtbSession` method checks the stack and throws with its text.
 *
 * Loading is lazy and optional: without the `koffi` package or without libxtb, `loadXtbLibrary()`
 * returns a reason and the library driver is unavailable; nothing else in atomgp is affected.
 * The library path can be forced with ATOMGP_LIBXTB (default: libxtb.so.6, then libxtb.so).
 */
import { type KoffiLibrary, loadPinnedLibrary, requireKoffi } from '../util/ffi.js';

/** Opaque handle (koffi represents C pointers as external objects). */
type Handle = unknown;


interface XtbFunctions {
  getAPIVersion: () => number;
  newEnvironment: () => Handle;
  delEnvironment: (ref: Handle[]) => void;
  checkEnvironment: (env: Handle) => number;
  getError: (env: Handle, buffer: Uint8Array, size: Int32Array) => void;
  setVerbosity: (env: Handle, level: number) => void;
  newMolecule: (env: Handle, n: Int32Array, z: Int32Array, xyzBohr: Float64Array, charge: Float64Array, uhf: Int32Array, lattice: null, periodic: null) => Handle;
  updateMolecule: (env: Handle, mol: Handle, xyzBohr: Float64Array, lattice: null) => void;
  delMolecule: (ref: Handle[]) => void;
  newCalculator: () => Handle;
  delCalculator: (ref: Handle[]) => void;
  loadGFN2xTB: (env: Handle, mol: Handle, calc: Handle, file: null) => void;
  setAccuracy: (env: Handle, calc: Handle, accuracy: number) => void;
  setMaxIter: (env: Handle, calc: Handle, iterations: number) => void;
  setElectronicTemp: (env: Handle, calc: Handle, temperatureK: number) => void;
  singlepoint: (env: Handle, mol: Handle, calc: Handle, res: Handle) => void;
  newResults: () => Handle;
  delResults: (ref: Handle[]) => void;
  getEnergy: (env: Handle, res: Handle, energyHa: Float64Array) => void;
  getGradient: (env: Handle, res: Handle, gradientHaPerBohr: Float64Array) => void;
}

export interface XtbLibrary {
  fn: XtbFunctions;
  /** Path or soname that was loaded. */
  path: string;
  /** API version (10000 × major + 100 × minor + patch). */
  apiVersion: number;
  /** Set the OpenMP/OpenBLAS thread count for the calling thread (no-op when the symbol is missing). */
  setThreads(n: number): void;
}

let cached: { lib?: XtbLibrary; reason?: string } | undefined;

/**
 * Load koffi and libxtb once per thread. `threads` seeds OMP_NUM_THREADS / OPENBLAS_NUM_THREADS
 * when they are unset, before the OpenMP runtime reads them (later changes go through setThreads).
 */
export function loadXtbLibrary(threads = 1): { lib?: XtbLibrary; reason?: string } {
  if (cached) return cached;
  for (const v of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS']) {
    if (process.env[v] === undefined) process.env[v] = String(threads);
  }
  const { koffi, reason } = requireKoffi();
  if (!koffi) {
    cached = { reason: reason! };
    return cached;
  }
  const candidates = process.env.ATOMGP_LIBXTB ? [process.env.ATOMGP_LIBXTB] : ['libxtb.so.6', 'libxtb.so'];
  let lib: KoffiLibrary | undefined;
  let path = '';
  const failures: string[] = [];
  for (const c of candidates) {
    try {
      lib = loadPinnedLibrary(koffi, c);
      path = c;
      break;
    } catch (e) {
      failures.push(`${c}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!lib) {
    cached = { reason: `libxtb not found (${failures.join('; ')}); install the Debian package libxtb6 (or libxtb-dev), or set ATOMGP_LIBXTB` };
    return cached;
  }
  try {
    // Named opaque pointer types; names are per koffi instance, so declare them once here.
    for (const t of ['xtb_TEnvironment', 'xtb_TMolecule', 'xtb_TCalculator', 'xtb_TResults']) koffi.pointer(t, koffi.opaque());
    const f = (d: string) => lib!.func(d);
    const fn: XtbFunctions = {
      getAPIVersion: f('int xtb_getAPIVersion()') as XtbFunctions['getAPIVersion'],
      newEnvironment: f('xtb_TEnvironment xtb_newEnvironment()'),
      delEnvironment: f('void xtb_delEnvironment(_Inout_ xtb_TEnvironment *env)') as XtbFunctions['delEnvironment'],
      checkEnvironment: f('int xtb_checkEnvironment(xtb_TEnvironment env)') as XtbFunctions['checkEnvironment'],
      getError: f('void xtb_getError(xtb_TEnvironment env, _Out_ uint8_t *buffer, const int *size)') as XtbFunctions['getError'],
      setVerbosity: f('void xtb_setVerbosity(xtb_TEnvironment env, int verbosity)') as XtbFunctions['setVerbosity'],
      newMolecule: f(
        'xtb_TMolecule xtb_newMolecule(xtb_TEnvironment env, const int *natoms, const int *numbers, const double *positions, const double *charge, const int *uhf, const double *lattice, const bool *periodic)',
      ) as XtbFunctions['newMolecule'],
      updateMolecule: f('void xtb_updateMolecule(xtb_TEnvironment env, xtb_TMolecule mol, const double *positions, const double *lattice)') as XtbFunctions['updateMolecule'],
      delMolecule: f('void xtb_delMolecule(_Inout_ xtb_TMolecule *mol)') as XtbFunctions['delMolecule'],
      newCalculator: f('xtb_TCalculator xtb_newCalculator()'),
      delCalculator: f('void xtb_delCalculator(_Inout_ xtb_TCalculator *calc)') as XtbFunctions['delCalculator'],
      loadGFN2xTB: f('void xtb_loadGFN2xTB(xtb_TEnvironment env, xtb_TMolecule mol, xtb_TCalculator calc, const char *filename)') as XtbFunctions['loadGFN2xTB'],
      setAccuracy: f('void xtb_setAccuracy(xtb_TEnvironment env, xtb_TCalculator calc, double accuracy)') as XtbFunctions['setAccuracy'],
      setMaxIter: f('void xtb_setMaxIter(xtb_TEnvironment env, xtb_TCalculator calc, int iterations)') as XtbFunctions['setMaxIter'],
      setElectronicTemp: f('void xtb_setElectronicTemp(xtb_TEnvironment env, xtb_TCalculator calc, double temperature)') as XtbFunctions['setElectronicTemp'],
      singlepoint: f('void xtb_singlepoint(xtb_TEnvironment env, xtb_TMolecule mol, xtb_TCalculator calc, xtb_TResults res)') as XtbFunctions['singlepoint'],
      newResults: f('xtb_TResults xtb_newResults()'),
      delResults: f('void xtb_delResults(_Inout_ xtb_TResults *res)') as XtbFunctions['delResults'],
      getEnergy: f('void xtb_getEnergy(xtb_TEnvironment env, xtb_TResults res, _Out_ double *energy)') as XtbFunctions['getEnergy'],
      getGradient: f('void xtb_getGradient(xtb_TEnvironment env, xtb_TResults res, _Out_ double *gradient)') as XtbFunctions['getGradient'],
    };
    const apiVersion = fn.getAPIVersion();
    // Runtime thread control: libxtb links libgomp and OpenBLAS; both are already loaded with it.
    const setters: Array<(n: number) => unknown> = [];
    for (const [so, sym] of [
      ['libgomp.so.1', 'void omp_set_num_threads(int n)'],
      ['libopenblas.so.0', 'void openblas_set_num_threads(int n)'],
    ] as const) {
      try {
        setters.push(koffi.load(so).func(sym));
      } catch {
        // not linked in this build: the environment variables set above are all we can do
      }
    }
    cached = {
      lib: {
        fn,
        path,
        apiVersion,
        setThreads(n: number) {
          for (const s of setters) s(n);
        },
      },
    };
  } catch (e) {
    cached = { reason: `libxtb (${path}) does not offer the expected C API: ${(e as Error).message.split('\n')[0]}` };
  }
  return cached;
}

/** Error raised by an xtb API call, carrying xtb's own error-stack text. */
export class XtbLibraryError extends Error {
  constructor(
    readonly step: string,
    readonly xtbMessage: string,
  ) {
    super(`${step}: ${xtbMessage}`);
  }
}

export interface XtbSessionOptions {
  numbers: Int32Array;
  charge: number;
  uhf: number;
  accuracy: number;
  electronicTemperatureK: number;
  maxIterations: number;
}

/**
 * One molecule + GFN2 calculator + results object, reused between calls (coordinates are updated
 * in place; the calculator keeps the last wavefunction as the next SCF guess).
 */
export class XtbSession {
  private readonly fn: XtbFunctions;
  private env: Handle;
  private mol: Handle = null;
  private calc: Handle = null;
  private res: Handle = null;
  private readonly energyBuf = new Float64Array(1);
  private readonly errorBuf = new Uint8Array(4096);
  private readonly errorSize = Int32Array.of(4096);

  constructor(
    private readonly lib: XtbLibrary,
    private readonly opts: XtbSessionOptions,
  ) {
    this.fn = lib.fn;
    this.env = this.fn.newEnvironment();
    this.fn.setVerbosity(this.env, 0); // XTB_VERBOSITY_MUTED: nothing on Node's stdout
    this.check('xtb_newEnvironment');
  }

  /** OpenMP's thread count is per OS thread and shared by all sessions on it: set before each call. */
  setThreads(n: number): void {
    this.lib.setThreads(n);
  }

  get started(): boolean {
    return this.mol !== null;
  }

  /** Create the molecule and calculator at the first geometry (xtb needs positions for both). */
  start(positionsBohr: Float64Array): void {
    const o = this.opts;
    this.mol = this.fn.newMolecule(this.env, Int32Array.of(o.numbers.length), o.numbers, positionsBohr, Float64Array.of(o.charge), Int32Array.of(o.uhf), null, null);
    this.check('xtb_newMolecule');
    this.res = this.fn.newResults();
    this.newCalculator();
  }

  /** (Re)build the GFN2 calculator, dropping any stored wavefunction (after an SCF failure). */
  newCalculator(): void {
    if (this.calc) this.fn.delCalculator([this.calc]);
    this.calc = this.fn.newCalculator();
    this.fn.loadGFN2xTB(this.env, this.mol, this.calc, null);
    this.check('xtb_loadGFN2xTB');
    this.fn.setAccuracy(this.env, this.calc, this.opts.accuracy);
    this.fn.setElectronicTemp(this.env, this.calc, this.opts.electronicTemperatureK);
    this.fn.setMaxIter(this.env, this.calc, this.opts.maxIterations);
    this.check('xtb calculator settings');
  }

  /** Single point at `positionsBohr`; energy returned, gradient (Ha/bohr) written when given. */
  singlepoint(positionsBohr: Float64Array, gradientHaPerBohr: Float64Array | null): number {
    this.fn.updateMolecule(this.env, this.mol, positionsBohr, null);
    this.check('xtb_updateMolecule');
    this.fn.singlepoint(this.env, this.mol, this.calc, this.res);
    this.check('xtb_singlepoint');
    this.fn.getEnergy(this.env, this.res, this.energyBuf);
    if (gradientHaPerBohr) this.fn.getGradient(this.env, this.res, gradientHaPerBohr);
    this.check('xtb_getEnergy/xtb_getGradient');
    return this.energyBuf[0]!;
  }

  /** Throw XtbLibraryError with xtb's error stack (which this empties) if the last call failed. */
  private check(step: string): void {
    if (this.fn.checkEnvironment(this.env) === 0) return;
    this.errorBuf.fill(0);
    this.fn.getError(this.env, this.errorBuf, this.errorSize);
    const end = this.errorBuf.indexOf(0);
    const text = Buffer.from(this.errorBuf.subarray(0, end < 0 ? this.errorBuf.length : end))
      .toString('utf8')
      .trim()
      .replace(/\s*\n\s*/g, ' | ');
    throw new XtbLibraryError(step, text || 'xtb reported an error without a message');
  }

  dispose(): void {
    if (this.res) this.fn.delResults([this.res]);
    if (this.calc) this.fn.delCalculator([this.calc]);
    if (this.mol) this.fn.delMolecule([this.mol]);
    if (this.env) this.fn.delEnvironment([this.env]);
    this.res = this.calc = this.mol = this.env = null;
  }
}
