/**
 * Prediction benchmark: milliseconds per energy + forces call, all figures from one run.
 *   1. float32 training inputs: the energy and gradient error they would cause on real models
 *      (FEREBUS glycine C1 and methanol C1, both likelihoods; the ichor ammonia set), against the
 *      bounds of 1e-8 Ha and 1e-7 Ha/bohr — why the kernel keeps float64;
 *   2. ms per call, rounds of A B C … so that every ratio compares like with like on a loaded
 *      machine: the synthetic aspirin-size sets (21 atoms × 1000 points × 57 features, the aspirin
 *      geometry and ALFs of bench/md-systems.ts: rbf-cyclic, and the same data as rbf), FEREBUS
 *      glycine C1 (one model, 2130 × 51) and the real ammonia set (4 × 500 × 6); variants:
 *        wrapped  float64, one thread, every wrapped term wrapped, WebAssembly kernel (the path
 *                 before issue 18)
 *        wasm 1t, wasm 2t  the WebAssembly kernel on one and two threads
 *        1 thread float64, one thread, the default kernel (native where it is built, else
 *                 WebAssembly; wrapped features as square terms inside their windows)
 *        2 threads  the same on two threads (gp/predict/team.ts)
 *        auto     the default: per call, the faster of the two in the latest probe
 *      and GFN2-xTB energy + gradient for aspirin (library driver, one thread) in the same rounds;
 *   3. MD steps/s (NVE, 0.5 fs, 300 K, from the L-BFGS minimum) on the aspirin-size set for the
 *      three variants.
 * Medians over rounds; each ratio is the median of the per-round ratios. Wall time is the figure
 * (two threads cannot show in CPU time); the one-thread CPU time per call is also given, the
 * steadier figure on a loaded machine. The load average is printed at start and end.
 * Real model sets of a pipeline or study (e.g. xtb-trained, 1000 geometries) join part 2 with
 * `--models DIR` (repeatable; the folder of one prior's .model files, with the molecule's geometry
 * at DIR/../../molecule.xyz as the pipeline writes it), each with GFN2-xTB on the same molecule in
 * the same rounds.
 * Usage: npm run bench:predict   (or: node dist/bench/predict.js [--seconds S per figure per round] [--rounds R] [--models DIR]…)
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { massesAmu } from '../src/chem/molecule.js';
import { BOHR_PER_ANGSTROM } from '../src/chem/units.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../src/dynamics/integrators.js';
import { MolecularDynamics } from '../src/dynamics/md.js';
import { computeFeatures } from '../src/features/alf.js';
import { checkConsistency } from '../src/gp/assess/consistency.js';
import type { GpModel, PeriodicPrefactor } from '../src/gp/model/model.js';
import { AtomGp } from '../src/gp/predict/predictor.js';
import { PredictTeam } from '../src/gp/predict/team.js';
import { readModel } from '../src/io/model.js';
import { readModelSet } from '../src/io/modelset.js';
import { readXyz } from '../src/io/xyz.js';
import { configureBackend, resetBackendSettings } from '../src/math/backend.js';
import { linalgTeam } from '../src/math/linalg-team.js';
import { nativePredictStatus } from '../src/math/native-predict.js';
import { lbfgs } from '../src/optimize/lbfgs.js';
import { GpPotential, type GpMoleculeModels } from '../src/potentials/gp.js';
import { createResult, type Potential } from '../src/potentials/potential.js';
import { XtbPotential, xtbAvailable } from '../src/potentials/xtb.js';
import { sharedDataForBench, syntheticAspirin } from './md-systems.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const modelDirs = process.argv.flatMap((a, i) => (a === '--models' && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
const SECONDS = Number(arg('--seconds') ?? 0.4);
const ROUNDS = Number(arg('--rounds') ?? 5);
const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');

console.log(`# atomgp prediction benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length} — node ${process.version}`);
console.log(`# load average at start: ${load()}`);

// ---------------------------------------------------------------- 1. float32 training inputs
const E_BOUND_HA = 1e-8;
const G_BOUND = 1e-7;

/** The model with its training inputs rounded to float32 around their per-feature mean (the better float32 layout). */
function float32Inputs(model: GpModel): GpModel {
  const K = model.nFeatures;
  const n = model.nTrain;
  const centre = new Float64Array(K);
  for (let j = 0; j < n; j++) for (let d = 0; d < K; d++) centre[d] = centre[d]! + model.trainX[j * K + d]! / n;
  const X = Float64Array.from(model.trainX, (v, i) => Math.fround(v - centre[i % K]!) + centre[i % K]!);
  return { ...model, trainX: X };
}

function csvFeatures(path: string, K: number, rows: number): Float64Array[] {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const cols = Array.from({ length: K }, (_, i) => head.indexOf(`f${i + 1}`));
  return lines.slice(1, rows + 1).map((l) => {
    const c = l.split(',');
    return Float64Array.from(cols, (i) => Number(c[i]));
  });
}

function float32Error(name: string, model: GpModel, pp: PeriodicPrefactor, queries: Float64Array[]): void {
  const exact = new AtomGp(model, pp);
  const rounded = new AtomGp(float32Inputs(model), pp);
  const K = model.nFeatures;
  const g1 = new Float64Array(K);
  const g2 = new Float64Array(K);
  let dE = 0;
  let dG = 0;
  for (const x of queries) {
    dE = Math.max(dE, Math.abs(exact.predict(x, g1) - rounded.predict(x, g2)));
    for (let d = 0; d < K; d++) dG = Math.max(dG, Math.abs(g1[d]! - g2[d]!));
  }
  let wMax = 0;
  for (const w of model.weights) wMax = Math.max(wMax, Math.abs(w));
  const verdict = dE <= E_BOUND_HA && dG <= G_BOUND ? 'within' : `outside (×${(dE / E_BOUND_HA).toExponential(1)} the energy bound)`;
  console.log(
    `${name.padEnd(34)} ${`${model.nTrain} × ${K}`.padEnd(10)} max|w| ${wMax.toExponential(1)}   max|ΔE| ${dE.toExponential(2)} Ha   max|Δg| ${dG.toExponential(2)}   ${verdict}`,
  );
}

console.log('\n## float32 training inputs (centred per feature) against float64, on real models; bounds |ΔE| ≤ 1e-8 Ha, |Δg| ≤ 1e-7 Ha/bohr');
const ferebus = sharedDataForBench('ferebus-benchmark');
const glycinePath = ferebus && join(ferebus, 'glycine/marginal/GLYCINE_iqa_C1.model');
const glycineQueries = ferebus ? csvFeatures(join(ferebus, 'glycine/GLYCINE_C1_VALIDATION_SET.csv'), 51, 40) : [];
if (ferebus) {
  for (const [mol, atom, K] of [['glycine', 'C1', 51], ['methanol', 'C1', 12]] as const) {
    const queries = csvFeatures(join(ferebus, `${mol}/${mol.toUpperCase()}_${atom}_VALIDATION_SET.csv`), K, 40);
    for (const lik of ['marginal', 'concentrated']) {
      const model = readModel(join(ferebus, `${mol}/${lik}/${mol.toUpperCase()}_iqa_${atom}.model`));
      float32Error(`FEREBUS ${mol} ${atom} (${lik})`, model, checkConsistency(model).periodicPrefactor, queries);
    }
  }
}
const ammoniaDir = sharedDataForBench('ammonia/models');
const ammonia = ammoniaDir ? readModelSet(ammoniaDir, { property: 'iqa', check: true }) : undefined;
if (ammonia) {
  for (const [i, model] of ammonia.models.entries()) {
    const K = model.nFeatures;
    const queries = Array.from({ length: 40 }, (_, q) => Float64Array.from(model.trainX.subarray(12 * q * K, (12 * q + 1) * K), (v, d) => v + 0.01 * Math.sin(q + d)));
    float32Error(`ichor ammonia ${model.atom}`, model, ammonia.periodicPrefactors[i]!, queries);
  }
}

// ---------------------------------------------------------------- 2. ms per call
/** One timed thing: a call at a geometry that changes every call. */
interface Variant {
  label: string;
  call: (k: number) => void;
}

/** CPU ms of this process per call, per variant and round, from the last `timeRounds`. */
let cpuPerCall: number[][] = [];

function timeRounds(variants: Variant[], seconds = SECONDS, rounds = ROUNDS): number[][] {
  const ms: number[][] = variants.map(() => []);
  cpuPerCall = variants.map(() => []);
  for (const v of variants) for (let k = 0; k < 20; k++) v.call(k);
  for (let r = 0; r < rounds; r++) {
    for (const [i, v] of variants.entries()) {
      let calls = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let t = t0;
      while (t - t0 < seconds * 1000 || calls < 3) {
        v.call(calls++);
        t = performance.now();
      }
      ms[i]!.push((t - t0) / calls);
      const c = process.cpuUsage(c0);
      cpuPerCall[i]!.push((c.user + c.system) / 1000 / calls);
    }
  }
  return ms;
}

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
};
const ratio = (a: number[], b: number[]): number => median(a.map((v, r) => v / b[r]!));

function potentialVariant(label: string, pot: Potential, positionsA: Float64Array): Variant {
  const out = createResult(pot.nAtoms);
  const x = Float64Array.from(positionsA);
  return {
    label,
    call: (k) => {
      for (let i = 0; i < x.length; i++) x[i] = positionsA[i]! + 1e-3 * Math.sin(0.7 * k + i);
      pot.compute(x, out);
    },
  };
}

const native = nativePredictStatus();
console.log(`# prediction kernel: ${native.available ? `native (${native.description})` : `WebAssembly (native: ${native.reason})`}`);
const xtb = xtbAvailable();
const aspirin = syntheticAspirin();
const aspirinXtb = xtb.library ? new XtbPotential({ symbols: aspirin.symbols, driver: 'library', accuracy: 1 }) : undefined;
const xtbVariant = aspirinXtb ? potentialVariant('xtb', aspirinXtb, aspirin.referenceA) : undefined;

interface SetRow {
  name: string;
  variants: Variant[];
  /** GFN2-xTB on the row's molecule, timed in the same rounds (the aspirin rows share one). */
  xtb?: Variant;
  /** Index of the float64 one-thread variant (the reference of the ratios). */
  ref: number;
}

/** Builds with the prediction backend forced to the WebAssembly kernel. */
function onWasm<T>(make: () => T): T {
  configureBackend({ predict: 'wasm' });
  try {
    return make();
  } finally {
    resetBackendSettings();
  }
}

function modelSetRow(name: string, mol: GpMoleculeModels, positionsA: Float64Array, cyclic: boolean): SetRow {
  const variants: Variant[] = [];
  if (cyclic) {
    // The path before issue 18: every wrapped term wrapped, the WebAssembly kernel.
    variants.push(potentialVariant('wrapped', onWasm(() => new GpPotential(mol, 1, { threads: 1, squareWrapped: false })), positionsA));
  }
  if (native.available) {
    variants.push(potentialVariant('wasm 1t', onWasm(() => new GpPotential(mol, 1, { threads: 1 })), positionsA));
    const w2 = onWasm(() => new GpPotential(mol, 1, { threads: 2 }));
    w2.waitThreadsReady();
    variants.push(potentialVariant('wasm 2t', w2, positionsA));
  }
  const ref = variants.length;
  variants.push(potentialVariant('1 thread', new GpPotential(mol, 1, { threads: 1 }), positionsA));
  const two = new GpPotential(mol, 1, { threads: 2 });
  two.waitThreadsReady();
  variants.push(potentialVariant('2 threads', two, positionsA));
  // The default: per call, whichever of one thread and two was faster in the latest probe.
  variants.push(potentialVariant('auto', new GpPotential(mol, 1, {}), positionsA));
  return { name, variants, ref };
}

/** One model at feature vectors near `x0`: one thread, and its two halves on two threads. */
function oneModelRow(name: string, model: GpModel, x0: Float64Array): SetRow {
  const K = model.nFeatures;
  const x = Float64Array.from(x0);
  const g = new Float64Array(K);
  const jiggle = (k: number) => {
    for (let d = 0; d < K; d++) x[d] = x0[d]! * (1 + 1e-4 * Math.sin(0.7 * k + d));
  };
  const one = new AtomGp(model, 4);
  const teamed = new AtomGp(model, 4);
  const team = PredictTeam.create(linalgTeam(2)!, [teamed])!;
  team.waitReady();
  return {
    name,
    ref: 0,
    variants: [
      {
        label: '1 thread',
        call: (k) => {
          jiggle(k);
          one.predict(x, g);
        },
      },
      {
        label: '2 threads',
        call: (k) => {
          jiggle(k);
          if (team.begin(0, teamed, x, true)) {
            team.run();
            team.finish(0, teamed, x, g);
          } else teamed.predict(x, g);
        },
      },
    ],
  };
}

const aspirinMol: GpMoleculeModels = { systemName: 'ASPIRIN-SIZE', models: aspirin.models, symbols: aspirin.symbols, periodicPrefactors: aspirin.models.map(() => 4) };
const aspirinRbf: GpMoleculeModels = {
  ...aspirinMol,
  models: aspirin.models.map((m) => ({ ...m, kernels: m.kernels.map((k) => ({ ...k, type: 'rbf' as const })) })),
};
let squareable = 0;
let wrappedTotal = 0;
{
  const feats = computeFeatures(Float64Array.from(aspirin.referenceA, (v) => v * BOHR_PER_ANGSTROM), aspirin.alfs);
  let inWindow = 0;
  for (const [a, m] of aspirin.models.entries()) {
    const gp = new AtomGp(m, 4);
    const K = m.nFeatures;
    for (let d = 5; d < K; d += 3) {
      wrappedTotal++;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < m.nTrain; j++) {
        lo = Math.min(lo, m.trainX[j * K + d]!);
        hi = Math.max(hi, m.trainX[j * K + d]!);
      }
      if (lo >= -Math.PI && hi <= Math.PI && hi - lo <= Math.PI) squareable++;
    }
    if (gp.wrapFree(feats[a]!)) inWindow++;
  }
  console.log(`\n# aspirin-size rbf-cyclic: ${squareable} of ${wrappedTotal} wrapped features span ≤ π; at the reference geometry ${inWindow} of 21 atoms are inside every window`);
}

const rows: SetRow[] = [
  modelSetRow('aspirin-size rbf-cyclic (21 × 1000 × 57)', aspirinMol, aspirin.referenceA, true),
  modelSetRow('aspirin-size rbf (21 × 1000 × 57)', aspirinRbf, aspirin.referenceA, false),
];
if (glycinePath && glycineQueries.length > 0) rows.push(oneModelRow('FEREBUS glycine C1, one model (2130 × 51)', readModel(glycinePath), glycineQueries[0]!));
for (const dir of modelDirs) {
  const set = readModelSet(dir, { property: 'iqa', check: true });
  const xyz = join(dir, '..', '..', 'molecule.xyz');
  if (!existsSync(xyz)) throw new Error(`--models ${dir}: no molecule geometry at ${xyz}`);
  const start = readXyz(xyz)[0]!.positionsA;
  const m0 = set.models[0]!;
  const row = modelSetRow(
    `${set.systemName.toLowerCase()} ${m0.kernels.map((k) => k.type).join('×')} (${set.models.length} × ${m0.nTrain} × ${m0.nFeatures})`,
    { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
    start,
    false,
  );
  if (xtb.library) row.xtb = potentialVariant('xtb', new XtbPotential({ symbols: [...set.symbols], driver: 'library', accuracy: 1 }), start);
  rows.push(row);
}
if (ammonia) {
  const nh3 = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  rows.push(
    modelSetRow('ichor ammonia (4 × 500 × 6)', { systemName: ammonia.systemName, models: ammonia.models, symbols: ammonia.symbols, periodicPrefactors: ammonia.periodicPrefactors }, nh3, false),
  );
}

console.log(`\n## ms per energy + forces call (wall), median of ${ROUNDS} rounds; ratios: median per-round ratio; xtb: GFN2 aspirin, library driver, 1 thread, same rounds`);
console.log(`${'set'.padEnd(44)} ${'wrapped'.padStart(9)} ${'wasm 1t'.padStart(9)} ${'wasm 2t'.padStart(9)} ${'1 thread'.padStart(9)} ${'2 threads'.padStart(9)} ${'auto'.padStart(9)}   wrapped/1t wasm1t/1t wasm2t/2t  1t/2t  1t/auto   xtb/1t   xtb/2t   1t CPU ms`);
let xtbMs: number[] = [];
for (const row of rows) {
  const rowXtb = row.xtb ?? (row.name.startsWith('aspirin') ? xtbVariant : undefined);
  const withXtb = rowXtb ? [...row.variants, rowXtb] : row.variants;
  const ms = timeRounds(withXtb);
  const byLabel = (l: string, of = ms) => {
    const i = withXtb.findIndex((v) => v.label === l);
    return i < 0 ? undefined : of[i]!;
  };
  const oneCpu = byLabel('1 thread', cpuPerCall)!;
  const wrapped = byLabel('wrapped');
  const wasm1 = byLabel('wasm 1t');
  const wasm2 = byLabel('wasm 2t');
  const one = byLabel('1 thread')!;
  const two = byLabel('2 threads')!;
  const auto = byLabel('auto');
  const x = byLabel('xtb');
  if (x && !row.xtb) xtbMs = xtbMs.concat(x);
  if (x && row.xtb) console.log(`# xtb on ${row.name.split(' ')[0]}: median ${median(x).toFixed(2)} ms per call`);
  const cell = (a?: number[]) => (a ? median(a).toFixed(3) : '—').padStart(9);
  const r = (a?: number[], b?: number[]) => (a && b ? `×${ratio(a, b).toFixed(2)}` : '—').padStart(8);
  console.log(`${row.name.padEnd(44)} ${cell(wrapped)} ${cell(wasm1)} ${cell(wasm2)} ${cell(one)} ${cell(two)} ${cell(auto)}   ${r(wrapped, one).padStart(10)} ${r(wasm1, one).padStart(9)} ${r(wasm2, two).padStart(9)} ${r(one, two)} ${r(one, auto)} ${r(x, one)} ${r(x, two)} ${cell(oneCpu)}`);
}
if (xtbMs.length > 0) console.log(`# xtb aspirin energy + gradient: median ${median(xtbMs).toFixed(2)} ms per call over ${xtbMs.length} rounds`);
else console.log(`# xtb not measured: ${xtb.reason ?? 'library driver unavailable'}`);
aspirinXtb?.dispose();

// ---------------------------------------------------------------- 3. MD steps/s
console.log('\n## MD on the aspirin-size set: NVE, 0.5 fs, 300 K from the L-BFGS minimum, steps/s (wall), median of rounds');
{
  const one = new GpPotential(aspirinMol, 1, { threads: 1 });
  const startA = lbfgs(one, aspirin.referenceA, { fmaxKcalPerMolPerA: 0.05, maxSteps: 500 }).positionsA;
  const before = onWasm(() => new GpPotential(aspirinMol, 1, { threads: 1, squareWrapped: false }));
  const wasmOne = onWasm(() => new GpPotential(aspirinMol, 1, { threads: 1 }));
  const two = new GpPotential(aspirinMol, 1, { threads: 2 });
  two.waitThreadsReady();
  const settings = { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve' as const, timestepFs: 0.5, temperatureK: 300 };
  const auto = new GpPotential(aspirinMol);
  const runs = [before, one, two, auto, wasmOne].map((p) => MolecularDynamics.create(p, settings, startA, massesAmu(aspirin.symbols), 1));
  const ms = timeRounds(
    runs.map((md, i) => ({ label: String(i), call: () => md.run(md.state.step + 1) })),
    Math.max(SECONDS, 0.5),
    ROUNDS,
  );
  const perS = ms.map((a) => 1000 / median(a));
  console.log(`wrapped path, 1 thread, wasm (before) ${perS[0]!.toFixed(0).padStart(6)} steps/s`);
  console.log(`1 thread                          ${perS[1]!.toFixed(0).padStart(6)} steps/s   ×${ratio(ms[0]!, ms[1]!).toFixed(2)} against before`);
  console.log(`2 threads                         ${perS[2]!.toFixed(0).padStart(6)} steps/s   ×${ratio(ms[0]!, ms[2]!).toFixed(2)} against before, ×${ratio(ms[1]!, ms[2]!).toFixed(2)} against 1 thread`);
  console.log(`auto (the default)                ${perS[3]!.toFixed(0).padStart(6)} steps/s   ×${ratio(ms[0]!, ms[3]!).toFixed(2)} against before, ×${ratio(ms[1]!, ms[3]!).toFixed(2)} against 1 thread`);
  console.log(`WebAssembly kernel, 1 thread      ${perS[4]!.toFixed(0).padStart(6)} steps/s   (1 thread ×${ratio(ms[4]!, ms[1]!).toFixed(2)} against it)`);
}
console.log(`# load average at end: ${load()}`);
if (!existsSync(join('..', 'shared', 'data')) && !process.env.ATOMGP_DATA) console.log('# real-model rows need ../shared/data or ATOMGP_DATA');
