/**
 * Prediction benchmark: microseconds per energy+forces call of the GP model-set potential.
 *   1. the real ammonia set (4 atoms × 500 points × 6 features, rbf×periodic), if ../shared/data is there;
 *   2. a synthetic aspirin-size set (21 atoms × 1000 points × 57 features, rbf-cyclic and rbf).
 * Each is also timed through the general kernel-tree path (the reference implementation), and the
 * ratio is printed, so the figures compare like with like on whatever machine runs this.
 * Usage: npm run bench   (or: node dist/bench/predict.js [--seconds S])
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { syntheticMolecule, type SyntheticKernel } from '../src/gp/synthetic.js';
import { readModelSet } from '../src/gp/modelset.js';
import { GpPotential } from '../src/potentials/gp.js';
import { createResult, type Potential } from '../src/potentials/potential.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;

function timeCalls(pot: Potential, positionsA: Float64Array): number {
  const out = createResult(pot.nAtoms);
  const x = Float64Array.from(positionsA);
  // Small deterministic jiggle so every call sees a new geometry.
  const jiggle = (k: number) => {
    for (let i = 0; i < x.length; i++) x[i] = positionsA[i]! + 1e-3 * Math.sin(0.7 * k + i);
  };
  for (let k = 0; k < 50; k++) {
    jiggle(k);
    pot.compute(x, out);
  }
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    for (let k = 0; k < 20; k++) {
      jiggle(calls + k);
      pot.compute(x, out);
    }
    calls += 20;
    t = performance.now();
  }
  return ((t - t0) * 1000) / calls;
}

/** Same potential, but every atom predicts through the general kernel tree. */
function genericOf(pot: GpPotential): Potential {
  for (const gp of pot.atomModels) (gp as unknown as { predict: unknown }).predict = gp.predictGeneric.bind(gp);
  return pot;
}

function row(name: string, fast: number, generic: number): void {
  console.log(
    `${name.padEnd(44)} ${fast.toFixed(1).padStart(10)} µs/call ${(1000 / fast).toFixed(2).padStart(8)} k calls/s` +
      `   generic tree ${generic.toFixed(1).padStart(9)} µs   speed-up ×${(generic / fast).toFixed(2)}`,
  );
}

console.log(`# atomgp prediction benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? 'cpu'} — node ${process.version}`);
console.log('# energy + forces per call, one thread, geometry changed every call');

const dataDir = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve('..', 'shared', 'data');
const ammoniaDir = join(dataDir, 'ammonia', 'models');
if (existsSync(ammoniaDir)) {
  const set = readModelSet(ammoniaDir, { property: 'iqa', check: true });
  const mk = () =>
    new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  // Pyramidal NH3 near equilibrium (Å).
  const nh3 = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  row('ammonia (4 atoms × 500 pts × 6 features)', timeCalls(mk(), nh3), timeCalls(genericOf(mk()), nh3));
} else {
  console.log(`# skip ammonia: ${ammoniaDir} not found (set ATOMGP_DATA)`);
}

for (const kernel of ['rbf-cyclic', 'rbf'] as SyntheticKernel[]) {
  const mol = syntheticMolecule({ nAtoms: 21, nTrain: 1000, seed: 2024, kernel, mean: 'constant' });
  const mk = () =>
    new GpPotential({ systemName: 'ASPIRIN-SIZE', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4) });
  row(`aspirin-size ${kernel} (21 × 1000 × 57)`, timeCalls(mk(), mol.positionsA), timeCalls(genericOf(mk()), mol.positionsA));
}
