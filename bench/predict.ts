/**
 * Prediction benchmark: microseconds per energy+forces call of the GP model-set potential.
 *   1. the real ammonia set (4 atoms × 500 points × 6 features, rbf×periodic), if ../shared/data is there;
 *   2. a synthetic aspirin-size set (21 atoms × 1000 points × 57 features, rbf-cyclic and rbf).
 * Each set is timed three ways in the same run: the WebAssembly SIMD kernel (the default where
 * available), the fused TypeScript pass (backend 'ts', the reference and fallback), and the general
 * kernel-tree path; ratios are printed so the figures compare like with like on whatever machine
 * runs this. Wall time and this process's CPU time per call are both given: on a loaded machine the
 * CPU time is the steadier figure.
 * Usage: npm run bench   (or: node dist/bench/predict.js [--seconds S])
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { syntheticMolecule, type SyntheticKernel } from '../src/gp/model/synthetic.js';
import { readModelSet } from '../src/io/modelset.js';
import { GpPotential, type GpPotentialOptions } from '../src/potentials/gp.js';
import { createResult, type Potential } from '../src/potentials/potential.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;

interface Timing {
  wallUs: number;
  cpuUs: number;
}

function timeCalls(pot: Potential, positionsA: Float64Array): Timing {
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
  const c0 = process.cpuUsage();
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
  const c = process.cpuUsage(c0);
  return { wallUs: ((t - t0) * 1000) / calls, cpuUs: (c.user + c.system) / calls };
}

/** Same potential, but every atom predicts through the general kernel tree. */
function genericOf(pot: GpPotential): Potential {
  for (const gp of pot.atomModels) (gp as unknown as { predict: unknown }).predict = gp.predictGeneric.bind(gp);
  return pot;
}

const fmt = (t: Timing) => `${t.wallUs.toFixed(1).padStart(8)} (${t.cpuUs.toFixed(1).padStart(8)})`;

function header(): void {
  console.log(
    `${'set'.padEnd(42)} ${'backend'.padEnd(8)} ${'wasm µs (cpu)'.padStart(19)} ${'ts µs (cpu)'.padStart(19)} ` +
      `${'tree µs (cpu)'.padStart(19)}  ts/wasm  tree/wasm`,
  );
}

/** Time one set through the default backend, the TypeScript pass and the general tree. */
function row(name: string, make: (opts: GpPotentialOptions) => GpPotential, positionsA: Float64Array): void {
  const pot = make({});
  const backend = pot.atomModels[0]?.backend ?? '?';
  const fast = timeCalls(pot, positionsA);
  const ts = timeCalls(make({ backend: 'ts' }), positionsA);
  const tree = timeCalls(genericOf(make({ backend: 'ts' })), positionsA);
  console.log(
    `${name.padEnd(42)} ${backend.padEnd(8)} ${fmt(fast)} ${fmt(ts)} ${fmt(tree)}  ` +
      `×${(ts.cpuUs / fast.cpuUs).toFixed(2).padStart(5)}  ×${(tree.cpuUs / fast.cpuUs).toFixed(2).padStart(6)}`,
  );
}

console.log(`# atomgp prediction benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? 'cpu'} — node ${process.version}`);
console.log('# energy + forces per call, one thread, geometry changed every call; µs wall (µs CPU); ratios from CPU time');
header();

const dataDir = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve('..', 'shared', 'data');
const ammoniaDir = join(dataDir, 'ammonia', 'models');
if (existsSync(ammoniaDir)) {
  const set = readModelSet(ammoniaDir, { property: 'iqa', check: true });
  const mk = (opts: GpPotentialOptions) =>
    new GpPotential(
      { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
      1,
      opts,
    );
  // Pyramidal NH3 near equilibrium (Å).
  const nh3 = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  row('ammonia (4 atoms × 500 pts × 6 features)', mk, nh3);
} else {
  console.log(`# skip ammonia: ${ammoniaDir} not found (set ATOMGP_DATA)`);
}

for (const kernel of ['rbf-cyclic', 'rbf'] as SyntheticKernel[]) {
  const mol = syntheticMolecule({ nAtoms: 21, nTrain: 1000, seed: 2024, kernel, mean: 'constant' });
  const mk = (opts: GpPotentialOptions) =>
    new GpPotential(
      { systemName: 'ASPIRIN-SIZE', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4) },
      1,
      opts,
    );
  row(`aspirin-size ${kernel} (21 × 1000 × 57)`, mk, mol.positionsA);
}
