/**
 * Study stage for peptides, after the conformer optimisation: refinement of the default prior's
 * model at the minima it predicts. A model trained on WTMetaD frames knows each conformer basin
 * from the frames that fell into it, so the energy difference between two minima (alanine
 * dipeptide's ΔE(C5 − C7eq), a difference of two energies each known to ~0.5 kcal/mol) moves by
 * ±0.5 kcal/mol between samplings of one recipe (docs/study.md, session 17). Per round:
 *   1. optimise on the current model from the study's conformer starts (optimisation.ts);
 *   2. label the model's path every `pathStride`-th step and the minima it reached on the
 *      reference (energies and forces) → optimisation/round_NN/added.extxyz;
 *   3. refit on the training set + every round's frames: θ of the current model as the only start,
 *      no likelihood search (the kernel-reach bounds of the grown set still apply), the weights by
 *      the force fit → optimisation/round_NN/models/;
 *   4. the conformer table again, on the refit model.
 * The unrefined table stays the study's main result (the paper's protocol: WTMetaD frames only);
 * each round is reported beside it with the reference calls it took. Total-energy labels only (the
 * reference gives no atomic energies to add). Rounds are reused on resume when their frames,
 * settings and inputs match (the frames are written before the refit, the refit is recorded).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Bond } from '../../chem/connectivity.js';
import { AtomgpError } from '../../errors.js';
import { readModel } from '../../io/model.js';
import { createPotential } from '../../potentials/factory.js';
import { createResult, type Potential } from '../../potentials/potential.js';
import { atomNames, type LabelledFrame, readLabelledExtxyz, writeLabelledExtxyz } from '../../sampling/export.js';
import { stageContext } from '../pipeline/run.js';
import { modelSpec, type PipelineHooks, type PipelineSettings, priorFolder } from '../pipeline/settings.js';
import { trainingSettings, trainModelSet } from '../pipeline/train.js';
import { type OptimisationResult, optimisationPathFrames, optimisationStage } from './optimisation.js';

export interface RefinementRound {
  round: number;
  /** Reference calls (energy and forces) of the round: the frames added. */
  frames_added: number;
  /** Training geometries of the refit model. */
  n_train: number;
  /** The conformer table on the refit model. */
  optimisation: OptimisationResult;
}

export interface RefinementSettings {
  rounds: number;
  /** Label every `pathStride`-th optimiser step (0: the minima only). */
  pathStride: number;
}

function roundDir(dir: string, r: number): string {
  return join(dir, 'optimisation', `round_${String(r).padStart(2, '0')}`);
}

/**
 * Run (or continue) `settings.rounds` refinement rounds of `prior`'s models in the pipeline folder
 * `dir`. `p`: the molecule's pipeline settings (the refit uses its training settings with no θ search).
 */
export async function refinementStage(
  p: PipelineSettings,
  dir: string,
  symbols: readonly string[],
  bonds: readonly Bond[],
  prior: string,
  reference: Potential,
  settings: RefinementSettings,
  resume: boolean,
  hooks: PipelineHooks,
): Promise<RefinementRound[]> {
  const out: RefinementRound[] = [];
  if (settings.rounds === 0) return out;
  const ctx = stageContext(dir, resume, hooks, p.workers);
  const trainFile = join(dir, 'data', 'train.extxyz');
  let train: LabelledFrame[] = readLabelledExtxyz(trainFile).frames;
  let modelDir = join(dir, 'models', priorFolder(prior));
  // The pipeline's system name, from its model files (SYSTEM_iqa_ATOM.model).
  const system = readdirSync(modelDir).find((f) => f.endsWith(`_iqa_${atomNames(symbols)[0]}.model`))?.split('_iqa_')[0];
  if (system === undefined) throw new AtomgpError(`refinement: no model files for ${prior} in ${modelDir}`);
  let modelFiles = atomNames(symbols).map((a) => join(modelDir, `${system}_iqa_${a}.model`));
  const addedFiles: string[] = [];
  const alfs = modelFiles.map((f) => [...readModel(f).alf]);
  // No likelihood search: θ of the current model, refit on the grown set (the force fit sets the weights).
  const refit: PipelineSettings = { ...p, maxIterations: 0, restarts: 1 };
  for (let r = 1; r <= settings.rounds; r++) {
    const rd = roundDir(dir, r);
    mkdirSync(rd, { recursive: true });
    const addedFile = join(rd, 'added.extxyz');
    let added: LabelledFrame[];
    if (resume && existsSync(addedFile)) {
      added = readLabelledExtxyz(addedFile).frames;
      ctx.log(`refinement round ${r}: reusing ${added.length} reference frames from ${addedFile}`);
    } else {
      const model = await createPotential(modelSpec(p, modelDir));
      const frames = optimisationPathFrames(dir, symbols, bonds, model, p.seed, settings.pathStride);
      const res = createResult(symbols.length);
      added = frames.map((x, k) => {
        ctx.progress(`refinement round ${r}`, k / frames.length, `reference on ${k + 1}/${frames.length} frames`);
        reference.compute(x, res, true);
        return { positionsA: x, energyHa: res.energyHa, forcesHaPerBohr: Float64Array.from(res.forcesHaPerBohr) };
      });
      writeLabelledExtxyz(addedFile, symbols, added, { refinement_round: r });
      ctx.log(`refinement round ${r}: the reference on ${added.length} frames of the model's optimisation paths and minima`);
    }
    train = [...train, ...added];
    addedFiles.push(addedFile);
    const modelsDir = join(rd, 'models');
    const warm = modelFiles;
    const res = await trainModelSet(ctx, refit, { symbols: [...symbols], alfs, reference }, train, system, prior, 'total', {
      dir: modelsDir,
      stage: `refinement round ${r}`,
      recordFile: join(relative(dir, rd), 'training.fingerprint.json'),
      inputs: [trainFile, ...addedFiles, ...warm],
      settings: { ...trainingSettings(refit, 0, 'total'), refinement_path_stride: settings.pathStride },
      batch: `refine-${r}`,
      warmStartFiles: warm,
    });
    modelFiles = res.files;
    modelDir = modelsDir;
    const model = await createPotential(modelSpec(p, modelsDir));
    const table = optimisationStage(dir, symbols, bonds, prior, model, reference, p.seed);
    if (!table) return out; // no backbone: nothing to refine (the caller checks first)
    hooks.log?.(`refinement round ${r}: ${added.length} reference frames, ${train.length} training geometries; ΔE(C5 − C7eq) model ${table.delta_e_model_kcal_per_mol.toFixed(2)}, reference ${table.delta_e_reference_kcal_per_mol.toFixed(2)} kcal/mol`);
    out.push({ round: r, frames_added: added.length, n_train: train.length, optimisation: table });
  }
  return out;
}
