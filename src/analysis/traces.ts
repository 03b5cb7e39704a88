/**
 * Time series from an MD output folder (as written by src/dynamics/reporters.ts):
 * - log.csv, read by its header, so columns added later are picked up without code changes;
 *   values may be nan/inf (a crashed run writes them);
 * - trajectory.extxyz frames: bond lengths, angles and dihedrals per frame, with the frame times
 *   from the `time_fs` key.
 * A run killed mid-record leaves a partial last line or frame; it is dropped and reported in
 * `truncated` rather than failing the whole analysis.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomgpError, fileError } from '../errors.js';
import { angleRad, distanceA } from '../chem/molecule.js';
import { type Frame, parseXyz } from '../io/xyz.js';
import { parseReal } from '../util/numbers.js';
import { dihedralSeries, type Quadruple } from './dihedrals.js';

export interface MdLog {
  file: string;
  header: string[];
  /** One array per header column. */
  columns: Record<string, Float64Array>;
  nRows: number;
  /** Set when a partial last record was dropped. */
  truncated?: string;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

function parseLogValue(token: string): number | undefined {
  const t = token.trim().toLowerCase();
  if (t === 'nan') return Number.NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return parseReal(token.trim());
}

/** Parse the text of a log.csv (header row, then one numeric record per line). */
export function parseMdLog(text: string, file: string): MdLog {
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  if (lines.length === 0) throw fileError(file, undefined, 'empty log (expected a header line such as step,time_fs,...)');
  const header = lines[0]!.replace(/\r$/, '').split(',').map((h) => h.trim());
  if (header.some((h) => h === '') || new Set(header).size !== header.length) {
    throw fileError(file, 1, `bad header '${lines[0]}': expected distinct, non-empty column names separated by commas`);
  }
  const rows: number[][] = [];
  let truncated: string | undefined;
  for (let l = 1; l < lines.length; l++) {
    const raw = lines[l]!.replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const tokens = raw.split(',');
    const values = tokens.map(parseLogValue);
    const last = l === lines.length - 1;
    if (tokens.length !== header.length || values.some((v) => v === undefined)) {
      // A record cut short by a kill can only be the last line, without its newline.
      if (last && !endsWithNewline) {
        truncated = `${file}:${l + 1}: partial last record dropped`;
        break;
      }
      if (tokens.length !== header.length) throw fileError(file, l + 1, `expected ${header.length} values (${header.join(',')}), found ${tokens.length}`);
      const bad = values.indexOf(undefined);
      throw fileError(file, l + 1, `column '${header[bad]}' must be a number (or nan/inf), got '${tokens[bad]}'`);
    }
    rows.push(values as number[]);
  }
  const columns: Record<string, Float64Array> = {};
  header.forEach((h, c) => {
    const col = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) col[r] = rows[r]![c]!;
    columns[h] = col;
  });
  const log: MdLog = { file, header, columns, nRows: rows.length };
  if (truncated) log.truncated = truncated;
  return log;
}

/** Read an MD log.csv. */
export function readMdLog(path: string): MdLog {
  return parseMdLog(readText(path), path);
}

/** A column of a log by name; a missing column names the ones present. */
export function logColumn(log: MdLog, name: string): Float64Array {
  const c = log.columns[name];
  if (!c) throw new AtomgpError(`${log.file}: no column '${name}' (columns: ${log.header.join(', ')})`);
  return c;
}

export interface Series {
  timesFs: Float64Array;
  values: Float64Array;
}

/** Temperature (K) against time (fs) from a log. */
export function temperatureSeries(log: MdLog): Series {
  return { timesFs: logColumn(log, 'time_fs'), values: logColumn(log, 'temperature_K') };
}

/** Energies (kcal/mol) against time (fs): potential, kinetic, conserved and drift where present. */
export function energySeries(log: MdLog): { timesFs: Float64Array; epot: Float64Array; ekin?: Float64Array; conserved?: Float64Array; drift?: Float64Array } {
  const out: { timesFs: Float64Array; epot: Float64Array; ekin?: Float64Array; conserved?: Float64Array; drift?: Float64Array } = {
    timesFs: logColumn(log, 'time_fs'),
    epot: logColumn(log, 'epot_kcal_per_mol'),
  };
  const ekin = log.columns['ekin_kcal_per_mol'];
  const conserved = log.columns['conserved_kcal_per_mol'];
  const drift = log.columns['drift_kcal_per_mol'];
  if (ekin) out.ekin = ekin;
  if (conserved) out.conserved = conserved;
  if (drift) out.drift = drift;
  return out;
}

export interface Trajectory {
  file: string;
  symbols: string[];
  frames: Frame[];
  /** Per-frame `time_fs` (NaN when a frame lacks it), `step` and `energy` (kcal/mol) info keys. */
  timesFs: Float64Array;
  steps: Float64Array;
  energiesKcalPerMol: Float64Array;
  /** Set when reading stopped at a frame that could not be read (cut short or with non-finite numbers). */
  truncated?: string;
}

function infoNumber(frame: Frame, key: string): number {
  const v = frame.info[key];
  return typeof v === 'number' ? v : Number.NaN;
}

/**
 * Parse an MD trajectory (extended XYZ). Frames are read one by one; the first frame that cannot
 * be read (a frame cut short by a kill, or nan/inf numbers from a crashed run) ends the trajectory
 * and is described in `truncated`. A first frame that cannot be read is an error.
 */
export function parseTrajectory(text: string, file: string): Trajectory {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const frames: Frame[] = [];
  let truncated: string | undefined;
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.trim() === '') {
      i++;
      continue;
    }
    const natoms = Number(lines[i]!.trim());
    const end = Number.isInteger(natoms) && natoms >= 0 ? i + 2 + natoms : lines.length;
    try {
      if (end > lines.length) throw fileError(file, i + 1, `frame ${frames.length + 1} declares ${natoms} atoms but the file ends first`);
      const chunk = lines.slice(i, end).join('\n');
      let frame: Frame | undefined;
      try {
        [frame] = parseXyz(chunk, file);
      } catch {
        // Parse again behind blank lines (which the reader skips) so the message has the file's line numbers.
        [frame] = parseXyz('\n'.repeat(i) + chunk, file);
      }
      if (frames.length > 0 && frame!.symbols.join(' ') !== frames[0]!.symbols.join(' ')) {
        throw fileError(file, i + 1, `frame ${frames.length + 1} has different atoms from frame 1`);
      }
      frames.push(frame!);
    } catch (e) {
      if (!(e instanceof AtomgpError) || frames.length === 0) throw e;
      truncated = `reading stopped at frame ${frames.length + 1}: ${e.message}`;
      break;
    }
    i = end;
  }
  if (frames.length === 0) throw fileError(file, undefined, 'no frame found (empty trajectory?)');
  const traj: Trajectory = {
    file,
    symbols: frames[0]!.symbols,
    frames,
    timesFs: Float64Array.from(frames, (f) => infoNumber(f, 'time_fs')),
    steps: Float64Array.from(frames, (f) => infoNumber(f, 'step')),
    energiesKcalPerMol: Float64Array.from(frames, (f) => infoNumber(f, 'energy')),
  };
  if (truncated) traj.truncated = truncated;
  return traj;
}

/** Read an MD trajectory.extxyz (see `parseTrajectory`). */
export function readTrajectory(path: string): Trajectory {
  return parseTrajectory(readText(path), path);
}

/** The log and trajectory of an MD output folder (each undefined when its file is absent). */
export function readMdFolder(dir: string): { log?: MdLog; trajectory?: Trajectory } {
  const out: { log?: MdLog; trajectory?: Trajectory } = {};
  const logPath = join(dir, 'log.csv');
  const trajPath = join(dir, 'trajectory.extxyz');
  if (!existsSync(logPath) && !existsSync(trajPath)) throw new AtomgpError(`${dir}: neither log.csv nor trajectory.extxyz found (is this an MD output folder?)`);
  if (existsSync(logPath)) out.log = readMdLog(logPath);
  if (existsSync(trajPath)) out.trajectory = readTrajectory(trajPath);
  return out;
}

function checkAtoms(n: number, what: string, ...idx: number[]): void {
  for (const a of idx) {
    if (!Number.isInteger(a) || a < 0 || a >= n) throw new AtomgpError(`${what}: atom ${a + 1} is outside 1..${n}`);
  }
}

/** Distance i-j (0-based, Å) in every frame. */
export function bondLengthTrace(frames: readonly { positionsA: Float64Array }[], i: number, j: number): Float64Array {
  const out = new Float64Array(frames.length);
  frames.forEach((f, k) => {
    checkAtoms(f.positionsA.length / 3, `bond ${i + 1}-${j + 1}`, i, j);
    out[k] = distanceA(f.positionsA, i, j);
  });
  return out;
}

/** Angle i-j-k (0-based, radians) in every frame. */
export function angleTrace(frames: readonly { positionsA: Float64Array }[], i: number, j: number, k: number): Float64Array {
  const out = new Float64Array(frames.length);
  frames.forEach((f, m) => {
    checkAtoms(f.positionsA.length / 3, `angle ${i + 1}-${j + 1}-${k + 1}`, i, j, k);
    out[m] = angleRad(f.positionsA, i, j, k);
  });
  return out;
}

/** Dihedral (0-based quadruple, radians) in every frame. */
export function dihedralTrace(frames: readonly { positionsA: Float64Array }[], q: Quadruple): Float64Array {
  return dihedralSeries(frames, q);
}
