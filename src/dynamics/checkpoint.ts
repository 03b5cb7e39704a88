/**
 * Checkpoints: the whole `MdState` plus a fingerprint of the run's settings, as JSON. Every
 * floating-point array (and every scalar double) is stored as base64 of its little-endian IEEE-754
 * bytes, so a restored state is bit-for-bit the saved one (NaN, −0 and all); integers are plain
 * JSON numbers. Written atomically (temporary file + rename), so a run killed while writing
 * leaves the previous checkpoint intact.
 */
import { readFileSync } from 'node:fs';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { MdState } from './state.js';

export const CHECKPOINT_FORMAT = 'atomgp-md-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Settings that must match for a resume to continue the same run (values compared as JSON). */
export type Fingerprint = Record<string, unknown>;

export function encodeFloat64(values: ArrayLike<number>): string {
  const a = Float64Array.from(values as ArrayLike<number>);
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function decodeFloat64(text: string, expectedLength?: number, what = 'array'): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 8 !== 0) throw new AtomgpError(`checkpoint: ${what} is not a whole number of doubles`);
  const out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new AtomgpError(`checkpoint: ${what} has ${out.length} values, expected ${expectedLength}`);
  }
  return out;
}

export interface CheckpointFile {
  format: string;
  version: number;
  fingerprint: Fingerprint;
  step: number;
  nAtoms: number;
  nDof: number;
  /** Human-readable copies (not used on restore). */
  timeFs: number;
  epotKcalPerMol: number;
  data: {
    massesAmu: string;
    positionsA: string;
    velocitiesAPerFs: string;
    forcesKcalPerMolPerA: string;
    atomicEnergiesKcalPerMol: string;
    thermostat: string;
    /** [epot, time, stats.samples, stats.sumT, stats.sumEpot, stats.conserved0, stats.maxDrift, stats.epot0, stats.guardedSteps, stats.guardUnresolvedSteps, stats.guardMaxLevel, stats.guardForceCalls] (checkpoints before the step guard: the first 8) */
    scalars: string;
    rngState: string;
  };
}

export function serializeCheckpoint(state: MdState, fingerprint: Fingerprint): string {
  return JSON.stringify(checkpointRecord(state, fingerprint), null, 1) + '\n';
}

/** The checkpoint as a JSON-ready object (other checkpoints, e.g. WTMetaD's, embed it). */
export function checkpointRecord(state: MdState, fingerprint: Fingerprint): CheckpointFile {
  const st = state.stats;
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    fingerprint,
    step: state.step,
    nAtoms: state.nAtoms,
    nDof: state.nDof,
    timeFs: state.timeFs,
    epotKcalPerMol: Number.isFinite(state.epotKcalPerMol) ? state.epotKcalPerMol : 0,
    data: {
      massesAmu: encodeFloat64(state.massesAmu),
      positionsA: encodeFloat64(state.positionsA),
      velocitiesAPerFs: encodeFloat64(state.velocitiesAPerFs),
      forcesKcalPerMolPerA: encodeFloat64(state.forcesKcalPerMolPerA),
      atomicEnergiesKcalPerMol: encodeFloat64(state.atomicEnergiesKcalPerMol),
      thermostat: encodeFloat64(state.thermostat),
      scalars: encodeFloat64([
        state.epotKcalPerMol,
        state.timeFs,
        st.samples,
        st.sumTemperatureK,
        st.sumEpotKcalPerMol,
        st.conserved0KcalPerMol,
        st.maxAbsDriftKcalPerMol,
        st.epot0KcalPerMol,
        st.guardedSteps,
        st.guardUnresolvedSteps,
        st.guardMaxLevel,
        st.guardForceCalls,
      ]),
      rngState: encodeFloat64(state.rngState),
    },
  };
}

export function writeCheckpoint(path: string, state: MdState, fingerprint: Fingerprint): void {
  writeFileAtomic(path, serializeCheckpoint(state, fingerprint));
}

export interface LoadedCheckpoint {
  state: MdState;
  fingerprint: Fingerprint;
}

export function parseCheckpoint(text: string, source: string): LoadedCheckpoint {
  let file: CheckpointFile;
  try {
    file = JSON.parse(text) as CheckpointFile;
  } catch (e) {
    throw new AtomgpError(`${source}: not a valid checkpoint (JSON: ${(e as Error).message})`);
  }
  return checkpointFromRecord(file, source);
}

/** The state and fingerprint of a parsed checkpoint object (`checkpointRecord`'s inverse). */
export function checkpointFromRecord(file: CheckpointFile, source: string): LoadedCheckpoint {
  if (file?.format !== CHECKPOINT_FORMAT) throw new AtomgpError(`${source}: not an atomgp MD checkpoint (format '${String(file?.format)}')`);
  if (file.version !== CHECKPOINT_VERSION) throw new AtomgpError(`${source}: checkpoint version ${file.version}, this atomgp reads ${CHECKPOINT_VERSION}`);
  const n = file.nAtoms;
  if (!(Number.isInteger(n) && n > 0) || !Number.isInteger(file.step) || file.step < 0) throw new AtomgpError(`${source}: bad atom count or step`);
  const d = file.data;
  const scalars = decodeFloat64(d.scalars, undefined, 'scalars');
  if (scalars.length !== 8 && scalars.length !== 12) throw new AtomgpError(`${source}: scalars holds ${scalars.length} values, expected 8 or 12`);
  const state: MdState = {
    nAtoms: n,
    massesAmu: decodeFloat64(d.massesAmu, n, 'masses'),
    positionsA: decodeFloat64(d.positionsA, 3 * n, 'positions'),
    velocitiesAPerFs: decodeFloat64(d.velocitiesAPerFs, 3 * n, 'velocities'),
    forcesKcalPerMolPerA: decodeFloat64(d.forcesKcalPerMolPerA, 3 * n, 'forces'),
    atomicEnergiesKcalPerMol: decodeFloat64(d.atomicEnergiesKcalPerMol, n, 'atomic energies'),
    epotKcalPerMol: scalars[0]!,
    step: file.step,
    timeFs: scalars[1]!,
    thermostat: decodeFloat64(d.thermostat, undefined, 'thermostat'),
    nDof: file.nDof,
    rngState: Array.from(decodeFloat64(d.rngState, undefined, 'RNG state')),
    stats: {
      samples: scalars[2]!,
      sumTemperatureK: scalars[3]!,
      sumEpotKcalPerMol: scalars[4]!,
      conserved0KcalPerMol: scalars[5]!,
      maxAbsDriftKcalPerMol: scalars[6]!,
      epot0KcalPerMol: scalars[7]!,
      guardedSteps: scalars[8] ?? 0,
      guardUnresolvedSteps: scalars[9] ?? 0,
      guardMaxLevel: scalars[10] ?? 0,
      guardForceCalls: scalars[11] ?? 0,
    },
  };
  return { state, fingerprint: file.fingerprint ?? {} };
}

export function readCheckpoint(path: string): LoadedCheckpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseCheckpoint(text, path);
}

/**
 * Compare a checkpoint's fingerprint with the current run's; throws an AtomgpError listing every
 * differing setting (so a resume can never silently continue a different run).
 */
export function checkFingerprint(saved: Fingerprint, current: Fingerprint, source: string): void {
  const diffs: string[] = [];
  compareFingerprints(saved, current, '', diffs);
  if (diffs.length > 0) {
    throw new AtomgpError(`${source} does not match this run's settings (${diffs.join('; ')}); resume with the original settings or start a new run with --overwrite`);
  }
}

/** The content digests (`inputs`) are compared entry by entry, so a message names the changed file. */
function compareFingerprints(saved: Fingerprint, current: Fingerprint, prefix: string, diffs: string[]): void {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  for (const k of [...keys].sort()) {
    const x = saved[k];
    const y = current[k];
    if (prefix === '' && k === 'inputs' && isRecord(x) && isRecord(y)) {
      compareFingerprints(x, y, 'contents of ', diffs);
      continue;
    }
    const a = JSON.stringify(x);
    const b = JSON.stringify(y);
    if (a !== b) diffs.push(prefix !== '' ? `${prefix}${k} changed (${x === undefined ? 'new' : y === undefined ? 'gone' : `sha256 ${String(x).slice(0, 12)}… → ${String(y).slice(0, 12)}…`})` : `${k}: checkpoint ${short(a)}, now ${short(b)}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(s: string | undefined, max = 80): string {
  if (s === undefined) return '(none)';
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
