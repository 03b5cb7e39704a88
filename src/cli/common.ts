/**
 * Pieces shared by CLI commands: loading a model set with its consistency report, reading
 * geometry files of any supported format, small argument parsers.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Bond, unwrapCopies, unwrapMolecules } from '../chem/connectivity.js';
import { AtomgpError } from '../errors.js';
import type { PeriodicPrefactor } from '../gp/model/model.js';
import { parseRepulsion, type RepulsionKind } from '../gp/model/repulsion.js';
import { readConfig } from '../io/dlpoly.js';
import { readModelSetTerms } from '../io/modelset.js';
import { readXyz, validateGeometry } from '../io/xyz.js';
import { matchMoleculeCopies, moleculeCopies } from '../potentials/gp.js';
import { parseInteger, parseReal } from '../util/numbers.js';

/** Largest magnitude any numeric flag accepts (larger is a typo or an attack, never a setting). */
export const MAX_FLAG_MAGNITUDE = 1e15;

function clipValue(v: string): string {
  return v.length > 40 ? `${v.slice(0, 37)}...` : v;
}

/**
 * A numeric flag, parsed strictly: a decimal (or Fortran) number only, so `0x10`, `Infinity`,
 * `1e400` and an empty string are errors rather than 16, ∞ or 0. `fallback` when absent.
 * `expected` words the error (default 'expects a number').
 */
export function flagNumber(name: string, v: string | undefined, fallback: number, range: { min?: number; max?: number; expected?: string } = {}): number {
  if (v === undefined) return fallback;
  const x = parseReal(v.trim());
  const bounds = range.min !== undefined && range.max !== undefined ? ` from ${range.min} to ${range.max}` : range.min !== undefined ? ` ≥ ${range.min}` : range.max !== undefined ? ` ≤ ${range.max}` : '';
  const expected = range.expected ?? `expects a number${bounds} (decimal notation)`;
  if (x === undefined || Math.abs(x) > MAX_FLAG_MAGNITUDE || (range.min !== undefined && x < range.min) || (range.max !== undefined && x > range.max)) {
    throw new AtomgpError(`--${name} ${expected}, got '${clipValue(v)}'`);
  }
  return x;
}

/** An integer flag (decimal digits only) from `min` (default 0) to `max`. `fallback` when absent. */
/** A frame count flag: an integer ≥ 1, or `all` (stored as 0: every frame); unset: `fallback`. */
export function flagFrames(name: string, v: string | undefined, fallback = 0): number {
  if (v?.trim() === 'all') return 0;
  return flagInteger(name, v, fallback, 1, Number.MAX_SAFE_INTEGER, 'expects an integer ≥ 1 or "all"');
}

export function flagInteger(name: string, v: string | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER, expected?: string): number {
  if (v === undefined) return fallback;
  const x = parseInteger(v.trim());
  if (x === undefined || x < min || x > max) {
    const bounds = min <= Number.MIN_SAFE_INTEGER ? '' : max === Number.MAX_SAFE_INTEGER ? ` ≥ ${min}` : ` from ${min} to ${max}`;
    throw new AtomgpError(`--${name} ${expected ?? `expects an integer${bounds}`}, got '${clipValue(v)}'`);
  }
  return x;
}

/**
 * SHA-256 of the contents of every file a potential spec reads (the .model files of a GP model
 * folder, by file name), for run fingerprints: a resume must refuse a model that changed in place.
 * Undefined for specs that read no files (their whole content is the spec itself).
 */
export function potentialInputDigests(spec: { kind?: string; dir?: string; inner?: unknown }): Record<string, string> | undefined {
  if (spec.kind === 'broken' && spec.inner) return potentialInputDigests(spec.inner as typeof spec);
  if (spec.kind !== 'gp-models' || spec.dir === undefined) return undefined;
  let names: string[];
  try {
    names = readdirSync(spec.dir).filter((n) => n.endsWith('.model')).sort();
  } catch {
    return undefined; // the loader reports the missing folder
  }
  const out: Record<string, string> = {};
  for (const n of names) out[n] = createHash('sha256').update(readFileSync(join(spec.dir, n))).digest('hex');
  return out;
}

/** `--periodic-convention 2|4` → prefactor, undefined when absent. */
export function parsePeriodicConvention(value: string | undefined): PeriodicPrefactor | undefined {
  if (value === undefined) return undefined;
  if (value === '2' || value === '4') return Number(value) as PeriodicPrefactor;
  throw new AtomgpError(
    `--periodic-convention must be 2 (GPyTorch: exp(−2θ sin²(d/2))) or 4 (DL_FFLUX/ichor: exp(−4θ sin²(d/2))), got '${value}'`,
  );
}

/**
 * `--repulsion none|zbl` for a model folder: the flag when given, else what the folder's
 * `potential.json` records (the pipeline writes it beside the models it trained), else none.
 */
export function flagRepulsion(flag: string | undefined, modelsPath: string): RepulsionKind {
  return flag === undefined ? readModelSetTerms(modelsPath).repulsion : parseRepulsion(flag, '--repulsion');
}

/** The model set behind `--models DIR` (the library's loader: folder checks, load-time consistency check). */
export { type LoadModelSetOptions as LoadOptions, loadModelSet } from '../io/modelset.js';

export interface GeometryFrame {
  symbols: string[];
  positionsA: Float64Array;
  /** Cell vectors as rows, Å, when the frame is periodic. */
  cellA?: Float64Array;
}

/** Frames of an XYZ/extxyz file or a DL_POLY CONFIG, validated (finite, no coincident atoms). */
export function readGeometryFrames(file: string, format?: string): GeometryFrame[] {
  if (!existsSync(file)) throw new AtomgpError(`geometry file '${file}' does not exist`);
  const name = basename(file).toUpperCase();
  const fmt = format ?? (name.startsWith('CONFIG') || name.startsWith('REVCON') || name.endsWith('.CONFIG') ? 'config' : 'xyz');
  let frames: GeometryFrame[];
  if (fmt === 'config') {
    const c = readConfig(file);
    frames = [{ symbols: c.symbols, positionsA: c.positionsA, ...(c.cellA && c.imcon > 0 ? { cellA: c.cellA } : {}) }];
  } else if (fmt === 'xyz' || fmt === 'extxyz') {
    frames = readXyz(file).map((f) => {
      const periodic = f.lattice !== undefined && (f.pbc === undefined || f.pbc.some((b) => b));
      return { symbols: f.symbols, positionsA: f.positionsA, ...(periodic ? { cellA: f.lattice! } : {}) };
    });
  } else {
    throw new AtomgpError(`unknown --format '${fmt}' (expected xyz or config)`);
  }
  if (frames.length === 0) throw new AtomgpError(`${file}: no frames`);
  for (const [i, f] of frames.entries()) validateGeometry(f.symbols, f.positionsA, frames.length > 1 ? `${file} frame ${i}` : file);
  return frames;
}

/** How `predict` maps a file's atoms to copies of the models' molecule (`--match`). */
export type MatchMode = 'auto' | 'order' | 'bonds';

/** `--match auto|order|bonds`. */
export function parseMatchMode(value: string | undefined): MatchMode {
  if (value === undefined || value === 'auto' || value === 'order' || value === 'bonds') return value ?? 'auto';
  throw new AtomgpError(`--match must be auto, order or bonds, got '${value}'`);
}

export interface AssignedMolecules {
  nMolecules: number;
  /** Slot m·n + i (atom i of molecule m) → atom index in the file. */
  atomOrder: Int32Array;
  /** The frame's positions with every molecule whole (minimum image) when periodic, Å. */
  positionsA: Float64Array;
}

/**
 * Map a frame's atoms to copies of the models' molecule. 'order': molecule by molecule in the
 * models' atom order (as DL_FFLUX expects). 'bonds': bonded fragments matched to the molecule's
 * bond graph (matchMoleculeCopies). 'auto': order when the elements follow the pattern, else bonds;
 * when both fail, the error states both reasons.
 */
export function assignMolecules(
  moleculeSymbols: readonly string[],
  moleculeBonds: readonly Bond[],
  frame: GeometryFrame,
  mode: MatchMode,
  source: string,
): AssignedMolecules {
  const n = moleculeSymbols.length;
  let orderError: AtomgpError | undefined;
  if (mode !== 'bonds') {
    try {
      const copies = moleculeCopies(moleculeSymbols, frame.symbols, source);
      return {
        nMolecules: copies,
        atomOrder: Int32Array.from({ length: copies * n }, (_, i) => i),
        positionsA: frame.cellA ? unwrapCopies(frame.positionsA, frame.cellA, n) : frame.positionsA,
      };
    } catch (e) {
      if (mode === 'order' || !(e instanceof AtomgpError)) throw e;
      orderError = e;
    }
  }
  try {
    const m = matchMoleculeCopies(moleculeSymbols, moleculeBonds, frame.symbols, frame.positionsA, {
      ...(frame.cellA ? { cellA: frame.cellA } : {}),
      source,
    });
    return {
      nMolecules: m.nMolecules,
      atomOrder: m.atomOrder,
      positionsA: frame.cellA ? unwrapMolecules(frame.positionsA, frame.cellA, { bonds: m.bonds }) : frame.positionsA,
    };
  } catch (e) {
    if (orderError && e instanceof AtomgpError) {
      const why = e.message.startsWith(`${source}: `) ? e.message.slice(source.length + 2) : e.message;
      throw new AtomgpError(`${orderError.message}; matching bonded fragments instead: ${why}`);
    }
    throw e;
  }
}


/**
 * Stage log lines and an updating progress bar on stderr (a bar line every 15 s when stderr is not
 * a terminal); `quiet` silences both. Stdout stays free for results (--json).
 */
export function stderrProgress(quiet: boolean | undefined): { log: (line: string) => void; progress: (stage: string, fraction: number, text: string) => void } {
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  let barShown = false;
  const t0 = performance.now();
  const clock = (): string => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
  const log = (line: string): void => {
    if (quiet) return;
    if (barShown && tty) process.stderr.write('\r\x1b[K');
    barShown = false;
    process.stderr.write(`[${clock()}] ${line}\n`);
  };
  const progress = (stage: string, fraction: number, text: string): void => {
    if (quiet) return;
    const now = performance.now();
    if (now - lastPrint < (tty ? 200 : 15_000)) return;
    lastPrint = now;
    const width = 24;
    const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
    if (tty) {
      process.stderr.write(`\r\x1b[K[${clock()}] ${stage} ${bar} ${text}`);
      barShown = true;
    } else process.stderr.write(`[${clock()}] ${stage} ${bar} ${text}\n`);
  };
  return { log, progress };
}
