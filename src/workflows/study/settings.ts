/**
 * Settings of `atomgp study`: the molecules, the reference, the pipeline settings shared by every
 * molecule (the prior-mean family, the NVT matrix) and the fidelity check, with their defaults,
 * a settings file (TOML) and the checks.
 *
 * Settings file (`--config study.toml`); every key is optional, an unknown key is an error:
 *   molecules = ["glycine", "serine"]      reference = "xtb"
 *   [pipeline]   any `atomgp pipeline` flag without its dashes, typed: `n-train = 1000`,
 *                `priors = ["shift:0.05", "mean", "min"]`, `temperatures-K = [300, 500]`, …
 *   [fidelity]   frames = 100, energy-mae-kcal-per-mol = 1.5, band-kcal-per-mol = 10,
 *                within-fraction = 0.99
 *   [observables] temperature-K = 500 (0: no reference MD)
 *   [distortions] starts = ["bonds:O-H=1.5", "bonds:X-H*1.3", "random:0.1"], temperature-K = 300,
 *                 time-ps = 2
 *   [optimisation] refine-rounds = 2 (0: none), path-stride = 3 (0: the minima only)
 */
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { parseDistortion } from '../../analysis/distort.js';
import { findPresetName, presetMolecule } from '../../chem/presets.js';
import { AtomgpError } from '../../errors.js';
import { DEFAULT_PRIOR } from '../../gp/fit/priors.js';
import { checkFidelityBounds, DEFAULT_FIDELITY_BOUNDS, type FidelityBounds } from '../fidelity.js';
import { DEMO_DEFAULTS, type PipelineSettings, type ReferenceKind, SETTING_FLAGS, validateSettings } from '../pipeline/settings.js';

/** The pipeline settings a study may set (everything but the molecule source). */
export type StudyPipelineSettings = Omit<PipelineSettings, 'molecule' | 'smiles' | 'startFile' | 'cvs' | 'reference'>;

export interface StudySettings {
  molecules: string[];
  reference: ReferenceKind;
  pipeline: StudyPipelineSettings;
  /**
   * Frames re-evaluated on the reference per run, spread evenly along its trajectory; 0: every
   * saved frame (a run saves at most 10 001, dynamics/output-strides.ts).
   */
  fidelityFrames: number;
  fidelity: FidelityBounds;
  /**
   * Temperature (K) of the observables against the reference's own MD (h(r), E_pot − E_min,
   * Fu et al.'s stability); one of the NVT temperatures, or 0: none.
   */
  observablesTemperatureK: number;
  /** Distorted starts (`--distort` grammar), each run with every prior; empty: none. */
  distortions: string[];
  /** Temperature (K) and length (ps) of the runs from distorted starts. */
  distortionTemperatureK: number;
  distortionTimePs: number;
  /**
   * Peptides: rounds of refinement of the default prior's model at the conformer minima it
   * predicts (refine.ts), each labelling on the reference the model's optimisation paths every
   * `optimisationPathStride`-th step (0: the minima only) and the minima; 0: none.
   */
  optimisationRefineRounds: number;
  optimisationPathStride: number;
}

/**
 * The study's defaults: the pipeline's, with the prior family (the shifted default, mean, min) and
 * the NVT matrix of the paper (300, 500, 700, 1000 K; 3 replicas; 20 ps per run).
 */
export const STUDY_DEFAULTS: StudySettings = {
  molecules: ['glycine', 'serine', 'malondialdehyde', 'aspirin'],
  reference: 'xtb',
  pipeline: (() => {
    const { molecule: _m, reference: _r, ...rest } = DEMO_DEFAULTS;
    return { ...rest, priors: [DEFAULT_PRIOR, 'mean', 'min'], mdTemperaturesK: [300, 500, 700, 1000], replicas: 3, mdTimePs: 20 };
  })(),
  fidelityFrames: 0,
  fidelity: { ...DEFAULT_FIDELITY_BOUNDS },
  observablesTemperatureK: 500,
  // The paper's SER O-H stretched to 1.5 Å, every bond to hydrogen × 1.3, random displacements.
  distortions: ['bonds:O-H=1.5', 'bonds:X-H*1.3', 'random:0.1'],
  distortionTemperatureK: 300,
  distortionTimePs: 2,
  optimisationRefineRounds: 2,
  optimisationPathStride: 3,
};

/** `--n-train` → `nTrain`: the pipeline settings a study file may set, by flag name without dashes. */
const PIPELINE_KEYS: ReadonlyMap<string, keyof StudyPipelineSettings> = new Map(
  (Object.entries(SETTING_FLAGS) as Array<[keyof PipelineSettings, string]>)
    .filter(([k, f]) => f.startsWith('--') && k in STUDY_DEFAULTS.pipeline)
    .map(([k, f]) => [f.slice(2), k as keyof StudyPipelineSettings]),
);

const FIDELITY_KEYS: Record<string, keyof FidelityBounds | 'frames'> = {
  frames: 'frames',
  'energy-mae-kcal-per-mol': 'energyMaeKcalPerMol',
  'band-kcal-per-mol': 'bandKcalPerMol',
  'within-fraction': 'withinFraction',
};

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A value of the same type as the default (number, string, boolean, or an array of one of them). */
function typed(value: unknown, dflt: unknown, where: string): unknown {
  const kind = (v: unknown): string => (Array.isArray(v) ? `array of ${v.length > 0 ? typeof v[0] : 'values'}` : typeof v);
  if (Array.isArray(dflt)) {
    const elem = typeof dflt[0];
    if (!Array.isArray(value) || value.some((x) => typeof x !== elem)) throw new AtomgpError(`${where}: expected an array of ${elem}s, got ${JSON.stringify(value)}`);
    return [...value];
  }
  if (typeof value !== typeof dflt) throw new AtomgpError(`${where}: expected a ${typeof dflt}, got ${kind(value)} ${JSON.stringify(value)}`);
  return value;
}

/** Read a study settings file over `base`; unknown keys and wrong types are errors naming them. */
export function readStudyConfig(path: string, base: StudySettings = STUDY_DEFAULTS): StudySettings {
  let doc: Table;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Table;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new AtomgpError(`${path}: no such settings file`);
    throw new AtomgpError(`${path}: not a valid TOML file (${String(err.message).split('\n')[0]})`);
  }
  const s: StudySettings = structuredClone(base);
  for (const [key, value] of Object.entries(doc)) {
    const where = `${path}: ${key}`;
    if (key === 'molecules') s.molecules = typed(value, ['x'], where) as string[];
    else if (key === 'reference') s.reference = typed(value, 'x', where) as ReferenceKind;
    else if (key === 'pipeline') {
      if (!isTable(value)) throw new AtomgpError(`${where}: expected a table [pipeline]`);
      for (const [k, v] of Object.entries(value)) {
        const setting = PIPELINE_KEYS.get(k);
        if (setting === undefined) throw new AtomgpError(`${path}: [pipeline] has an unknown key '${k}' (keys are pipeline flags without dashes: ${[...PIPELINE_KEYS.keys()].join(', ')})`);
        if (setting === 'protonTransfer') {
          if (!(typeof v === 'boolean' || v === 'auto')) throw new AtomgpError(`${path}: [pipeline] ${k}: expected true, false or "auto", got ${JSON.stringify(v)}`);
          s.pipeline.protonTransfer = v;
        } else (s.pipeline as unknown as Table)[setting] = typed(v, STUDY_DEFAULTS.pipeline[setting], `${path}: [pipeline] ${k}`);
      }
    } else if (key === 'fidelity') {
      if (!isTable(value)) throw new AtomgpError(`${where}: expected a table [fidelity]`);
      for (const [k, v] of Object.entries(value)) {
        const setting = FIDELITY_KEYS[k];
        if (setting === undefined) throw new AtomgpError(`${path}: [fidelity] has an unknown key '${k}' (expected ${Object.keys(FIDELITY_KEYS).join(', ')})`);
        if (setting === 'frames') s.fidelityFrames = v === 'all' ? 0 : (typed(v, 0, `${path}: [fidelity] frames (a number or "all")`) as number);
        else s.fidelity[setting] = typed(v, 0, `${path}: [fidelity] ${k}`) as number;
      }
    } else if (key === 'observables') {
      if (!isTable(value)) throw new AtomgpError(`${where}: expected a table [observables]`);
      for (const [k, v] of Object.entries(value)) {
        if (k !== 'temperature-K') throw new AtomgpError(`${path}: [observables] has an unknown key '${k}' (expected temperature-K)`);
        s.observablesTemperatureK = typed(v, 0, `${path}: [observables] ${k}`) as number;
      }
    } else if (key === 'distortions') {
      if (!isTable(value)) throw new AtomgpError(`${where}: expected a table [distortions]`);
      for (const [k, v] of Object.entries(value)) {
        const at = `${path}: [distortions] ${k}`;
        if (k === 'starts') s.distortions = typed(v, ['x'], at) as string[];
        else if (k === 'temperature-K') s.distortionTemperatureK = typed(v, 0, at) as number;
        else if (k === 'time-ps') s.distortionTimePs = typed(v, 0, at) as number;
        else throw new AtomgpError(`${path}: [distortions] has an unknown key '${k}' (expected starts, temperature-K, time-ps)`);
      }
    } else if (key === 'optimisation') {
      if (!isTable(value)) throw new AtomgpError(`${where}: expected a table [optimisation]`);
      for (const [k, v] of Object.entries(value)) {
        const at = `${path}: [optimisation] ${k}`;
        if (k === 'refine-rounds') s.optimisationRefineRounds = typed(v, 0, at) as number;
        else if (k === 'path-stride') s.optimisationPathStride = typed(v, 0, at) as number;
        else throw new AtomgpError(`${path}: [optimisation] has an unknown key '${k}' (expected refine-rounds, path-stride)`);
      }
    } else throw new AtomgpError(`${path}: unknown key '${key}' (expected molecules, reference, [pipeline], [fidelity], [observables], [distortions], [optimisation])`);
  }
  return s;
}

/** The pipeline settings of one molecule of the study. */
export function moleculeSettings(s: StudySettings, molecule: string): PipelineSettings {
  return { ...s.pipeline, molecule, reference: s.reference };
}

/** Every error a user can make in the settings, before any work. */
export function validateStudySettings(s: StudySettings): void {
  if (s.molecules.length === 0) throw new AtomgpError('study: no molecules given');
  const seen = new Set<string>();
  for (const m of s.molecules) {
    const name = findPresetName(m);
    if (name === undefined) presetMolecule(m); // throws the list of built-in molecules
    if (seen.has(name!)) throw new AtomgpError(`study: molecule '${m}' is given twice`);
    seen.add(name!);
  }
  if (!(Number.isInteger(s.fidelityFrames) && s.fidelityFrames >= 0)) throw new AtomgpError(`study: fidelity frames per run must be an integer ≥ 1 (or 0 or "all": every saved frame), got ${s.fidelityFrames}`);
  checkFidelityBounds(s.fidelity);
  const T = s.observablesTemperatureK;
  if (T !== 0 && !s.pipeline.mdTemperaturesK.includes(T)) {
    throw new AtomgpError(`study: the observables temperature ${T} K is not one of the NVT temperatures (${s.pipeline.mdTemperaturesK.join(', ')} K); add it or set it to 0 (none)`);
  }
  for (const d of s.distortions) parseDistortion(d);
  if (!(s.distortionTemperatureK > 0 && Number.isFinite(s.distortionTemperatureK))) throw new AtomgpError(`study: the distortion runs' temperature must be > 0 K, got ${s.distortionTemperatureK}`);
  if (!(s.distortionTimePs > 0 && Number.isFinite(s.distortionTimePs))) throw new AtomgpError(`study: the distortion runs' length must be > 0 ps, got ${s.distortionTimePs}`);
  if (!(Number.isInteger(s.optimisationRefineRounds) && s.optimisationRefineRounds >= 0 && s.optimisationRefineRounds <= 20)) throw new AtomgpError(`study: [optimisation] refine-rounds must be an integer from 0 to 20, got ${s.optimisationRefineRounds}`);
  if (!(Number.isInteger(s.optimisationPathStride) && s.optimisationPathStride >= 0)) throw new AtomgpError(`study: [optimisation] path-stride must be an integer ≥ 0 (0: the minima only), got ${s.optimisationPathStride}`);
  for (const m of s.molecules) validateSettings(moleculeSettings(s, m));
}
