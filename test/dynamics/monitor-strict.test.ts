import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { presetMolecule } from '../../src/chem/presets.js';
import { gammaUpperQuantile } from '../../src/dynamics/canonical.js';
import { DEFAULT_EQUILIBRATION } from '../../src/dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { modelGlobalMinimum } from '../../src/dynamics/minimum.js';
import { type MdRunOptions, runMd } from '../../src/dynamics/run.js';
import { KB } from '../../src/dynamics/state.js';
import { AtomgpError } from '../../src/errors.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { BuiltinForceField, builtinForceFieldSpec } from '../../src/potentials/builtin-ff.js';
import { createResult, type Potential, type PotentialResult } from '../../src/potentials/potential.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-monitor-strict-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * A diatomic O-H: Morse (D = 100 kcal/mol, α = 2.3 /Å, r0 = 0.96 Å) minus a Gaussian hole of
 * `depth` kcal/mol at `r1` (width 0.08 Å unless given) — a model with a spurious minimum below its true one.
 */
class HoleyBond implements Potential {
  readonly nAtoms = 2;
  readonly symbols = ['O', 'H'];
  readonly description: string;
  constructor(
    readonly depth: number,
    readonly r1: number,
    readonly widthA = 0.08,
  ) {
    this.description = `holey O-H (hole ${depth} kcal/mol at ${r1} Å)`;
  }
  energy(r: number): { e: number; de: number } {
    const a = 2.3;
    const x = Math.exp(-a * (r - 0.96));
    const w2 = this.widthA * this.widthA;
    const g = this.depth * Math.exp(-((r - this.r1) ** 2) / (2 * w2));
    return { e: 100 * (1 - x) ** 2 - g, de: 200 * a * x * (1 - x) + (g * (r - this.r1)) / w2 };
  }
  compute(p: Float64Array, out: PotentialResult): void {
    const d = [p[3]! - p[0]!, p[4]! - p[1]!, p[5]! - p[2]!];
    const r = Math.hypot(d[0]!, d[1]!, d[2]!);
    const { e, de } = this.energy(r);
    out.energyHa = e / KCAL_PER_MOL_PER_HARTREE;
    out.atomicEnergiesHa[0] = out.atomicEnergiesHa[1] = out.energyHa / 2;
    for (let k = 0; k < 3; k++) {
      const f = (-de * d[k]!) / r / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
      out.forcesHaPerBohr[3 + k] = f;
      out.forcesHaPerBohr[k] = -f;
    }
  }
}

/** A working potential whose energy climbs by `rampKcalPerMol` every call, forces untouched (an upward runaway that keeps the structure). */
class Ramp implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description = 'ramping energy';
  calls = 0;
  constructor(
    readonly inner: Potential,
    readonly rampKcalPerMol: number,
  ) {
    this.nAtoms = inner.nAtoms;
    this.symbols = inner.symbols;
  }
  compute(p: Float64Array, out: PotentialResult, withForces?: boolean): void {
    this.inner.compute(p, out, withForces);
    out.energyHa += (this.calls++ * this.rampKcalPerMol) / KCAL_PER_MOL_PER_HARTREE;
  }
}

const diatomic = (r: number) => Float64Array.from([0, 0, 0, r, 0, 0]);
const nvt = (s: Partial<IntegratorSettings> = {}): IntegratorSettings => ({ ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: 0.25, temperatureK: 1000, ...s });

function run(name: string, o: Partial<MdRunOptions> & Pick<MdRunOptions, 'potential' | 'startPositionsA' | 'settings' | 'steps'>) {
  return runMd({ symbols: [...o.potential.symbols], massesAmu: massesAmu([...o.potential.symbols]), seed: 3, outDir: join(root, name), mode: 'new', checkpoints: false, trajStride: 1000, logEvery: 100, ...o });
}

test('model minimum: the lowest of the optimised starts that is still the molecule', () => {
  // Hole at 1.3 Å (bottom −31.27 kcal/mol at 1.288 Å, barrier 4.97 kcal/mol at 1.105 Å): intact (< 2 × 0.96 Å), so it is the model's minimum.
  const holey = new HoleyBond(60, 1.3);
  const found = modelGlobalMinimum(holey, [diatomic(0.96), diatomic(1.2)]);
  assert.equal(found.bestStart, 1);
  // The exact bottom of the hole by a fine scan of E(r).
  let best = Number.POSITIVE_INFINITY;
  for (let r = 1.1; r < 1.4; r += 1e-5) best = Math.min(best, holey.energy(r).e);
  assert.ok(Math.abs(found.epotKcalPerMol - best) < 1e-3, `${found.epotKcalPerMol} vs ${best}`);
  assert.equal(found.converged, 2);
  // A hole of 1000 kcal/mol at 0.45 Å (bottom −534 kcal/mol at 0.47 Å, behind a barrier at 0.666 Å) collapses the
  // bond below 0.7 × 0.96 Å: rejected, the intact minimum at 0.96 Å stands.
  const collapsed = modelGlobalMinimum(new HoleyBond(1000, 0.45), [diatomic(0.96), diatomic(0.5)]);
  assert.equal(collapsed.bestStart, 0);
  assert.ok(Math.abs(collapsed.epotKcalPerMol) < 1e-3, `${collapsed.epotKcalPerMol}`);
  assert.equal(collapsed.rejected.length, 1);
  assert.match(collapsed.rejected[0]!.reason, /bond O1-H2 at 0\.47/);
  assert.ok(Math.abs(collapsed.rejected[0]!.epotKcalPerMol + 533.9) < 0.1, `${collapsed.rejected[0]!.epotKcalPerMol}`);
  // Only the collapsing start, measured against the intact length: nothing usable, a clear error.
  assert.throws(() => modelGlobalMinimum(new HoleyBond(1000, 0.45), [diatomic(0.5)], { bonds: [[0, 1]], bondLengthsA: [0.96] }), AtomgpError);
});

test('compression: a bond squeezed below 0.7 × its reference length fails at the first such step', () => {
  // Harmonic O-H with r0 = 0.45 Å started at 0.9572 Å: a model whose wall lets the bond collapse.
  const { spec, minimumA } = waterLikeSpec();
  const squeeze = new AnalyticPotential({ ...spec, morseBonds: [spec.morseBonds![1]!], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: 500, r0A: 0.45 }] });
  const settings = { ...nvt({ ensemble: 'nve', temperatureK: 0 }) };
  const ref = MolecularDynamics.create(squeeze, settings, minimumA, massesAmu(spec.symbols), 3);
  let expected = -1;
  ref.attach((m) => {
    const x = m.state.positionsA;
    if (expected < 0 && Math.hypot(x[3]! - x[0]!, x[4]! - x[1]!, x[5]! - x[2]!) < 0.7 * 0.9572) expected = m.state.step;
  });
  ref.run(400);
  assert.ok(expected > 5, `reference step ${expected}`);
  // The model's minimum is the collapsed bond itself (E = 0 there).
  const s = run('compress', { potential: squeeze, startPositionsA: minimumA, settings, steps: 400, energyMinimum: { epotKcalPerMol: 0, source: 'analytic' } });
  assert.equal(s.failure?.kind, 'bond-compressed');
  assert.equal(s.failure!.step, expected);
  assert.match(s.failure!.reason, /bond O1-H2 is 0\.6[0-9]+ Å, less than 0\.7× its reference length 0\.957 Å/);
  // The old definition never looked at compression: the first thing it sees is the integration failing later.
  const old = run('compress-old', { potential: squeeze, startPositionsA: minimumA, settings, steps: 400, monitor: { bondCompressFactor: 0, energyCriterion: 'per-atom' } });
  assert.ok(old.failure === null || (old.failure.kind !== 'bond-compressed' && old.failure.step > expected), JSON.stringify(old.failure));
});

test('hole: E_pot more than 5 kcal/mol below the model minimum fails; the old per-atom band misses it', () => {
  const holey = new HoleyBond(60, 1.3);
  // E_min from the undistorted geometry: the true minimum at 0.96 Å, −0.0072 kcal/mol (the hole's tail).
  const minimum = modelGlobalMinimum(holey, [diatomic(0.96)]);
  assert.ok(Math.abs(minimum.epotKcalPerMol + 0.00718) < 1e-4, `${minimum.epotKcalPerMol}`);
  // Released at 1.15 Å, past the barrier at 1.105 Å, the bond falls outwards into the hole (−31.27 kcal/mol).
  const o = {
    potential: holey,
    startPositionsA: diatomic(1.15),
    settings: nvt({ ensemble: 'nve', temperatureK: 0 }),
    steps: 400,
    monitorReference: { positionsA: Array.from(diatomic(0.96)) },
    energyMinimum: { epotKcalPerMol: minimum.epotKcalPerMol, source: 'L-BFGS from 0.96 Å' },
  } as const;
  const s = run('hole', o);
  assert.equal(s.failure?.kind, 'hole');
  assert.match(s.failure!.reason, /below the model's global minimum \(-0\.01 kcal\/mol; limit 5 kcal\/mol\)/);
  assert.equal(s.energyCriteria.holeBelowKcalPerMol, minimum.epotKcalPerMol - 5);
  assert.equal(s.energyCriteria.epotMinimumSource, 'L-BFGS from 0.96 Å');
  const old = run('hole-old', { ...o, monitor: { energyCriterion: 'per-atom' } });
  assert.equal(old.survived, true, 'L = 50 kcal/mol per atom × 2 = 100 kcal/mol: a 31 kcal/mol hole passes the old band');
});

test('runaway: E_pot beyond the canonical bound k_BT·Q⁻¹(n/2, 1e-12) above the start fails at that step', () => {
  const { spec, minimumA } = waterLikeSpec();
  const ramp = new Ramp(new AnalyticPotential(spec), 0.05);
  // n = 3 internal dof at 300 K. Q(3/2, x) = erfc(√x) + 2 √(x/π) e^(−x), checked at the quantile.
  const x = gammaUpperQuantile(1.5, 1e-12);
  const q = 2 * Math.sqrt(x / Math.PI) * Math.exp(-x); // erfc(√x) is below 1e-13 here
  assert.ok(Math.abs(q / 1e-12 - 1) < 0.02, `Q(1.5, ${x}) ≈ ${q}`);
  const margin = KB * 300 * x;
  const s = run('runaway', {
    potential: ramp,
    startPositionsA: minimumA,
    settings: nvt({ temperatureK: 300 }),
    steps: 2000,
    energyMinimum: { epotKcalPerMol: 0, source: 'analytic' },
    // The ramp also shifts the conserved quantity; that check would fire first (30 kcal/mol).
    monitor: { conservedDriftKcalPerMolPerAtom: 0 },
  });
  assert.equal(s.failure?.kind, 'energy-runaway');
  assert.ok(Math.abs(s.energyCriteria.runawayAboveKcalPerMol - margin) < 1e-9, `bound ${s.energyCriteria.runawayAboveKcalPerMol} vs ${margin}`);
  // The ramp alone (0.05 per call, the start is call 0) passes the margin at about margin / 0.05 steps.
  assert.ok(Math.abs(s.failure!.step - margin / 0.05) < 10 / 0.05, `step ${s.failure!.step}, margin ${margin} kcal/mol`);
});

test('healthy: equilibrated 1000 K runs on a Morse molecule and on malondialdehyde trip nothing', () => {
  // Morse water (no non-bonded pair to collide), 10 ps at 1000 K, three seeds.
  const { spec, minimumA } = waterLikeSpec();
  const water = new AnalyticPotential(spec);
  const emin = modelGlobalMinimum(water, [minimumA]);
  assert.ok(Math.abs(emin.epotKcalPerMol) < 1e-6);
  for (const seed of [1, 2, 3]) {
    const s = run(`healthy-water-${seed}`, {
      potential: water,
      startPositionsA: minimumA,
      settings: nvt({ timestepFs: 0.5 }),
      steps: 20_000,
      seed,
      equilibration: DEFAULT_EQUILIBRATION,
      energyMinimum: { epotKcalPerMol: emin.epotKcalPerMol, source: 'L-BFGS' },
    });
    assert.equal(s.survived, true, JSON.stringify(s.failure));
    assert.equal(s.monitor.energyCriterion, 'strict');
    assert.equal(s.monitor.bondCompressFactor, 0.7);
  }
  const mol = presetMolecule('malondialdehyde');
  const ff = new BuiltinForceField(builtinForceFieldSpec(mol.symbols, mol.positionsA, mol.bonds, mol.bondOrders));
  const min = modelGlobalMinimum(ff, [mol.positionsA]);
  const x0 = lbfgs(ff, mol.positionsA, { fmaxKcalPerMolPerA: 0.01, maxSteps: 5000 }).positionsA;
  for (const seed of [1, 2]) {
    const m = run(`healthy-mal-${seed}`, {
      potential: ff,
      startPositionsA: x0,
      settings: nvt({ timestepFs: 0.5 }),
      steps: 6000,
      seed,
      equilibration: DEFAULT_EQUILIBRATION,
      energyMinimum: { epotKcalPerMol: min.epotKcalPerMol, source: 'L-BFGS' },
    });
    assert.equal(m.survived, true, JSON.stringify(m.failure));
    // 21 internal dof at 1000 K: the bound sits k_BT·Q⁻¹(10.5, 1e-12) above E_min.
    assert.ok(Math.abs(m.energyCriteria.runawayAboveKcalPerMol - min.epotKcalPerMol - KB * 1000 * gammaUpperQuantile(10.5, 1e-12)) < 1e-6);
  }
});

test('bad strict-monitor settings are AtomgpErrors', () => {
  const { spec, minimumA } = waterLikeSpec();
  const base = { potential: new AnalyticPotential(spec), startPositionsA: minimumA, settings: nvt(), steps: 5 };
  assert.throws(() => run('bad1', { ...base, monitor: { bondCompressFactor: 1.2 } }), /compression factor must be in \[0, 1\)/);
  assert.throws(() => run('bad2', { ...base, monitor: { energyCriterion: 'loose' as 'strict' } }), /strict or per-atom, got 'loose'/);
  assert.throws(() => run('bad3', { ...base, energyMinimum: { epotKcalPerMol: Number.NaN, source: 'x' } }), /minimum energy NaN/);
  assert.throws(() => run('bad4', { ...base, equilibration: { timeFs: -1, frictionPerPs: 10 } }), /equilibration time -1 fs/);
  const r = createResult(2);
  new HoleyBond(1, 1).compute(diatomic(1), r);
  assert.ok(Number.isFinite(r.energyHa));
});

test('bond formed: a model that pulls two non-bonded O together fails when they come within 1.2 × their covalent radii; the old criteria see it much later', () => {
  // O1-C2-O3 with Morse C-O bonds and a spurious harmonic O1-O3 attraction (r0 1.2 Å): the O···O
  // distance closes from 2.2 Å with every bond intact — a reaction the reference molecule has not.
  const symbols = ['O', 'C', 'O'];
  const start = Float64Array.from([-1.1, 0.6, 0, 0, 0, 0, 1.1, 0.6, 0]);
  const rCO = Math.hypot(1.1, 0.6);
  const spec = {
    symbols,
    morseBonds: [
      { i: 0, j: 1, depthKcalPerMol: 150, alphaPerA: 2, r0A: rCO },
      { i: 1, j: 2, depthKcalPerMol: 150, alphaPerA: 2, r0A: rCO },
    ],
    harmonicBonds: [{ i: 0, j: 2, kKcalPerMolPerA2: 100, r0A: 1.2 }],
  };
  const pot = new AnalyticPotential(spec);
  const settings = nvt({ ensemble: 'nve', temperatureK: 0 });
  const ref = MolecularDynamics.create(pot, settings, start, massesAmu(symbols), 3);
  let expected = -1;
  let closest = Number.POSITIVE_INFINITY;
  ref.attach((m) => {
    const x = m.state.positionsA;
    const d = Math.hypot(x[6]! - x[0]!, x[7]! - x[1]!, x[8]! - x[2]!);
    closest = Math.min(closest, d);
    if (expected < 0 && d < 1.2 * (0.66 + 0.66)) expected = m.state.step;
  });
  ref.run(600);
  assert.ok(expected > 5 && closest < 1.3, `reference step ${expected}, closest O···O ${closest} Å`);
  // E_min 0 (the collapsed O···O with both C-O at r0 is the model's minimum; the start is 50 kcal/mol above it).
  const s = run('bond-formed', { potential: pot, startPositionsA: start, settings, steps: 600, energyMinimum: { epotKcalPerMol: 0, source: 'analytic' } });
  assert.equal(s.failure?.kind, 'bond-formed');
  assert.equal(s.failure!.step, expected);
  assert.match(s.failure!.reason, /heavy atoms O1 and O3, not bonded in the reference, are 1\.5[0-9]+ Å apart/);
  // The model's minimum search rejects that minimum: it is not the molecule.
  assert.throws(() => modelGlobalMinimum(pot, [start]), (e: unknown) => e instanceof AtomgpError && /heavy atoms O1 and O3 bonded at 1\.2[0-9]* Å/.test(e.message));
  // Without it, the first thing the monitor sees is the two O overlapping (< 0.5 Å), much later.
  const old = run('bond-formed-old', { potential: pot, startPositionsA: start, settings, steps: 600, energyMinimum: { epotKcalPerMol: 0, source: 'analytic' }, monitor: { newBondFactor: 0 } });
  assert.ok(old.failure === null || (old.failure.kind !== 'bond-formed' && old.failure.step > expected + 20), JSON.stringify(old.failure));
});
