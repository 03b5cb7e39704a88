/**
 * WTMetaD checkpoints on disk: the MD checkpoint (src/dynamics/checkpoint.ts: every double as
 * base64 of its IEEE-754 bytes), the hills and the frames harvested so far, with a fingerprint of
 * the settings and inputs of the run that wrote it. Written atomically, so a run killed while
 * writing leaves the previous checkpoint intact; a restored run continues bit for bit.
 */
import { readFileSync } from 'node:fs';
import { type CheckpointFile, checkpointFromRecord, checkpointRecord, decodeFloat64, encodeFloat64, type Fingerprint } from '../dynamics/checkpoint.js';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import type { HarvestedFrame, WtmetadCheckpoint } from './wtmetad.js';

export const WTMETAD_CHECKPOINT_FORMAT = 'atomgp-wtmetad-checkpoint';
const VERSION = 1;

interface WtmetadCheckpointFile {
  format: string;
  version: number;
  fingerprint: Fingerprint;
  /** Human-readable copies (not used on restore). */
  step: number;
  nFrames: number;
  nHills: number;
  md: CheckpointFile;
  hills: { centres: string; heightsKcalPerMol: string; steps: string };
  /** Per-frame arrays concatenated in frame order. */
  frames: { step: number[]; timeFs: string; positionsA: string; energyHa: string; forcesHaPerBohr: string; atomicEnergiesHa: string; cvValues: string; biasKcalPerMol: string };
}

export function writeWtmetadCheckpoint(path: string, cp: WtmetadCheckpoint, fingerprint: Fingerprint): void {
  const f = cp.frames;
  const cat = (pick: (fr: HarvestedFrame) => Float64Array): string => {
    const n = f.reduce((s, fr) => s + pick(fr).length, 0);
    const out = new Float64Array(n);
    let at = 0;
    for (const fr of f) {
      out.set(pick(fr), at);
      at += pick(fr).length;
    }
    return encodeFloat64(out);
  };
  const file: WtmetadCheckpointFile = {
    format: WTMETAD_CHECKPOINT_FORMAT,
    version: VERSION,
    fingerprint,
    step: cp.state.step,
    nFrames: f.length,
    nHills: cp.hills.heightsKcalPerMol.length,
    md: checkpointRecord(cp.state, {}),
    hills: { centres: encodeFloat64(cp.hills.centres), heightsKcalPerMol: encodeFloat64(cp.hills.heightsKcalPerMol), steps: encodeFloat64(cp.hills.steps) },
    frames: {
      step: f.map((fr) => fr.step),
      timeFs: encodeFloat64(f.map((fr) => fr.timeFs)),
      positionsA: cat((fr) => fr.positionsA),
      energyHa: encodeFloat64(f.map((fr) => fr.energyHa)),
      forcesHaPerBohr: cat((fr) => fr.forcesHaPerBohr),
      atomicEnergiesHa: cat((fr) => fr.atomicEnergiesHa),
      cvValues: cat((fr) => fr.cvValues),
      biasKcalPerMol: encodeFloat64(f.map((fr) => fr.biasKcalPerMol)),
    },
  };
  writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

export function readWtmetadCheckpoint(path: string): { checkpoint: WtmetadCheckpoint; fingerprint: Fingerprint } {
  let file: WtmetadCheckpointFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as WtmetadCheckpointFile;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AtomgpError(code ? `cannot read ${path} (${code})` : `${path}: not a WTMetaD checkpoint (JSON: ${(e as Error).message.split('\n')[0]}); remove it to restart the sampling`);
  }
  if (file?.format !== WTMETAD_CHECKPOINT_FORMAT || file.version !== VERSION || !file.md || !file.hills || !file.frames || !Array.isArray(file.frames.step)) {
    throw new AtomgpError(`${path}: not a version-${VERSION} WTMetaD checkpoint; remove it to restart the sampling`);
  }
  const { state } = checkpointFromRecord(file.md, path);
  const n = state.nAtoms;
  const heights = decodeFloat64(file.hills.heightsKcalPerMol, undefined, 'hill heights');
  const hills = { centres: decodeFloat64(file.hills.centres, undefined, 'hill centres'), heightsKcalPerMol: heights, steps: decodeFloat64(file.hills.steps, heights.length, 'hill steps') };
  const fr = file.frames;
  const m = fr.step.length;
  const times = decodeFloat64(fr.timeFs, m, 'frame times');
  const energies = decodeFloat64(fr.energyHa, m, 'frame energies');
  const biases = decodeFloat64(fr.biasKcalPerMol, m, 'frame biases');
  const positions = decodeFloat64(fr.positionsA, 3 * n * m, 'frame positions');
  const forces = decodeFloat64(fr.forcesHaPerBohr, 3 * n * m, 'frame forces');
  const atomic = decodeFloat64(fr.atomicEnergiesHa, n * m, 'frame atomic energies');
  const cvAll = decodeFloat64(fr.cvValues, undefined, 'frame CV values');
  if (m > 0 && cvAll.length % m !== 0) throw new AtomgpError(`${path}: frame CV values do not divide into ${m} frames`);
  const nCv = m > 0 ? cvAll.length / m : 0;
  const frames: HarvestedFrame[] = fr.step.map((step, k) => ({
    step,
    timeFs: times[k]!,
    positionsA: positions.slice(3 * n * k, 3 * n * (k + 1)),
    energyHa: energies[k]!,
    forcesHaPerBohr: forces.slice(3 * n * k, 3 * n * (k + 1)),
    atomicEnergiesHa: atomic.slice(n * k, n * (k + 1)),
    cvValues: cvAll.slice(nCv * k, nCv * (k + 1)),
    biasKcalPerMol: biases[k]!,
  }));
  return { checkpoint: { state, hills, frames }, fingerprint: file.fingerprint ?? {} };
}
