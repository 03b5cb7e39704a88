/**
 * Study stage: observables against the reference's own MD (Fu et al., "Forces are not enough",
 * TMLR 2023). The reference itself runs NVT at the observables temperature (same integrator,
 * thermostat, equilibration and length as the model's runs) → <molecule>/reference-md/; then every
 * model run at that temperature is compared with it: h(r) MAE (analysis/observables.ts), the mean
 * and spread of E_pot − E_min (each potential's energy at the relaxed minimum as its zero), and
 * Fu et al.'s stability criterion (largest bond deviation from its equilibrium length > 0.5 Å)
 * beside our monitor's verdict; and, for a hydrogen that can change heavy atom (an O/N-bonded H
 * with another O/N within 2.5 Å at the minimum, e.g. malondialdehyde's enol H), the fraction of
 * frames it spends on each site with block standard errors — a test that the per-frame energy
 * error cannot make (two mirror-image tautomers must be populated equally).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  densityMae,
  distanceDensity,
  FU_BOND_DEVIATION_A,
  maxBondDeviationA,
  type ProtonSites,
  protonSites,
  sitePopulation,
} from '../../analysis/observables.js';
import { bondLengthsA } from '../../analysis/restoring.js';
import { massesAmu } from '../../chem/molecule.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { runEnsemble, runLabel, stopFlagOf } from '../../dynamics/ensemble.js';
import { DEFAULT_EQUILIBRATION } from '../../dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../dynamics/integrators.js';
import { interruptedRun } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readXyz } from '../../io/xyz.js';
import { createPotential } from '../../potentials/factory.js';
import { createResult } from '../../potentials/potential.js';
import { hashInputs, makeStageRecord, readStageRecord, stageChanges, writeStageRecord } from '../fingerprint.js';
import { buildMolecule, referenceSpec } from '../pipeline/molecule.js';
import { type DemoSummary, modelSpec, type PipelineHooks, priorFolder } from '../pipeline/settings.js';
import { moleculeSettings, type StudySettings } from './settings.js';

export interface EnergyDistribution {
  /** Mean and standard deviation of E_pot − E_min over the trajectory frames, kcal/mol. */
  mean_kcal_per_mol: number;
  sd_kcal_per_mol: number;
}

export interface RunObservables {
  run_dir: string;
  prior: string;
  /** ∫|h(r) − h_ref(r)| dr over the run's frames (0: equal, 2: disjoint). */
  h_r_mae: number;
  energy: EnergyDistribution;
  /** Largest bond deviation from the relaxed minimum's length, Å; Fu et al.: unstable above 0.5 Å. */
  max_bond_deviation_A: number;
  fu_stable: boolean;
  /** Populations of the sites of every hydrogen that can change heavy atom (none: absent). */
  proton_sites?: ProtonSitePopulation[];
}

/** `SitePopulation` with atom labels (`H9`, `O5`): where a labile hydrogen spends the run. */
export interface ProtonSitePopulation {
  hydrogen: string;
  /** Donor first (its heavy atom at the relaxed minimum), then the acceptors. */
  sites: string[];
  fractions: number[];
  /** Block standard errors of the fractions (analysis/observables.ts sitePopulation). */
  standard_errors: number[];
  blocks: number;
  switches: number;
  frames: number;
}

export interface MoleculeObservables {
  temperature_K: number;
  /** The reference's own run (relative to the molecule folder) and its observables. */
  reference_run_dir: string;
  reference_survived: boolean;
  reference_energy: EnergyDistribution;
  reference_max_bond_deviation_A: number;
  reference_proton_sites?: ProtonSitePopulation[];
  runs: RunObservables[];
}

const RECORD = join('reference-md', 'observables.fingerprint.json');

function energyDistribution(frames: ReturnType<typeof readXyz>, eMinKcal: number): EnergyDistribution {
  const e = frames.map((f) => Number(f.info['energy']) - eMinKcal);
  const mean = e.reduce((a, b) => a + b, 0) / e.length;
  const sd = Math.sqrt(e.reduce((a, b) => a + (b - mean) ** 2, 0) / e.length);
  return { mean_kcal_per_mol: mean, sd_kcal_per_mol: sd };
}

/** Site populations of every labile hydrogen (`sites`) over the frames, with atom labels. */
function protonSitePopulations(symbols: readonly string[], sites: readonly ProtonSites[], frames: ReadonlyArray<Float64Array>): ProtonSitePopulation[] | undefined {
  if (sites.length === 0 || frames.length < PROTON_SITE_BLOCKS) return undefined;
  const label = (i: number): string => `${symbols[i]}${i + 1}`;
  return sites.map((site) => {
    const p = sitePopulation(frames, site, PROTON_SITE_BLOCKS);
    return {
      hydrogen: label(p.hydrogen),
      sites: p.sites.map(label),
      fractions: p.fractions,
      standard_errors: p.standardErrors,
      blocks: p.blocks,
      switches: p.switches,
      frames: p.frames,
    };
  });
}

/** Blocks for the standard errors of the site populations. */
const PROTON_SITE_BLOCKS = 10;

/** The observables stage of one molecule (fingerprinted; the reference MD is reused on resume). */
export async function observablesStage(s: StudySettings, molecule: string, dir: string, summary: DemoSummary, resume: boolean, hooks: PipelineHooks): Promise<MoleculeObservables | null> {
  const T = s.observablesTemperatureK;
  const p = moleculeSettings(s, molecule);
  const modelRuns = summary.runs.filter((r) => r.temperature_K === T);
  const settings = { temperatureK: T, mdTimePs: p.mdTimePs, mdTimestepFs: p.mdTimestepFs, seed: p.seed, reference: s.reference };
  const modelFiles = modelRuns.map((r) => join(dir, r.run_dir, 'trajectory.extxyz')).filter((f) => existsSync(f));
  const refRoot = join(dir, 'reference-md');
  const refLabel = runLabel(T, 0);
  const refTraj = join(refRoot, refLabel, 'trajectory.extxyz');
  const record = readStageRecord<MoleculeObservables>(join(dir, RECORD));
  if (resume && record?.result && existsSync(refTraj)) {
    const changes = stageChanges(record, settings, hashInputs(dir, [join(dir, 'molecule.xyz'), refTraj, ...modelFiles]));
    if (changes.length === 0) {
      hooks.log?.(`${molecule}: observables reused`);
      return record.result;
    }
  }
  const { mol } = await buildMolecule(p);
  const refSpec = referenceSpec(p, mol);
  const minimumA = readXyz(join(dir, 'molecule.xyz'))[0]!.positionsA;
  const steps = Math.round((p.mdTimePs * 1000) / p.mdTimestepFs);
  // The reference's run: redone unless a finished one with these settings is on disk.
  const refRecord = readStageRecord(join(refRoot, 'fingerprint.json'));
  const refDone = resume && refRecord && existsSync(join(refRoot, refLabel, 'summary.json')) && stageChanges(refRecord, settings, hashInputs(dir, [join(dir, 'molecule.xyz')])).length === 0;
  let refSurvived = true;
  if (!refDone) {
    hooks.log?.(`${molecule}: the reference's own NVT run at ${T} K, ${p.mdTimePs} ps (observables)`);
    mkdirSync(refRoot, { recursive: true });
    const [sm] = await runEnsemble({
      potentialSpec: refSpec,
      symbols: [...mol.symbols],
      massesAmu: massesAmu([...mol.symbols]),
      startPositionsA: minimumA,
      settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: p.mdTimestepFs, temperatureK: T },
      temperaturesK: [T],
      replicas: 1,
      steps,
      seed: p.seed,
      outDir: refRoot,
      mode: 'overwrite',
      // A run a signal stopped continues from its checkpoint on resume.
      ...(resume ? { continueCheckpointed: true } : {}),
      ...(hooks.signal ? { stop: stopFlagOf(hooks.signal) } : {}),
      workers: 1,
      equilibration: DEFAULT_EQUILIBRATION,
      energyMinimum: 'search',
      logEvery: 20,
      trajStride: 100,
      progressEvery: 1000,
      onProgress: (q) => hooks.progress?.(`${molecule} reference md`, q.stepsDone / q.stepsTotal, `${Math.round(q.stepsPerSecond)} steps/s`),
    });
    if (sm?.interrupted !== undefined) throw interruptedRun(sm.interrupted, `during the reference's NVT run of ${molecule} (it has a checkpoint)`);
    refSurvived = sm?.survived ?? false;
    writeStageRecord(join(refRoot, 'fingerprint.json'), makeStageRecord('reference md', settings, hashInputs(dir, [join(dir, 'molecule.xyz')])));
  } else {
    refSurvived = (JSON.parse(readFileSync(join(refRoot, refLabel, 'summary.json'), 'utf8')) as { survived: boolean }).survived;
  }
  if (!existsSync(refTraj)) return null;
  const refFrames = readXyz(refTraj);
  const bonds = mol.bonds.map(([a, b]) => [a, b] as [number, number]);
  const eqLengths = bondLengthsA(minimumA, bonds);
  const labile = protonSites(mol.symbols, minimumA, bonds);
  const energyAt = async (spec: Parameters<typeof createPotential>[0]): Promise<number> => {
    const pot = await createPotential(spec);
    const r = createResult(pot.nAtoms);
    pot.compute(minimumA, r, false);
    (pot as { dispose?: () => void }).dispose?.();
    return r.energyHa * KCAL_PER_MOL_PER_HARTREE;
  };
  const refH = distanceDensity(refFrames.map((f) => f.positionsA));
  const refEmin = await energyAt(refSpec);
  const runs: RunObservables[] = [];
  for (const r of modelRuns) {
    const file = join(dir, r.run_dir, 'trajectory.extxyz');
    const frames = existsSync(file) ? readXyz(file) : [];
    if (frames.length === 0) continue;
    const modelDir = join(dir, 'models', priorFolder(r.prior));
    if (!existsSync(modelDir) || readdirSync(modelDir).length === 0) continue;
    const positions = frames.map((f) => f.positionsA);
    const dev = maxBondDeviationA(positions, bonds, eqLengths);
    const populations = protonSitePopulations(mol.symbols, labile, positions);
    runs.push({
      run_dir: r.run_dir,
      prior: r.prior,
      h_r_mae: densityMae(distanceDensity(positions), refH),
      energy: energyDistribution(frames, await energyAt(modelSpec(p, modelDir))),
      max_bond_deviation_A: dev,
      fu_stable: dev <= FU_BOND_DEVIATION_A,
      ...(populations ? { proton_sites: populations } : {}),
    });
  }
  const refPopulations = protonSitePopulations(mol.symbols, labile, refFrames.map((f) => f.positionsA));
  const result: MoleculeObservables = {
    temperature_K: T,
    reference_run_dir: join('reference-md', refLabel),
    reference_survived: refSurvived,
    reference_energy: energyDistribution(refFrames, refEmin),
    reference_max_bond_deviation_A: maxBondDeviationA(refFrames.map((f) => f.positionsA), bonds, eqLengths),
    ...(refPopulations ? { reference_proton_sites: refPopulations } : {}),
    runs,
  };
  writeFileAtomic(join(refRoot, 'observables.json'), `${JSON.stringify(result, null, 1)}\n`);
  writeStageRecord(join(dir, RECORD), makeStageRecord(`observables ${molecule}`, settings, hashInputs(dir, [join(dir, 'molecule.xyz'), refTraj, ...modelFiles]), result));
  hooks.log?.(`${molecule}: observables at ${T} K against the reference's own run (${runs.length} model run(s))`);
  return result;
}
