/**
 * Training data out of a sampling run, in the formats users and the FFLUX tools read:
 *
 * (a) extended XYZ with reference labels per frame (src/io/xyz.ts): `energy` in Ha with
 *     `energy_unit=Ha`, per-atom `forces` in Ha/bohr with `forces_unit=Ha/bohr`, per-atom
 *     `atomic_energies` in Ha with `atomic_energies_unit=Ha`, plus `step`, `time_fs`,
 *     `bias_kcal_per_mol` and `cv` (CV values, rad or Å) when known; and the reader back.
 * (b) ichor / FEREBUS CSV training sets per atom, `{SYSTEM}_{ATOM}_TRAINING_SET.csv` and
 *     `_VALIDATION_SET.csv`: header `,f1,...,fK,iqa`, an unnamed index column, ALF features
 *     (bohr, radians; src/features/alf.ts) and the frame's atomic energy (Ha) as `iqa`.
 * (c) Gaussian inputs (`.gjf`, one per frame) for the IQA route Gaussian → AIMAll:
 *     `#p B3LYP/6-31+G(d,p) nosymm output=wfn`, coordinates in Å, the `.wfn` name after the
 *     geometry.
 * Every file is written atomically (src/io/atomic-write.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findElement } from '../chem/elements.js';
import { AtomgpError } from '../errors.js';
import { featureCount } from '../features/alf.js';
import { featureRows, featurizeFrames } from '../features/frames.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { formatNumber } from '../util/numbers.js';
import { type Frame, type InfoValue, parseXyz, writeXyz } from '../io/xyz.js';

/** A geometry with whatever reference labels it has (a `HarvestedFrame` is one). */
export interface LabelledFrame {
  positionsA: Float64Array;
  /** Reference energy, Ha. */
  energyHa?: number;
  /** Reference forces, Ha/bohr, length 3N. */
  forcesHaPerBohr?: Float64Array;
  /** Reference atomic energies, Ha, length N. */
  atomicEnergiesHa?: Float64Array;
  /** CV values (rad or Å). */
  cvValues?: Float64Array;
  /** Metadynamics bias at the frame, kcal/mol. */
  biasKcalPerMol?: number;
  step?: number;
  timeFs?: number;
}

/** Convert labelled frames to xyz.ts `Frame`s (the per-frame `info` gets `extraInfo` too). */
export function labelledFramesToXyz(symbols: readonly string[], frames: readonly LabelledFrame[], extraInfo: Record<string, InfoValue> = {}): Frame[] {
  const n = symbols.length;
  return frames.map((f, k) => {
    const where = `frame ${k + 1}`;
    if (f.positionsA.length !== 3 * n) throw new AtomgpError(`${where}: ${f.positionsA.length} coordinates for ${n} atoms`);
    const info: Record<string, InfoValue> = { ...extraInfo };
    const arrays: Frame['arrays'] = {};
    if (f.energyHa !== undefined) {
      info.energy = f.energyHa;
      info.energy_unit = 'Ha';
    }
    if (f.forcesHaPerBohr) {
      if (f.forcesHaPerBohr.length !== 3 * n) throw new AtomgpError(`${where}: ${f.forcesHaPerBohr.length} force components for ${n} atoms`);
      arrays.forces = f.forcesHaPerBohr;
      info.forces_unit = 'Ha/bohr';
    }
    if (f.atomicEnergiesHa) {
      if (f.atomicEnergiesHa.length !== n) throw new AtomgpError(`${where}: ${f.atomicEnergiesHa.length} atomic energies for ${n} atoms`);
      arrays.atomic_energies = f.atomicEnergiesHa;
      info.atomic_energies_unit = 'Ha';
    }
    if (f.step !== undefined) info.step = f.step;
    if (f.timeFs !== undefined) info.time_fs = f.timeFs;
    if (f.biasKcalPerMol !== undefined) info.bias_kcal_per_mol = f.biasKcalPerMol;
    if (f.cvValues && f.cvValues.length > 0) info.cv = f.cvValues.length === 1 ? f.cvValues[0]! : Array.from(f.cvValues);
    return { symbols: [...symbols], positionsA: f.positionsA, info, arrays, comment: '' };
  });
}

/** Write labelled frames as one multi-frame extxyz file (atomically; numbers round-trip exactly). */
export function writeLabelledExtxyz(path: string, symbols: readonly string[], frames: readonly LabelledFrame[], extraInfo: Record<string, InfoValue> = {}): void {
  writeXyz(path, labelledFramesToXyz(symbols, frames, extraInfo));
}

function unitCheck(info: Record<string, InfoValue>, key: string, expected: string, source: string, k: number): void {
  const unit = info[key];
  if (unit !== expected) {
    throw new AtomgpError(
      `${source}: frame ${k + 1} has ${key === 'energy_unit' ? 'an energy' : key === 'forces_unit' ? 'forces' : 'atomic energies'} ` +
        `but ${unit === undefined ? `no ${key} key` : `${key}=${String(unit)}`}; atomgp reads labels in ${expected} (${key}=${expected})`,
    );
  }
}

/** Labelled frames from extxyz text (as written by `writeLabelledExtxyz`); all frames must share the atoms. */
export function parseLabelledExtxyz(text: string, source: string): { symbols: string[]; frames: LabelledFrame[] } {
  const xyz = parseXyz(text, source);
  const symbols = xyz[0]!.symbols;
  const frames = xyz.map((f, k): LabelledFrame => {
    if (f.symbols.length !== symbols.length || f.symbols.some((s, i) => s !== symbols[i])) {
      throw new AtomgpError(`${source}: frame ${k + 1} has atoms ${f.symbols.join(' ')}, frame 1 has ${symbols.join(' ')} (one molecule per file)`);
    }
    const out: LabelledFrame = { positionsA: f.positionsA };
    const e = f.info.energy;
    if (e !== undefined) {
      if (typeof e !== 'number') throw new AtomgpError(`${source}: frame ${k + 1}: energy must be a number, got '${String(e)}'`);
      unitCheck(f.info, 'energy_unit', 'Ha', source, k);
      out.energyHa = e;
    }
    const forces = f.arrays.forces;
    if (forces !== undefined) {
      if (!(forces instanceof Float64Array) || forces.length !== 3 * symbols.length) {
        throw new AtomgpError(`${source}: frame ${k + 1}: forces must be 3 real columns (forces:R:3)`);
      }
      unitCheck(f.info, 'forces_unit', 'Ha/bohr', source, k);
      out.forcesHaPerBohr = forces;
    }
    const ae = f.arrays.atomic_energies;
    if (ae !== undefined) {
      if (!(ae instanceof Float64Array) || ae.length !== symbols.length) {
        throw new AtomgpError(`${source}: frame ${k + 1}: atomic_energies must be 1 real column (atomic_energies:R:1)`);
      }
      if (f.info.atomic_energies_unit !== undefined) unitCheck(f.info, 'atomic_energies_unit', 'Ha', source, k);
      out.atomicEnergiesHa = ae;
    }
    const num = (key: string): number | undefined => (typeof f.info[key] === 'number' ? (f.info[key] as number) : undefined);
    const step = num('step');
    if (step !== undefined) out.step = step;
    const t = num('time_fs');
    if (t !== undefined) out.timeFs = t;
    const b = num('bias_kcal_per_mol');
    if (b !== undefined) out.biasKcalPerMol = b;
    const cv = f.info.cv;
    if (typeof cv === 'number') out.cvValues = Float64Array.of(cv);
    else if (Array.isArray(cv) && cv.every((x) => typeof x === 'number')) out.cvValues = Float64Array.from(cv as number[]);
    return out;
  });
  return { symbols, frames };
}

/** Read labelled frames from an extxyz file. */
export function readLabelledExtxyz(path: string): { symbols: string[]; frames: LabelledFrame[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AtomgpError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseLabelledExtxyz(text, path);
}

/** ichor-style atom names: symbol + 1-based index (O1, H2, H3). */
export function atomNames(symbols: readonly string[]): string[] {
  return symbols.map((s, i) => `${s}${i + 1}`);
}

/** Check per-atom ALFs given 1-based as in model files (`ALF 2 1 3`); returns them 0-based. */
export function checkAlfs(symbols: readonly string[], alfs1: readonly (readonly number[])[]): number[][] {
  const n = symbols.length;
  if (n < 2) throw new AtomgpError(`ALF features need at least 2 atoms, got ${n}`);
  if (alfs1.length !== n) throw new AtomgpError(`${alfs1.length} ALFs for ${n} atoms: give one ALF (1-based triple) per atom`);
  const need = n === 2 ? 2 : 3;
  const names = atomNames(symbols);
  return alfs1.map((alf, a) => {
    if (alf.length !== need) throw new AtomgpError(`ALF of ${names[a]}: expected ${need} atom numbers (1-based), got ${alf.length}`);
    for (const k of alf) {
      if (!Number.isInteger(k) || k < 1 || k > n) throw new AtomgpError(`ALF of ${names[a]}: atom ${k} is outside 1..${n} (ALF atoms are 1-based)`);
    }
    if (alf[0] !== a + 1) throw new AtomgpError(`ALF of ${names[a]}: must start with the atom itself (${a + 1}), got ${alf.join(' ')}`);
    if (new Set(alf).size !== need) throw new AtomgpError(`ALF of ${names[a]}: atoms must be distinct, got ${alf.join(' ')}`);
    return alf.map((k) => k - 1);
  });
}

/** Format an ichor/FEREBUS CSV: header `,f1,...,fK,iqa`, rows `index,features…,target` (exact numbers). */
export function formatPropertyCsv(features: readonly Float64Array[], targets: ArrayLike<number>, property = 'iqa'): string {
  if (features.length !== targets.length) throw new AtomgpError(`${features.length} feature rows for ${targets.length} targets`);
  const k = features[0]?.length ?? 0;
  const lines = [[''].concat(Array.from({ length: k }, (_, i) => `f${i + 1}`), [property]).join(',')];
  features.forEach((row, i) => {
    if (row.length !== k) throw new AtomgpError(`feature row ${i + 1} has ${row.length} values, row 1 has ${k}`);
    lines.push([String(i), ...Array.from(row, formatNumber), formatNumber(targets[i]!)].join(','));
  });
  return lines.join('\n') + '\n';
}

function checkSystemName(system: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(system)) {
    throw new AtomgpError(`system name '${system}': use letters, digits, '_' or '-' (it becomes part of file names, e.g. WATER_O1_TRAINING_SET.csv)`);
  }
}

export interface CsvSetsResult {
  /** Paths written, training files first. */
  files: string[];
  nFeatures: number;
}

/**
 * Write `{SYSTEM}_{ATOM}_TRAINING_SET.csv` (and `_VALIDATION_SET.csv` when `validIndices` is
 * non-empty) for every atom into `outDir`: ALF features of the selected frames (Å → bohr) and
 * their atomic energies (Ha) as `iqa`. `alfs1` are 1-based triples, one per atom, as in model files.
 */
export function writeFerebusCsvSets(
  outDir: string,
  system: string,
  symbols: readonly string[],
  alfs1: readonly (readonly number[])[],
  frames: readonly LabelledFrame[],
  trainIndices: readonly number[],
  validIndices: readonly number[] = [],
): CsvSetsResult {
  checkSystemName(system);
  const alfs = checkAlfs(symbols, alfs1);
  const n = symbols.length;
  const names = atomNames(symbols);
  const nFeatures = featureCount(n);
  const build = (indices: readonly number[], what: string): { x: Float64Array[][]; y: Float64Array[] } => {
    const y: Float64Array[] = names.map(() => new Float64Array(indices.length));
    const positions = indices.map((fi, r) => {
      const f = frames[fi];
      if (f === undefined) throw new AtomgpError(`${what} frame index ${fi} is outside 0..${frames.length - 1}`);
      if (!f.atomicEnergiesHa) throw new AtomgpError(`frame ${fi + 1} has no atomic energies: the CSV target (iqa) needs them`);
      if (f.positionsA.length !== 3 * n) throw new AtomgpError(`frame ${fi + 1} has ${f.positionsA.length / 3} atoms, expected ${n}`);
      for (let a = 0; a < n; a++) y[a]![r] = f.atomicEnergiesHa[a]!;
      return f.positionsA;
    });
    const x = featurizeFrames(positions, alfs, { labels: names }).map((xa) => featureRows(xa, nFeatures));
    return { x, y };
  };
  const train = build(trainIndices, 'training');
  const valid = validIndices.length > 0 ? build(validIndices, 'validation') : undefined;
  const files: string[] = [];
  const write = (set: { x: Float64Array[][]; y: Float64Array[] }, suffix: string): void => {
    names.forEach((name, a) => {
      const path = join(outDir, `${system}_${name}_${suffix}.csv`);
      writeFileAtomic(path, formatPropertyCsv(set.x[a]!, set.y[a]!));
      files.push(path);
    });
  };
  write(train, 'TRAINING_SET');
  if (valid) write(valid, 'VALIDATION_SET');
  return { files, nFeatures };
}

export interface GjfOptions {
  /** Default B3LYP. */
  method?: string;
  /** Default 6-31+G(d,p). */
  basisSet?: string;
  /** Total charge (default 0). */
  charge?: number;
  /** Spin multiplicity 2S+1 (default 1). */
  multiplicity?: number;
  /** `%nproc` (omitted by default). */
  nproc?: number;
  /** `%mem`, e.g. '2GB' (omitted by default). */
  memory?: string;
  /** More route keywords (e.g. 'int=ultrafine'). */
  extraKeywords?: string[];
}

/**
 * One Gaussian input for a single-point calculation that writes a `.wfn` for AIMAll:
 * `#p METHOD/BASIS nosymm output=wfn`, a title, charge and multiplicity, the geometry in Å, and
 * the wavefunction file name `name.wfn` after the geometry. `nosymm` keeps Gaussian from moving
 * the molecule, so atomic properties stay in the input frame.
 */
export function formatGaussianInput(symbols: readonly string[], positionsA: Float64Array, name: string, options: GjfOptions = {}): string {
  const method = options.method ?? 'B3LYP';
  const basis = options.basisSet ?? '6-31+G(d,p)';
  const charge = options.charge ?? 0;
  const mult = options.multiplicity ?? 1;
  if (!Number.isInteger(charge)) throw new AtomgpError(`charge ${charge}: expected an integer`);
  if (!Number.isInteger(mult) || mult < 1) throw new AtomgpError(`multiplicity ${mult}: expected an integer ≥ 1`);
  if (positionsA.length !== 3 * symbols.length) throw new AtomgpError(`${symbols.length} atoms need ${3 * symbols.length} coordinates, got ${positionsA.length}`);
  let electrons = -charge;
  for (const s of symbols) {
    const e = findElement(s);
    if (!e) throw new AtomgpError(`unknown element '${s}'`);
    electrons += e.z;
  }
  if (electrons < 0 || (electrons + mult) % 2 === 0) {
    throw new AtomgpError(`charge ${charge} and multiplicity ${mult} are impossible together for ${electrons} electrons (an even electron count needs an odd multiplicity and vice versa)`);
  }
  if (/\s/.test(name) || name === '') throw new AtomgpError(`Gaussian job name '${name}' must be non-empty without spaces`);
  const lines: string[] = [];
  if (options.nproc !== undefined) lines.push(`%nproc=${options.nproc}`);
  if (options.memory !== undefined) lines.push(`%mem=${options.memory}`);
  lines.push(['#p', `${method}/${basis}`, 'nosymm', 'output=wfn', ...(options.extraKeywords ?? [])].join(' '));
  lines.push('', name, '', `${charge} ${mult}`);
  symbols.forEach((s, a) => {
    const c = [0, 1, 2].map((d) => {
      const v = positionsA[3 * a + d]!;
      if (!Number.isFinite(v)) throw new AtomgpError(`atom ${a + 1} (${s}) has a non-finite coordinate`);
      return v.toFixed(8).padStart(16);
    });
    lines.push(`${s.padEnd(2)} ${c.join(' ')}`);
  });
  lines.push('', `${name}.wfn`, '', '');
  return lines.join('\n');
}

/**
 * Write one `.gjf` per frame into `outDir`, named `{SYSTEM}{0001…}.gjf` (ichor style, 1-based,
 * at least 4 digits); `indices` picks frames (default all). Returns the paths.
 */
export function writeGaussianInputs(
  outDir: string,
  system: string,
  symbols: readonly string[],
  frames: readonly LabelledFrame[],
  options: GjfOptions = {},
  indices?: readonly number[],
): string[] {
  checkSystemName(system);
  const pick = indices ?? frames.map((_, i) => i);
  const width = Math.max(4, String(pick.length).length);
  return pick.map((fi, k) => {
    const f = frames[fi];
    if (f === undefined) throw new AtomgpError(`frame index ${fi} is outside 0..${frames.length - 1}`);
    const name = `${system}${String(k + 1).padStart(width, '0')}`;
    const path = join(outDir, `${name}.gjf`);
    writeFileAtomic(path, formatGaussianInput(symbols, f.positionsA, name, options));
    return path;
  });
}
