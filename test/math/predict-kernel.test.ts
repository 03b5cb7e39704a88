import { test } from 'node:test';
import { configureBackend, resetBackendSettings, settingsFromEnvironment } from '../../src/math/backend.js';
import { loadNativePredict, nativeLibraryCandidates, nativePredictStatus } from '../../src/math/native-predict.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOHR_PER_ANGSTROM } from '../../src/chem/units.js';
import { computeFeatures } from '../../src/features/alf.js';
import { checkConsistency } from '../../src/gp/assess/consistency.js';
import type { GpModel } from '../../src/gp/model/model.js';
import { readModelSet } from '../../src/io/modelset.js';
import { AtomGp } from '../../src/gp/predict/predictor.js';
import { type SyntheticKernel, type SyntheticMean, syntheticMolecule } from '../../src/gp/model/synthetic.js';
import { backendFromEnv, kernelModule } from '../../src/math/wasm/predict-kernel.js';
import { readModel } from '../../src/io/model.js';
import { GpPotential } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';
import { assembleKernel, BYTES_PATH, bytesModule } from '../../scripts/gen-wasm.js';
import { sharedData } from '../helpers/data.js';

const wasmAvailable = kernelModule() !== null;
const native = nativePredictStatus();
if (!native.available && process.env.CI === 'true') throw new Error(`the native prediction kernel is required under CI (npm run build builds it): ${native.reason}`);
if (!native.available) process.stdout.write(`# native prediction kernel not available (${native.reason}): its comparisons are skipped\n`);
/** The kernels on the same layout (WebAssembly, native) available here, each compared with the TypeScript pass. */
const KERNELS = (['wasm', 'native'] as const).filter((k) => (k === 'wasm' ? wasmAvailable : native.available));
/** Runs `fn` with the prediction backend forced to `kind` (models built inside use it). */
function withKernel(kind: 'wasm' | 'native', fn: () => void): void {
  configureBackend({ predict: kind });
  try {
    fn();
  } finally {
    resetBackendSettings();
  }
}

test('the committed kernel bytes are exactly what kernel.wat assembles to', async () => {
  const bytes = await assembleKernel();
  const sharedBytes = await assembleKernel(true);
  assert.equal(readFileSync(BYTES_PATH, 'utf8'), bytesModule(bytes, sharedBytes), 'run: node --import tsx scripts/gen-wasm.ts');
});

/**
 * Compare the SIMD kernel with the TypeScript pass at x. Sums are reordered, so the differences are
 * rounding of the summed terms: they are measured against Σ_j |w_j k_j| (energy) and Σ_j |w_j ∂k_j/∂x_d|
 * (gradient), the magnitudes that cancel, rather than against the (possibly much smaller) result.
 */
function compareAt(wasm: AtomGp, ts: AtomGp, model: GpModel, x: Float64Array): { dE: number; dG: number; relE: number } {
  const K = model.nFeatures;
  const gw = new Float64Array(K);
  const gt = new Float64Array(K);
  const ew = wasm.predict(x, gw);
  const et = ts.predict(x, gt);
  let scaleE = 0;
  const scaleG = new Float64Array(K);
  const gj = new Float64Array(K);
  for (let j = 0; j < model.nTrain; j++) {
    gj.fill(0);
    const k = ts.kernel.valueAddGradient(x, 0, model.trainX, j * K, model.weights[j]!, gj);
    scaleE += Math.abs(model.weights[j]! * k);
    for (let d = 0; d < K; d++) scaleG[d] = scaleG[d]! + Math.abs(gj[d]!);
  }
  let dG = 0;
  for (let d = 0; d < K; d++) dG = Math.max(dG, Math.abs(gw[d]! - gt[d]!) / (scaleG[d]! + 1e-300));
  return { dE: Math.abs(ew - et) / (scaleE + 1e-300), dG, relE: Math.abs(ew - et) / Math.abs(et) };
}

for (const kind of KERNELS) test(`${kind} kernel equals the TypeScript pass for every kernel type, composition and mean`, () => withKernel(kind, () => {
  const kernels: SyntheticKernel[] = ['rbf', 'rbf-cyclic', 'rbf*periodic', 'rbf-cyclic*periodic'];
  const means: SyntheticMean[] = ['zero', 'constant', 'linear', 'quadratic'];
  let worstE = 0;
  let worstG = 0;
  let worstRel = 0;
  for (const [ki, kernel] of kernels.entries()) {
    // 4, 5 and 7 atoms: 6, 9 and 15 features (odd and even vector counts); 203 points (not a multiple of 4).
    for (const nAtoms of [4, 5, 7]) {
      const mol = syntheticMolecule({ nAtoms, nTrain: 203, seed: 11 + ki, kernel, mean: means[(ki + nAtoms) % 4]!, displacementA: 0.3 });
      for (const [a, model] of mol.models.entries()) {
        const wasm = new AtomGp(model, 4);
        const ts = new AtomGp(model, 4, { backend: 'ts' });
        assert.equal(wasm.backend, kind, `${kernel} atom ${a}`);
        assert.equal(ts.backend, 'ts');
        for (const shift of [0, 0.15, 0.6]) {
          const pos = Float64Array.from(mol.positionsA, (v, i) => (v + shift * Math.sin(3 * i + a)) * BOHR_PER_ANGSTROM);
          const x = computeFeatures(pos, mol.alfs)[a]!;
          const r = compareAt(wasm, ts, model, x);
          worstE = Math.max(worstE, r.dE);
          worstG = Math.max(worstG, r.dG);
          worstRel = Math.max(worstRel, r.relE);
        }
      }
    }
  }
  process.stdout.write(`# synthetic, ${kind}: max |ΔE|/Σ|wk| = ${worstE.toExponential(2)}, max |ΔE/E| = ${worstRel.toExponential(2)}, max |Δg|/Σ|w∂k| = ${worstG.toExponential(2)}\n`);
  assert.ok(worstE < 1e-14, `energy ${worstE}`);
  assert.ok(worstRel < 1e-12, `energy relative ${worstRel}`);
  assert.ok(worstG < 1e-13, `gradient ${worstG}`);
}));

test('kernels with sums use the tree; wrapped inputs out of range fall back to the TypeScript pass', { skip: !wasmAvailable && 'no WebAssembly SIMD' }, () => {
  const sum = syntheticMolecule({ nAtoms: 4, nTrain: 20, seed: 3, kernel: 'rbf+periodic' });
  assert.equal(new AtomGp(sum.models[0]!, 4).backend, 'tree');
  const mol = syntheticMolecule({ nAtoms: 5, nTrain: 41, seed: 4, kernel: 'rbf-cyclic', mean: 'linear' });
  const model = mol.models[0]!;
  const wasm = new AtomGp(model, 4);
  const ts = new AtomGp(model, 4, { backend: 'ts' });
  const x = computeFeatures(Float64Array.from(mol.positionsA, (v) => v * BOHR_PER_ANGSTROM), mol.alfs)[0]!;
  // Feature 3 is wrapped (every third active dimension of rbf-cyclic): push it beyond 3π, where
  // one 2π shift no longer suffices; the kernel must decline and the TypeScript path answer.
  for (const v of [3.2, -3.2, 7, -11, 40]) {
    const y = Float64Array.from(x);
    y[2] = v;
    const gw = new Float64Array(model.nFeatures);
    const gt = new Float64Array(model.nFeatures);
    const ew = wasm.predict(y, gw);
    const et = ts.predict(y, gt);
    assert.ok(Math.abs(ew - et) <= 1e-13 * Math.abs(et), `x3 = ${v}: ${ew} vs ${et}`);
    for (let d = 0; d < model.nFeatures; d++) assert.ok(Math.abs(gw[d]! - gt[d]!) <= 1e-10 * (1 + Math.abs(gt[d]!)), `x3 = ${v}, g${d}`);
  }
  // Training data with a wrapped input outside [−π, π]: the model keeps the TypeScript pass.
  const odd: GpModel = { ...model, trainX: Float64Array.from(model.trainX) };
  odd.trainX[2] = 4;
  assert.equal(new AtomGp(odd, 4).backend, 'ts');
  // NaN input gives NaN, not a silently finite number.
  const y = Float64Array.from(x);
  y[0] = Number.NaN;
  assert.ok(Number.isNaN(wasm.predict(y)));
});

test('ATOMGP_PREDICT_BACKEND=ts and ATOMGP_NO_WASM=1 force the TypeScript pass', () => {
  const saved = { a: process.env.ATOMGP_PREDICT_BACKEND, b: process.env.ATOMGP_NO_WASM };
  try {
    delete process.env.ATOMGP_NO_WASM;
    resetBackendSettings();
    process.env.ATOMGP_PREDICT_BACKEND = 'ts';
    resetBackendSettings();
    assert.equal(backendFromEnv(), 'ts');
    const mol = syntheticMolecule({ nAtoms: 4, nTrain: 10, seed: 1, kernel: 'rbf' });
    assert.equal(new AtomGp(mol.models[0]!, 4).backend, 'ts');
    delete process.env.ATOMGP_PREDICT_BACKEND;
    resetBackendSettings();
    assert.equal(backendFromEnv(), 'auto');
    process.env.ATOMGP_NO_WASM = '1';
    resetBackendSettings();
    assert.equal(backendFromEnv(), 'ts');
  } finally {
    if (saved.a === undefined) delete process.env.ATOMGP_PREDICT_BACKEND;
    else process.env.ATOMGP_PREDICT_BACKEND = saved.a;
    if (saved.b === undefined) delete process.env.ATOMGP_NO_WASM;
    else process.env.ATOMGP_NO_WASM = saved.b;
    resetBackendSettings();
  }
});

const ammonia = sharedData('ammonia/models');
for (const kind of KERNELS) test(`real ammonia models (rbf×periodic): ${kind} and TypeScript potentials agree`, { skip: !ammonia && 'no data' }, () => withKernel(kind, () => {
  const set = readModelSet(ammonia!, { property: 'iqa', check: true });
  const mk = (backend: 'auto' | 'ts') =>
    new GpPotential(
      { systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors },
      1,
      { backend },
    );
  const wasm = mk('auto');
  const ts = mk('ts');
  assert.equal(wasm.atomModels[0]!.backend, kind);
  const ow = createResult(4);
  const ot = createResult(4);
  const nh3 = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  let dE = 0;
  let dF = 0;
  for (let k = 0; k < 20; k++) {
    const x = nh3.map((v, i) => v + 0.08 * Math.sin(1.3 * k + 2.1 * i));
    wasm.compute(x, ow);
    ts.compute(x, ot);
    dE = Math.max(dE, Math.abs(ow.energyHa - ot.energyHa) / Math.abs(ot.energyHa));
    for (let a = 0; a < 4; a++) dE = Math.max(dE, Math.abs(ow.atomicEnergiesHa[a]! - ot.atomicEnergiesHa[a]!) / Math.abs(ot.atomicEnergiesHa[a]!));
    for (let i = 0; i < 12; i++) dF = Math.max(dF, Math.abs(ow.forcesHaPerBohr[i]! - ot.forcesHaPerBohr[i]!));
  }
  process.stdout.write(`# ammonia, ${kind}: max relative ΔE (total and atomic) ${dE.toExponential(2)}, max |ΔF| ${dF.toExponential(2)} Ha/bohr\n`);
  assert.ok(dE < 1e-12, `energy ${dE}`);
  assert.ok(dF < 1e-11, `forces ${dF} Ha/bohr`);
}));

const ferebus = sharedData('ferebus-benchmark');
for (const kind of KERNELS) test(`real FEREBUS models: ${kind} equals TypeScript to rounding of the summed terms`, { skip: !ferebus && 'no data' }, () => withKernel(kind, () => {
  for (const rel of ['water/marginal/WATER_iqa_O1.model', 'ammonia/concentrated/AMMONIA_iqa_N1.model', 'methanol/marginal/METHANOL_iqa_C1.model']) {
    const model = readModel(join(ferebus!, rel));
    const pp = checkConsistency(model).periodicPrefactor;
    const wasm = new AtomGp(model, pp);
    const ts = new AtomGp(model, pp, { backend: 'ts' });
    assert.equal(wasm.backend, kind);
    const K = model.nFeatures;
    let worstE = 0;
    let worstG = 0;
    for (let j = 0; j < Math.min(model.nTrain, 40); j++) {
      const x = Float64Array.from({ length: K }, (_, d) => model.trainX[j * K + d]! * (1 + 0.01 * Math.sin(j + d)));
      const r = compareAt(wasm, ts, model, x);
      worstE = Math.max(worstE, r.dE);
      worstG = Math.max(worstG, r.dG);
    }
    assert.ok(worstE < 1e-14 && worstG < 1e-13, `${rel}: ${worstE} ${worstG}`);
  }
}));

test('ATOMGP_PREDICT_BACKEND picks native, wasm or ts; the native library is the one built from this source', { skip: !native.available && `native kernel not built (${native.reason})` }, () => {
  assert.equal(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: 'native' }).settings.predict, 'native');
  assert.equal(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: ' WASM ' }).settings.predict, 'wasm');
  assert.equal(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: 'native', ATOMGP_NO_WASM: '1' }).settings.predict, 'ts');
  const mol = syntheticMolecule({ nAtoms: 4, nTrain: 10, seed: 1, kernel: 'rbf' });
  for (const kind of ['native', 'wasm'] as const) {
    withKernel(kind, () => {
      assert.equal(new AtomGp(mol.models[0]!, 4).backend, kind);
      // run summaries record the kernel through the potential's description
      const pot = new GpPotential({ systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) });
      assert.match(pot.description, new RegExp(`^GP models SYN \\(4 atoms; ${kind} kernel\\)$`));
    });
  }
  // The library loaded is the one built from this source (npm run build rebuilds it when the
  // source changes; a stale build fails here, not silently in a run).
  const loaded = loadNativePredict(nativeLibraryCandidates());
  const source = readFileSync(join(import.meta.dirname, '..', '..', 'native', 'predict-kernel.c'));
  assert.equal(loaded.sourceSha256, createHash('sha256').update(source).digest('hex'), 'native/build is stale: run npm run build');
  assert.match(loaded.description ?? '', /-march=native/);
  // Nothing at the paths: the reason says how to get it; a library that is not the kernel: named.
  const root = mkdtempSync(join(tmpdir(), 'atomgp-native-'));
  try {
    const none = loadNativePredict([join(root, 'missing.so')]);
    assert.equal(none.predict, undefined);
    assert.match(none.reason, /not built \(npm run build builds it; it needs a C compiler\)/);
    const other = loadNativePredict(['libm.so.6']);
    assert.equal(other.predict, undefined);
    assert.match(other.reason, /libm\.so\.6 is not atomgp's prediction kernel/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
