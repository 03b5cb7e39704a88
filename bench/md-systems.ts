/**
 * Test systems for the MD benchmark (bench/md.ts):
 *   - the synthetic aspirin-size model set as an MD potential: the aspirin preset geometry, its own
 *     ALFs (chem/alf-assign.ts), and 21 models × 1000 training points × 57 features from
 *     gp/synthetic.ts, whose training inputs are the real features of displaced copies of that
 *     geometry. Random weights alone give a surface that does not bind the molecule (it would fly
 *     apart and the timing would be of a gas of atoms), so each model's prior mean is made a
 *     quadratic bowl centred on the reference features (the FFLUX mean form, gp/mean.ts); the random
 *     GP sum rides on top of it. Training targets are set to what the models predict at their own
 *     training inputs, so the set passes the loader's self-consistency check (gp/consistency.ts)
 *     and can be written to a folder and loaded by worker threads like any real model set;
 *   - the shared ammonia models, found by the data rule of test/helpers/data.ts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assignAlf } from '../src/chem/alf-assign.js';
import { presetMolecule } from '../src/chem/presets.js';
import { BOHR_PER_ANGSTROM } from '../src/chem/units.js';
import { AlfFeaturizer } from '../src/features/alf.js';
import type { GpModel } from '../src/gp/model/model.js';
import { AtomGp } from '../src/gp/predict/predictor.js';
import { seededUniform, syntheticMolecule } from '../src/gp/model/synthetic.js';
import { writeModel } from '../src/io/model.js';

export interface SyntheticAspirin {
  symbols: string[];
  /** Preset geometry (Å) the bowls are centred on; not exactly the minimum (the GP sum tilts it). */
  referenceA: Float64Array;
  models: GpModel[];
  /** ALFs, 0-based. */
  alfs: number[][];
  /** Smallest sin θ of any (R, θ, φ) feature at the reference: how close an atom sits to a frame's pole. */
  minSinTheta: number;
}

/** Bowl curvatures (Ha/bohr², Ha/rad²): bonded-range distances stiff, the rest soft, φ free (not wrapped in the mean). */
const BOWL = { bondedBohr: 3.2, bonded: 0.2, distant: 0.01, alfAngle: 0.05, polar: 0.02 };

/**
 * The synthetic aspirin-size set (21 atoms × `nTrain` points × 57 features, rbf-cyclic kernels).
 * `weightScale` multiplies gp/synthetic.ts's random weights (±0.01): at 1 the random sum dominates
 * the bowls (forces ≈ 0.2 Ha/bohr at the reference), at 0.1 it is a realistic ripple on them.
 */
export function syntheticAspirin(nTrain = 1000, seed = 2024, weightScale = 0.1): SyntheticAspirin {
  const mol = presetMolecule('aspirin');
  const alfs = assignAlf(mol.symbols, mol.bonds).map((alf) => alf.map((k) => k - 1));
  const n = mol.symbols.length;
  const syn = syntheticMolecule({
    nAtoms: n,
    nTrain,
    seed,
    kernel: 'rbf-cyclic',
    mean: 'constant',
    geometry: { symbols: mol.symbols, positionsA: mol.positionsA, alfs },
  });
  const rnd = seededUniform(seed + 1);
  const posBohr = Float64Array.from(mol.positionsA, (v) => v * BOHR_PER_ANGSTROM);
  const idx = Array.from({ length: n }, (_, i) => i);
  let minSinTheta = 1;
  const models = syn.models.map((m, a) => {
    const K = m.nFeatures;
    const f0 = new Float64Array(K);
    new AlfFeaturizer(idx, alfs[a]!).compute(posBohr, f0);
    const beta = new Float64Array(K);
    const jitter = () => 0.75 + 0.5 * rnd();
    for (let k = 0; k < K; k++) {
      const kind = k < 3 ? k : 3 + ((k - 3) % 3); // 0,1: ALF distances; 2: ALF angle; 3: R; 4: θ; 5: φ
      if (kind === 0 || kind === 1 || kind === 3) beta[k] = (f0[k]! < BOWL.bondedBohr ? BOWL.bonded : BOWL.distant) * jitter();
      else if (kind === 2) beta[k] = BOWL.alfAngle * jitter();
      else if (kind === 4) {
        const s = Math.sin(f0[k]!);
        minSinTheta = Math.min(minSinTheta, s);
        // θ is a cone at the poles: no bowl there.
        beta[k] = s > 0.3 ? BOWL.polar * jitter() : 0;
      }
    }
    const yMin = m.mean.type === 'constant' ? m.mean.value : -40;
    const model: GpModel = {
      ...m,
      systemName: 'ASPIRIN',
      metadata: ['program atomgp-synthetic (bench/md-systems.ts: aspirin preset, quadratic-bowl mean, random weights)'],
      mean: { type: 'quadratic', beta, xMin: f0, yMin },
      weights: m.weights.map((w) => w * weightScale),
    };
    // Targets = the model's own prediction at its training inputs (noise-free), so (K) w = y − m(X).
    const gp = new AtomGp(model, 4);
    const x = new Float64Array(K);
    const trainY = new Float64Array(m.nTrain);
    for (let j = 0; j < m.nTrain; j++) {
      x.set(m.trainX.subarray(j * K, (j + 1) * K));
      trainY[j] = gp.predict(x);
    }
    return { ...model, trainY };
  });
  return { symbols: mol.symbols, referenceA: mol.positionsA, models, alfs, minSinTheta };
}

/** Write one `<SYSTEM>_iqa_<atom>.model` per model into `dir` (created if needed). */
export function writeModelFolder(dir: string, models: readonly GpModel[]): void {
  mkdirSync(dir, { recursive: true });
  for (const m of models) writeModel(join(dir, `${m.systemName}_iqa_${m.atom}.model`), m);
}

/**
 * A path in the shared data (../shared/data or $ATOMGP_DATA), or undefined with a message on
 * stderr when it is missing; under CI=true a missing data set is an error (the rule of
 * test/helpers/data.ts, which benches cannot import: they build from src and bench only).
 */
export function sharedDataForBench(relative: string): string | undefined {
  const root = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
  const p = join(root, relative);
  if (existsSync(p)) return p;
  if (process.env.CI === 'true') throw new Error(`shared data set '${relative}' is missing at ${p} (CI=true requires it; set ATOMGP_DATA)`);
  process.stderr.write(`# skip: shared data '${relative}' not found at ${p} (set ATOMGP_DATA)\n`);
  return undefined;
}
