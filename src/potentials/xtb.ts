/**
 * GFN2-xTB reference potential (Bannwarth, Ehlert & Grimme, JCTC 2019) through the `xtb` package.
 *
 * Two drivers, same numbers (see docs/xtb.md for measurements):
 *   'library'  libxtb's C API through koffi (src/potentials/xtb-ffi.ts): the molecule and
 *              calculator live for the potential's lifetime; each call updates coordinates and
 *              reuses the last wavefunction as SCF guess. Default when available.
 *   'program'  the `xtb` executable run synchronously per call in a private temp folder, reading
 *              the `energy` and `gradient` files it writes (fresh SCF guess every call).
 *
 * Units: positions Å in; energy Ha, forces −∇E in Ha/bohr out. Atomic energies: xtb has no energy
 * partition, so `atomicEnergiesHa` is the total split equally over the atoms (E/N each). These are
 * NOT IQA atomic energies and carry no chemical meaning; only their sum does.
 *
 * Threads: one OpenMP/OpenBLAS thread by default (`threads`), so several potentials on a 2-core
 * machine do not oversubscribe it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOHR_PER_ANGSTROM } from '../chem/units.js';
import { findElement } from '../chem/elements.js';
import { AtomgpError } from '../errors.js';
import type { Potential, PotentialResult } from './potential.js';
import { loadXtbLibrary, XtbLibraryError, XtbSession } from './xtb-ffi.js';

/** Serialisable description of an xtb potential (used in potential specs for workers). */
export interface XtbSpec {
  symbols: string[];
  /** Molecular charge, e (default 0). */
  charge?: number;
  /** Number of unpaired electrons (default 0). */
  uhf?: number;
  /** 'library' (libxtb through FFI) or 'program' (the xtb executable); default: library if it loads. */
  driver?: 'library' | 'program';
  /** OpenMP/OpenBLAS threads (default 1). */
  threads?: number;
  /** xtb accuracy, 1e-4 … 1e3, lower is tighter (default 1, xtb's own default). */
  accuracy?: number;
  /** Electronic (Fermi smearing) temperature, K (default 300, xtb's own default). */
  electronicTemperatureK?: number;
  /** Maximum SCF iterations (default 250, xtb's own default). */
  maxIterations?: number;
  /** Program driver only: the executable (default 'xtb' on PATH, or $ATOMGP_XTB). */
  program?: string;
  /** Program driver only: seconds before a call is killed (default 600). */
  timeoutS?: number;
}

export interface XtbAvailability {
  library: boolean;
  program: boolean;
  /** xtb version, e.g. '6.5.1' (from the program), or the library API version. */
  version?: string;
  /** Why a driver is unavailable (both reasons when both are). */
  reason?: string;
}

/** Failure of an xtb evaluation; `positionsA` is the geometry that failed (a copy). */
export class XtbError extends AtomgpError {
  constructor(
    message: string,
    readonly call: number,
    readonly positionsA: Float64Array,
  ) {
    super(message);
  }
}

const DEFAULTS = { charge: 0, uhf: 0, threads: 1, accuracy: 1, electronicTemperatureK: 300, maxIterations: 250, timeoutS: 600 };

function programPath(spec?: XtbSpec): string {
  return spec?.program ?? process.env.ATOMGP_XTB ?? 'xtb';
}

const programProbes = new Map<string, { ok: boolean; version?: string; reason?: string }>();

/** Run `exe --version` once per executable (cached). */
function probeProgram(exe = programPath()): { ok: boolean; version?: string; reason?: string } {
  const known = programProbes.get(exe);
  if (known) return known;
  let programProbe: { ok: boolean; version?: string; reason?: string };
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    programProbe = { ok: false, reason: code === 'ENOENT' ? `the xtb program '${exe}' was not found (not on PATH or no such file; Debian: apt-get install xtb)` : `cannot run '${exe}': ${r.error.message}` };
  } else {
    const m = /xtb version\s+(\S+)/.exec(`${r.stdout}${r.stderr}`);
    programProbe = m ? { ok: true, version: m[1]! } : { ok: false, reason: `'${exe} --version' did not print an xtb version (exit ${r.status})` };
  }
  programProbes.set(exe, programProbe);
  return programProbe;
}

/** Which xtb drivers work on this machine (cached; cheap after the first call). */
export function xtbAvailable(): XtbAvailability {
  const lib = loadXtbLibrary();
  const prog = probeProgram();
  const reasons = [lib.reason && `library: ${lib.reason}`, prog.reason && `program: ${prog.reason}`].filter(Boolean);
  const out: XtbAvailability = { library: lib.lib !== undefined, program: prog.ok };
  const version = prog.version ?? (lib.lib ? `API ${lib.lib.apiVersion}` : undefined);
  if (version) out.version = version;
  if (reasons.length > 0) out.reason = reasons.join('; ');
  return out;
}

/** Closest atom pair, for error messages ("atoms 2 and 5 are 0.12 Å apart"). */
function closestPair(positionsA: Float64Array, symbols: readonly string[]): string {
  let best = Number.POSITIVE_INFINITY;
  let bi = 0;
  let bj = 0;
  const n = symbols.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = positionsA[3 * i]! - positionsA[3 * j]!;
      const dy = positionsA[3 * i + 1]! - positionsA[3 * j + 1]!;
      const dz = positionsA[3 * i + 2]! - positionsA[3 * j + 2]!;
      const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
      if (r < best) [best, bi, bj] = [r, i, j];
    }
  }
  return n < 2 ? '' : `closest pair ${symbols[bi]}${bi + 1}-${symbols[bj]}${bj + 1} at ${best.toFixed(3)} Å`;
}

/** Format a geometry as an XYZ file with full double precision. */
function xyzText(symbols: readonly string[], positionsA: Float64Array): string {
  const lines = [String(symbols.length), 'atomgp xtb input'];
  for (let i = 0; i < symbols.length; i++) {
    lines.push(`${symbols[i]} ${positionsA[3 * i]!.toPrecision(17)} ${positionsA[3 * i + 1]!.toPrecision(17)} ${positionsA[3 * i + 2]!.toPrecision(17)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The lines of xtb's output worth showing when it fails: its `[ERROR]`/`-n-` error stack and SCF
 * warnings, else the tail.
 */
export function xtbOutputExcerpt(output: string, maxLines = 6): string {
  const lines = output.split('\n').map((l) => l.trim());
  const picked = lines.filter((l) => /^\[ERROR\]|^-\d+- |convergence criteria cannot be satisfied|abnormal termination|error/i.test(l) && !/^\s*$/.test(l));
  const chosen = picked.length > 0 ? picked : lines.filter((l) => l.length > 0).slice(-maxLines);
  return chosen.slice(0, maxLines).join(' | ');
}

/** Parse xtb's Turbomole-style `energy` file: `$energy`, then `cycle  E  …`. Returns Ha. */
export function parseXtbEnergyFile(text: string, file = 'energy'): number {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length >= 2 && /^\d+$/.test(f[0]!)) {
      const e = Number(f[1]);
      if (!Number.isFinite(e)) throw new AtomgpError(`${file}:${i + 1}: expected 'cycle energy …' with a number, got '${lines[i]!.trim()}'`);
      return e;
    }
  }
  throw new AtomgpError(`${file}: no energy line found after $energy`);
}

/**
 * Parse xtb's Turbomole-style `gradient` file: `$grad`, a `cycle =` line, N coordinate lines
 * (bohr + symbol), then N gradient lines (Ha/bohr, Fortran E format). Writes into `gradient`.
 */
export function parseXtbGradientFile(text: string, nAtoms: number, gradient: Float64Array, file = 'gradient'): void {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith('cycle'));
  if (start < 0) throw new AtomgpError(`${file}: no 'cycle =' line after $grad`);
  for (let i = 0; i < nAtoms; i++) {
    const lineNo = start + 1 + nAtoms + i;
    const f = (lines[lineNo] ?? '').trim().replace(/[dD]/g, 'E').split(/\s+/);
    const gx = Number(f[0]);
    const gy = Number(f[1]);
    const gz = Number(f[2]);
    if (f.length !== 3 || !Number.isFinite(gx) || !Number.isFinite(gy) || !Number.isFinite(gz)) {
      throw new AtomgpError(`${file}:${lineNo + 1}: expected three gradient components for atom ${i + 1}, got '${(lines[lineNo] ?? '').trim()}'`);
    }
    gradient[3 * i] = gx;
    gradient[3 * i + 1] = gy;
    gradient[3 * i + 2] = gz;
  }
}

/** GFN2-xTB energy and forces; call `dispose()` when done (frees libxtb objects / the temp folder). */
export class XtbPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  readonly spec: XtbSpec;
  readonly driver: 'library' | 'program';
  /** Calls to compute so far (failed ones included). */
  calls = 0;
  private readonly threads: number;
  private readonly options: typeof DEFAULTS;
  /** The geometry as xtb sees it: rotated (see ROTATION), Å and bohr; its gradient, Ha/bohr. */
  private readonly rotatedA: Float64Array;
  private readonly positionsBohr: Float64Array;
  private readonly gradient: Float64Array;
  private session: XtbSession | undefined;
  private workDir: string | undefined;
  private disposed = false;

  constructor(spec: XtbSpec) {
    this.spec = spec;
    const symbols = spec?.symbols;
    if (!Array.isArray(symbols) || symbols.length === 0) throw new AtomgpError('xtb potential: spec.symbols must be a non-empty list of element symbols');
    const numbers = new Int32Array(symbols.length);
    symbols.forEach((s, i) => {
      const el = findElement(s);
      if (!el) throw new AtomgpError(`xtb potential: unknown element '${s}' at atom ${i + 1}`);
      numbers[i] = el.z;
    });
    const o = { ...DEFAULTS, ...definedOnly(spec) };
    const intIn = (name: string, v: number, lo: number, hi: number) => {
      if (!Number.isInteger(v) || v < lo || v > hi) throw new AtomgpError(`xtb potential: ${name} must be an integer in ${lo}..${hi}, got ${v}`);
    };
    intIn('charge', o.charge, -50, 50);
    intIn('uhf (unpaired electrons)', o.uhf, 0, 50);
    intIn('threads', o.threads, 1, 256);
    intIn('maxIterations', o.maxIterations, 1, 100000);
    if (!(o.accuracy >= 1e-4 && o.accuracy <= 1e3)) throw new AtomgpError(`xtb potential: accuracy must be in 1e-4..1e3 (lower is tighter), got ${o.accuracy}`);
    if (!(o.electronicTemperatureK > 0 && o.electronicTemperatureK < 1e5)) throw new AtomgpError(`xtb potential: electronicTemperatureK must be positive (K), got ${o.electronicTemperatureK}`);
    if (!(o.timeoutS > 0)) throw new AtomgpError(`xtb potential: timeoutS must be positive, got ${o.timeoutS}`);
    let electrons = -o.charge;
    for (const z of numbers) electrons += z;
    if ((electrons - o.uhf) % 2 !== 0 || o.uhf > electrons) {
      throw new AtomgpError(`xtb potential: ${electrons} electrons (charge ${o.charge}) cannot have ${o.uhf} unpaired electrons (an odd electron count needs odd uhf, an even one even uhf); set uhf accordingly`);
    }
    this.nAtoms = symbols.length;
    this.symbols = [...symbols];
    this.threads = o.threads;
    this.rotatedA = new Float64Array(3 * this.nAtoms);
    this.positionsBohr = new Float64Array(3 * this.nAtoms);
    this.gradient = new Float64Array(3 * this.nAtoms);

    if (spec.driver !== undefined && spec.driver !== 'library' && spec.driver !== 'program') {
      throw new AtomgpError(`xtb potential: driver must be 'library' or 'program', got '${String(spec.driver)}'`);
    }
    const lib = spec.driver === 'program' ? undefined : loadXtbLibrary(o.threads);
    if (spec.driver === 'library' && !lib?.lib) throw new AtomgpError(`xtb potential: library driver unavailable: ${lib?.reason}`);
    if (lib?.lib) {
      this.driver = 'library';
      this.session = new XtbSession(lib.lib, { numbers, charge: o.charge, uhf: o.uhf, accuracy: o.accuracy, electronicTemperatureK: o.electronicTemperatureK, maxIterations: o.maxIterations });
    } else {
      const probe = probeProgram(programPath(spec));
      if (!probe.ok) {
        throw new AtomgpError(`xtb potential: no xtb driver available (${spec.driver === 'program' ? '' : `library: ${lib?.reason}; `}program: ${probe.reason})`);
      }
      this.driver = 'program';
      this.workDir = mkdtempSync(join(tmpdir(), 'atomgp-xtb-'));
      trackWorkDir(this.workDir);
    }
    const extras = [o.charge !== 0 ? `charge ${o.charge}` : '', o.uhf !== 0 ? `uhf ${o.uhf}` : ''].filter(Boolean).join(', ');
    this.description = `GFN2-xTB (${this.driver} driver${extras ? `, ${extras}` : ''}, ${this.nAtoms} atoms)`;
    this.options = o;
  }

  /** The temp folder of the program driver (undefined for the library driver or after dispose). */
  get workDirectory(): string | undefined {
    return this.workDir;
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    if (this.disposed) throw new AtomgpError('xtb potential: compute() called after dispose()');
    const n = this.nAtoms;
    if (positionsA.length !== 3 * n) throw new AtomgpError(`xtb potential: expected ${3 * n} coordinates for ${n} atoms, got ${positionsA.length}`);
    const call = ++this.calls;
    for (let i = 0; i < 3 * n; i++) {
      const x = positionsA[i]!;
      if (!Number.isFinite(x)) throw this.fail(call, positionsA, `coordinate ${i % 3 === 0 ? 'x' : i % 3 === 1 ? 'y' : 'z'} of atom ${Math.floor(i / 3) + 1} is ${x}`);
    }
    rotate(positionsA, this.rotatedA, 1);
    for (let i = 0; i < 3 * n; i++) this.positionsBohr[i] = this.rotatedA[i]! * BOHR_PER_ANGSTROM;
    const e = this.driver === 'library' ? this.computeLibrary(call, positionsA) : this.computeProgram(call, positionsA);
    if (!Number.isFinite(e)) throw this.fail(call, positionsA, `xtb returned a non-finite energy (${e})`);
    out.energyHa = e;
    out.atomicEnergiesHa.fill(e / n);
    if (withForces) {
      for (let i = 0; i < 3 * n; i++) {
        if (!Number.isFinite(this.gradient[i]!)) throw this.fail(call, positionsA, `xtb returned a non-finite gradient (atom ${Math.floor(i / 3) + 1})`);
      }
      rotateBack(this.gradient, out.forcesHaPerBohr, -1);
    }
  }

  private computeLibrary(call: number, positionsA: Float64Array): number {
    const s = this.session!;
    try {
      s.setThreads(this.threads);
      if (!s.started) s.start(this.positionsBohr);
      return s.singlepoint(this.positionsBohr, this.gradient);
    } catch (e) {
      if (!(e instanceof XtbLibraryError)) throw e;
      // A failed SCF leaves its last density as the next guess: start the next call afresh.
      try {
        if (s.started) s.newCalculator();
      } catch {
        // reported on the next call
      }
      throw this.fail(call, positionsA, `${e.step} failed: ${e.xtbMessage}${this.scfHint(e.xtbMessage)}`);
    }
  }

  private computeProgram(call: number, positionsA: Float64Array): number {
    const dir = this.workDir!;
    const o = this.options;
    // Stale outputs must never be read as this call's result.
    for (const f of ['energy', 'gradient', 'charges', 'wbo', 'xtbrestart', 'xtbtopo.mol', 'input.engrad', '.xtboptok']) {
      const p = join(dir, f);
      if (existsSync(p)) unlinkSync(p);
    }
    writeFileSync(join(dir, 'input.xyz'), xyzText(this.symbols, this.rotatedA));
    writeFileSync(join(dir, 'xcontrol'), `$scc\n   maxiterations=${o.maxIterations}\n$end\n`);
    const args = ['input.xyz', '--grad', '--norestart', '--chrg', String(o.charge), '--uhf', String(o.uhf), '--acc', String(o.accuracy), '--etemp', String(o.electronicTemperatureK), '--input', 'xcontrol'];
    const threads = String(this.threads);
    const r = spawnSync(programPath(this.spec), args, {
      cwd: dir,
      encoding: 'utf8',
      timeout: o.timeoutS * 1000,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    });
    const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code;
      const why = code === 'ETIMEDOUT' ? `xtb did not finish within ${o.timeoutS} s and was killed` : `cannot run xtb (${r.error.message})`;
      throw this.fail(call, positionsA, why);
    }
    if (r.status !== 0 || r.signal) {
      throw this.fail(call, positionsA, `xtb exited with ${r.signal ? `signal ${r.signal}` : `status ${r.status}`}: ${xtbOutputExcerpt(output)}${this.scfHint(output)}`);
    }
    try {
      const e = parseXtbEnergyFile(readFileSync(join(dir, 'energy'), 'utf8'), join(dir, 'energy'));
      parseXtbGradientFile(readFileSync(join(dir, 'gradient'), 'utf8'), this.nAtoms, this.gradient, join(dir, 'gradient'));
      return e;
    } catch (err) {
      const why = err instanceof AtomgpError ? err.message : `cannot read xtb's output files (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
      throw this.fail(call, positionsA, `${why}; xtb said: ${xtbOutputExcerpt(output)}`);
    }
  }

  private scfHint(xtbText: string): string {
    if (!/did not converge|cannot be satisfied/.test(xtbText)) return '';
    return ` (SCF limit ${this.options.maxIterations} iterations: check the geometry for broken or overlapping atoms, or raise maxIterations / electronicTemperatureK)`;
  }

  private fail(call: number, positionsA: Float64Array, why: string): XtbError {
    const where = closestPair(positionsA, this.symbols);
    return new XtbError(`GFN2-xTB (${this.driver} driver) failed at call ${call} (${this.nAtoms} atoms${where ? `, ${where}` : ''}): ${why}`, call, Float64Array.from(positionsA));
  }

  /** Free the libxtb objects or remove the temp folder. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session?.dispose();
    this.session = undefined;
    if (this.workDir) {
      rmSync(this.workDir, { recursive: true, force: true });
      liveWorkDirs.delete(this.workDir);
    }
    this.workDir = undefined;
  }
}

/** Temp folders of undisposed program-driver potentials, removed when the process exits. */
const liveWorkDirs = new Set<string>();
let exitHookInstalled = false;

function trackWorkDir(dir: string): void {
  liveWorkDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of liveWorkDirs) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * A fixed, generic rotation applied to every geometry before xtb sees it (gradients are rotated
 * back). libxtb/xtb 6.5.1 return a wrong gradient component (error ~2e-4 Ha/bohr, checked against
 * finite differences) when two atoms have that Cartesian component equal to within ~1e-8 bohr —
 * exactly what planar or symmetric input files have (every z = 0.0). The energy is rotation
 * invariant, so this changes nothing else; it makes such coincidences as unlikely as in MD.
 * Rows of R = Rz(a)·Ry(b)·Rx(c) with a, b, c = 0.5, 0.7, 1.1 rad.
 */
const ROTATION = ((a: number, b: number, c: number): Float64Array => {
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  return Float64Array.from([ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc, sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc, -sb, cb * sc, cb * cc]);
})(0.5, 0.7, 1.1);

/** out_i = R · v_i for each atom (R row-major). */
function rotate(v: Float64Array, out: Float64Array, scale: number): void {
  const r = ROTATION;
  for (let i = 0; i < v.length; i += 3) {
    const x = v[i]! * scale;
    const y = v[i + 1]! * scale;
    const z = v[i + 2]! * scale;
    out[i] = r[0]! * x + r[1]! * y + r[2]! * z;
    out[i + 1] = r[3]! * x + r[4]! * y + r[5]! * z;
    out[i + 2] = r[6]! * x + r[7]! * y + r[8]! * z;
  }
}

/** out_i = Rᵀ · v_i for each atom. */
function rotateBack(v: Float64Array, out: Float64Array, scale: number): void {
  const r = ROTATION;
  for (let i = 0; i < v.length; i += 3) {
    const x = v[i]!;
    const y = v[i + 1]!;
    const z = v[i + 2]!;
    out[i] = scale * (r[0]! * x + r[3]! * y + r[6]! * z);
    out[i + 1] = scale * (r[1]! * x + r[4]! * y + r[7]! * z);
    out[i + 2] = scale * (r[2]! * x + r[5]! * y + r[8]! * z);
  }
}

function definedOnly(spec: XtbSpec): Partial<typeof DEFAULTS> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) if (v !== undefined) out[k] = v;
  return out as Partial<typeof DEFAULTS>;
}
