/**
 * The study's start geometry: a file, or the minimum of the original model set, found by L-BFGS
 * from the training geometry of lowest energy, rebuilt from atom 1's ALF features.
 */
import { resolve } from 'node:path';
import { ANGSTROM_PER_BOHR } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { computeFeatures } from '../../features/alf.js';
import { featureMismatch, geometryFromAlfFeatures } from '../../features/geometry.js';
import type { ModelSet } from '../../io/modelset.js';
import { readXyz } from '../../io/xyz.js';
import { lbfgs } from '../../optimize/lbfgs.js';
import { GpPotential } from '../../potentials/gp.js';

export interface TrainingStart {
  positionsA: Float64Array;
  /** Index of the training point used (0-based). */
  index: number;
  /** Whether row i of every atom's training set is the same geometry (so total energies exist). */
  aligned: boolean;
  /** Total (aligned) or atom-1 energy of that point, Ha. */
  energyHa: number;
}

/** Largest feature difference (angles wrapped) between a computed and a stored row. */
/**
 * The training geometry of lowest energy, rebuilt from atom 1's features. When every atom's
 * training row i rebuilds to the same geometry (ichor sets: one geometry per row for all atoms),
 * "lowest" means lowest total energy Σ_A y_A,i; otherwise the lowest energy of atom 1.
 */
export function lowestTrainingGeometry(set: ModelSet): TrainingStart {
  const models = set.models;
  const first = models[0]!;
  const n = set.nAtoms;
  const alfs = models.map((m) => m.alf.map((a) => a - 1));
  const nTrain = first.nTrain;
  let aligned = models.every((m) => m.nTrain === nTrain);
  const K = first.nFeatures;
  const total = new Float64Array(nTrain);
  for (let i = 0; i < nTrain && aligned; i++) {
    const pos = geometryFromAlfFeatures(first.trainX.subarray(i * K, (i + 1) * K), alfs[0]!, n);
    const bohr = pos.map((v) => v / ANGSTROM_PER_BOHR);
    const feats = computeFeatures(bohr, alfs);
    for (let a = 0; a < n && aligned; a++) {
      if (featureMismatch(feats[a]!, models[a]!.trainX, i * K) > 1e-6) aligned = false;
      total[i] = total[i]! + models[a]!.trainY[i]!;
    }
  }
  const energy = aligned ? total : first.trainY;
  let best = 0;
  for (let i = 1; i < nTrain; i++) if (energy[i]! < energy[best]!) best = i;
  return {
    positionsA: geometryFromAlfFeatures(first.trainX.subarray(best * K, (best + 1) * K), alfs[0]!, n),
    index: best,
    aligned,
    energyHa: energy[best]!,
  };
}

export interface StartGeometry {
  symbols: string[];
  positionsA: Float64Array;
  /** How it was obtained, for the record. */
  source: string;
}

/**
 * The minimum of a model set: L-BFGS (fmax 0.1 kcal/mol/Å) from the lowest-energy training
 * geometry. If the optimiser does not converge, the training geometry itself is used.
 */
export function modelSetMinimum(set: ModelSet): StartGeometry {
  const t = lowestTrainingGeometry(set);
  const potential = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  const what = `training point ${t.index + 1} (lowest ${t.aligned ? 'total' : `${set.atoms[0]} atomic`} energy, rebuilt from ${set.atoms[0]}'s ALF features)`;
  let opt: ReturnType<typeof lbfgs> | undefined;
  try {
    opt = lbfgs(potential, t.positionsA, { fmaxKcalPerMolPerA: 0.1, energyTolKcalPerMol: 1e-4, maxSteps: 2000, maxStepA: 0.05 });
  } catch (e) {
    if (!(e instanceof AtomgpError)) throw e;
  }
  if (opt?.converged) {
    return {
      symbols: [...set.symbols],
      positionsA: opt.positionsA,
      source: `minimum of the original models: L-BFGS from ${what}, ${opt.steps} steps, ${(opt.initialEnergyKcalPerMol - opt.energyKcalPerMol).toFixed(3)} kcal/mol lower, max force ${opt.fmaxKcalPerMolPerA.toExponential(2)} kcal/mol/Å`,
    };
  }
  return { symbols: [...set.symbols], positionsA: t.positionsA, source: `${what}; L-BFGS on the original models did not converge (${opt?.message ?? 'failed'}), so the training geometry is used` };
}

/** `--start FILE` (first frame; atoms as the models') or the minimum of the original models. */
export function studyStart(original: ModelSet, startFile?: string): StartGeometry {
  if (!startFile) return modelSetMinimum(original);
  const frame = readXyz(startFile)[0];
  if (!frame) throw new AtomgpError(`${startFile}: no frames`);
  if (frame.symbols.length !== original.nAtoms || frame.symbols.some((s, i) => s.toLowerCase() !== original.symbols[i]!.toLowerCase())) {
    throw new AtomgpError(`${startFile}: atoms ${frame.symbols.join(' ')} do not match the models' ${original.symbols.join(' ')} (same order needed)`);
  }
  return { symbols: [...original.symbols], positionsA: frame.positionsA, source: `file ${resolve(startFile)}` };
}
