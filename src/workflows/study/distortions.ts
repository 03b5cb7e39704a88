/**
 * Study stage: distorted starts (the paper's high-energy starting geometries). For each distortion
 * (the `--distort` grammar, analysis/distort.ts) of the relaxed minimum: the restoring forces of
 * every prior's models at the distorted start (kcal/mol/Å along each bond; restoring or not), and
 * NVT runs of every prior from it (robustness/matrix.ts) with the monitor measuring against the
 * undistorted minimum and each distorted bond's relaxation time recorded (first return within
 * 0.1 Å of its undistorted length). A distortion that selects no bond of a molecule (e.g. O-H on
 * capped glycine) is reported as not applicable.
 * Output: <molecule>/distortions/<n>/ (start-distorted.xyz, runs/<prior>/T<K>_r<NN>/, result.json).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { distortFromText } from '../../analysis/distort.js';
import { bondLengthsA } from '../../analysis/restoring.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../dynamics/integrators.js';
import { AtomgpError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readXyz, writeXyz } from '../../io/xyz.js';
import { createPotential } from '../../potentials/factory.js';
import { hashInputs, makeStageRecord, readStageRecord, stageChanges, writeStageRecord } from '../fingerprint.js';
import { buildMolecule } from '../pipeline/molecule.js';
import { type DemoSummary, modelSpec, type PipelineHooks, priorFolder } from '../pipeline/settings.js';
import { bondLabel, runStabilityMatrix, type StudyRow } from '../robustness/matrix.js';
import { type RestoringEntry, restoringEntry } from '../robustness/restoring.js';
import { moleculeSettings, type StudySettings } from './settings.js';

export interface DistortionResult {
  distortion: string;
  /** False when the distortion moves no bond of this molecule (nothing was run). */
  applicable: boolean;
  /** Bonds moved by more than 0.01 Å: label, undistorted and distorted length, Å. */
  distorted_bonds: Array<{ bond: string; reference_A: number; distorted_A: number }>;
  restoring: RestoringEntry[];
  runs: StudyRow[];
}

/** Relaxation tolerance of a distorted bond, Å (as `atomgp robustness`). */
const RELAXATION_TOL_A = 0.1;

export async function distortionsStage(s: StudySettings, molecule: string, dir: string, _summary: DemoSummary, resume: boolean, hooks: PipelineHooks): Promise<DistortionResult[]> {
  const p = moleculeSettings(s, molecule);
  const { mol } = await buildMolecule(p);
  const symbols = [...mol.symbols];
  const minimumA = readXyz(join(dir, 'molecule.xyz'))[0]!.positionsA;
  const bonds = mol.bonds.map(([a, b]) => [a, b] as [number, number]);
  const refLengths = bondLengthsA(minimumA, bonds);
  const priors = p.priors;
  const modelDirs = priors.map((pr) => join(dir, 'models', priorFolder(pr)));
  const steps = Math.round((s.distortionTimePs * 1000) / p.mdTimestepFs);
  const out: DistortionResult[] = [];
  for (const [k, text] of s.distortions.entries()) {
    const root = join(dir, 'distortions', String(k + 1));
    const settings = { distortion: text, temperatureK: s.distortionTemperatureK, timePs: s.distortionTimePs, timestepFs: p.mdTimestepFs, replicas: p.replicas, seed: p.seed, priors };
    const modelFiles = modelDirs.flatMap((d) => (existsSync(d) ? readModelFiles(d) : []));
    const inputs = [join(dir, 'molecule.xyz'), ...modelFiles];
    const record = readStageRecord<DistortionResult>(join(root, 'fingerprint.json'));
    if (resume && record?.result && stageChanges(record, settings, hashInputs(dir, inputs)).length === 0) {
      out.push(record.result);
      continue;
    }
    let distorted: Float64Array;
    try {
      distorted = distortFromText(symbols, minimumA, text, p.seed, bonds);
    } catch (e) {
      if (e instanceof AtomgpError && /no bond|selects no|no .* bonds/i.test(e.message)) {
        const na: DistortionResult = { distortion: text, applicable: false, distorted_bonds: [], restoring: [], runs: [] };
        out.push(na);
        continue;
      }
      throw e;
    }
    const lengths = bondLengthsA(distorted, bonds);
    const moved = bonds.map((b, i) => ({ b, i })).filter(({ i }) => Math.abs(lengths[i]! - refLengths[i]!) > 0.01);
    mkdirSync(root, { recursive: true });
    writeXyz(join(root, 'start-distorted.xyz'), [{ symbols, positionsA: distorted, info: { distortion: text }, arrays: {}, comment: '' }]);
    hooks.log?.(`${molecule}: distortion ${text}: ${moved.length} bond(s) moved; restoring forces and NVT at ${s.distortionTemperatureK} K for ${s.distortionTimePs} ps`);
    const restoring: RestoringEntry[] = [];
    for (const [i, pr] of priors.entries()) {
      const pot = await createPotential(modelSpec(p, modelDirs[i]!));
      restoring.push(restoringEntry(pr, pot, minimumA, distorted, bonds));
    }
    const runs = moved.length === 0
      ? []
      : await runStabilityMatrix({
          entries: priors.map((pr, i) => ({ prior: pr, dirName: priorFolder(pr), potentialSpec: modelSpec(p, modelDirs[i]!) })),
          symbols,
          startPositionsA: distorted,
          temperaturesK: [s.distortionTemperatureK],
          replicas: p.replicas,
          steps,
          seed: p.seed,
          settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: p.mdTimestepFs, temperatureK: s.distortionTemperatureK },
          runsDir: join(root, 'runs'),
          baseDir: dir,
          resume,
          workers: p.workers,
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          logEvery: 10,
          trajStride: 20,
          monitorReference: { positionsA: Array.from(minimumA), bonds, lengthsA: Array.from(refLengths) },
          bondReturn: { bonds: moved.map(({ b }) => b), referenceLengthsA: moved.map(({ i }) => refLengths[i]!), tolA: RELAXATION_TOL_A },
          onProgress: (q) => hooks.progress?.(`${molecule} distortion ${k + 1}`, q.stepsDone / q.stepsTotal, `${q.runsDone}/${q.runsTotal} runs`),
        });
    const result: DistortionResult = {
      distortion: text,
      applicable: moved.length > 0,
      distorted_bonds: moved.map(({ b, i }) => ({ bond: bondLabel(symbols, b), reference_A: refLengths[i]!, distorted_A: lengths[i]! })),
      restoring,
      runs,
    };
    writeFileAtomic(join(root, 'result.json'), `${JSON.stringify(result, null, 1)}\n`);
    writeStageRecord(join(root, 'fingerprint.json'), makeStageRecord(`distortion ${text}`, settings, hashInputs(dir, inputs), result));
    out.push(result);
  }
  return out;
}

function readModelFiles(d: string): string[] {
  return readdirSync(d)
    .filter((f) => f.endsWith('.model'))
    .map((f) => join(d, f));
}

export interface DistortionRow {
  distortion: string;
  prior: string;
  bonds_moved: number;
  /** E(distorted) − E(minimum) on the model, kcal/mol. */
  energy_rise_kcal_per_mol: number | null;
  /** Bonds whose force points back to their undistorted length, of those moved. */
  restoring: string;
  max_abs_force_kcal_per_mol_per_A: number | null;
  runs: number;
  survived: number;
  /** Per run, the time all distorted bonds were back (the latest first return), ps; median over runs (null: some never returned). */
  median_relaxation_ps: number | null;
  relaxed: number;
}

/** One row per distortion and prior (not-applicable distortions give one row with the reason). */
export function distortionRows(results: readonly DistortionResult[]): DistortionRow[] {
  const rows: DistortionRow[] = [];
  for (const d of results) {
    if (!d.applicable) {
      rows.push({ distortion: `${d.distortion} (no such bond)`, prior: '–', bonds_moved: 0, energy_rise_kcal_per_mol: null, restoring: '–', max_abs_force_kcal_per_mol_per_A: null, runs: 0, survived: 0, median_relaxation_ps: null, relaxed: 0 });
      continue;
    }
    for (const r of d.restoring) {
      const runs = d.runs.filter((x) => x.prior === r.prior);
      const times = runs.map((x) => {
        const t = Object.values(x.relaxation_time_ps ?? {});
        return t.length > 0 && t.every((v) => v !== null) ? Math.max(...(t as number[])) : null;
      });
      const done = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
      rows.push({
        distortion: d.distortion,
        prior: r.prior,
        bonds_moved: d.distorted_bonds.length,
        energy_rise_kcal_per_mol: r.energy_rise_kcal_per_mol,
        restoring: `${r.n_restoring}/${r.n_displaced}`,
        max_abs_force_kcal_per_mol_per_A: r.max_abs_force_kcal_per_mol_per_A,
        runs: runs.length,
        survived: runs.filter((x) => x.survived).length,
        median_relaxation_ps: done.length === runs.length && done.length > 0 ? done[(done.length - 1) >> 1]! : null,
        relaxed: done.length,
      });
    }
  }
  return rows;
}
