import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setBondLength } from '../../src/analysis/distort.js';
import { bondFirstReturnTime } from '../../src/analysis/restoring.js';
import { massesAmu } from '../../src/chem/molecule.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../src/dynamics/integrators.js';
import { MolecularDynamics } from '../../src/dynamics/md.js';
import { type MdRunOptions, runMd } from '../../src/dynamics/run.js';
import { AnalyticPotential, BrokenPotential, type BrokenSpec, waterLikeSpec } from '../../src/potentials/analytic.js';
import type { Potential } from '../../src/potentials/potential.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-monitor-ref-'));
after(() => rmSync(root, { recursive: true, force: true }));
const { spec, minimumA } = waterLikeSpec();
const symbols = spec.symbols;
const bonds: [number, number][] = [
  [0, 1],
  [0, 2],
];
// Both O-H bonds of the analytic water stretched from 0.9572 to 1.5 Å: 2 × 120 (1 − e^(−2.3·0.5428))² = 122.02 kcal/mol uphill.
const distorted = setBondLength(setBondLength(Float64Array.from(minimumA), bonds, 0, 1, 1.5), bonds, 0, 2, 1.5);

function run(name: string, potential: Potential, extra: Partial<MdRunOptions> = {}) {
  return runMd({
    potential,
    symbols,
    massesAmu: massesAmu(symbols),
    startPositionsA: distorted,
    // the faults below are injected at a force-call count; the step guard's substeps would move them
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: 0.25, temperatureK: 0, stepGuardKcalPerMol: 0 },
    steps: 400,
    seed: 3,
    outDir: join(root, name),
    mode: 'new',
    trajStride: 100,
    logEvery: 50,
    checkpoints: false,
    // L = 20 kcal/mol per atom × 3 = 60 kcal/mol: less than the 122 kcal/mol the start falls.
    monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 20 },
    ...extra,
  });
}
const analytic = () => new AnalyticPotential(spec);
const broken = (b: BrokenSpec) => new BrokenPotential(analytic(), b);
const reference = { positionsA: Array.from(minimumA) };

test('a distorted start relaxing downhill is an energy runaway from the start energy, not from the undistorted reference', () => {
  const legacy = run('legacy', analytic());
  assert.equal(legacy.failure?.kind, 'energy-runaway');
  assert.match(legacy.failure!.reason, /fell .* below that of the start \(122\.02 kcal\/mol/);
  const withRef = run('reference', analytic(), { monitorReference: reference });
  assert.equal(withRef.survived, true, JSON.stringify(withRef.failure));
  assert.equal(withRef.stepsCompleted, 400);
  // E_ref computed with the run's potential at the reference geometry: the analytic minimum, 0.
  assert.ok(Math.abs(withRef.monitorReference!.epotKcalPerMol) < 1e-9, `E_ref ${withRef.monitorReference!.epotKcalPerMol}`);
  assert.deepEqual(withRef.monitorReference!.bonds, bonds);
  for (const l of withRef.monitorReference!.lengthsA) assert.ok(Math.abs(l - 0.9572) < 1e-12, `reference length ${l}`);
  assert.ok(withRef.meanEpotKcalPerMol > 30 && withRef.meanEpotKcalPerMol < 122, `mean E_pot ${withRef.meanEpotKcalPerMol}`);
});

test('with the reference: an energy jump up fails (both directions and upward-only), a hole fails only with both', () => {
  // Call 0 is the start, call 1 the reference energy, call k + 1 step k.
  const jump = run('jump-up', broken({ mode: 'energy-jump', fromCall: 101, jumpKcalPerMol: 1000 }), { monitorReference: reference });
  assert.equal(jump.failure?.kind, 'energy-runaway');
  assert.equal(jump.failure!.step, 100);
  assert.match(jump.failure!.reason, /rose .* above that of the start/);
  const jumpUp = run('jump-up-only', broken({ mode: 'energy-jump', fromCall: 101, jumpKcalPerMol: 1000 }), {
    monitorReference: reference,
    monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 20, energyRunawayDirection: 'up' },
  });
  assert.equal(jumpUp.failure?.step, 100);
  const hole = run('hole', broken({ mode: 'energy-jump', fromCall: 101, jumpKcalPerMol: -1000 }), { monitorReference: reference });
  assert.equal(hole.failure?.kind, 'energy-runaway');
  assert.equal(hole.failure!.step, 100);
  assert.match(hole.failure!.reason, /fell .* below that of the reference geometry \(0\.00 kcal\/mol/);
  const holeUp = run('hole-up-only', broken({ mode: 'energy-jump', fromCall: 101, jumpKcalPerMol: -1000 }), {
    monitorReference: reference,
    // The jump also shifts the conserved quantity: switch that check off to see the runaway check alone.
    monitor: { energyCriterion: 'per-atom', energyRunawayKcalPerMolPerAtom: 20, energyRunawayDirection: 'up', conservedDriftKcalPerMolPerAtom: 0 },
  });
  assert.equal(holeUp.survived, true, JSON.stringify(holeUp.failure));
  assert.equal(JSON.parse(readFileSync(join(root, 'hole-up-only', 'summary.json'), 'utf8')).monitor.energyRunawayDirection, 'up');
});

test('harmonic O-H released from +0.5 Å returns within 0.1 Å at t = acos(0.2)/ω, before a quarter period; resume keeps the time', () => {
  const k = 1000;
  const r0 = 0.96;
  const hf = new AnalyticPotential({ symbols: ['O', 'H'], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: k, r0A: r0 }] });
  const m = massesAmu(['O', 'H']);
  const mu = (m[0]! * m[1]!) / (m[0]! + m[1]!);
  const omega = Math.sqrt((k * 4.184e-4) / mu); // rad/fs (1 kcal/mol/Å on 1 amu = 4.184e-4 Å/fs²)
  const exact = Math.acos(0.1 / 0.5) / omega; // r(t) = r0 + 0.5 cos ωt reaches r0 + 0.1
  const quarter = Math.PI / 2 / omega;
  const dt = 0.05;
  const start = Float64Array.from([0, 0, 0, r0 + 0.5, 0, 0]);
  const base: MdRunOptions = {
    potential: hf,
    symbols: ['O', 'H'],
    massesAmu: m,
    startPositionsA: start,
    settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: dt, temperatureK: 0 },
    steps: 200,
    seed: 1,
    outDir: join(root, 'hf'),
    mode: 'new',
    monitorReference: { positionsA: [0, 0, 0, r0, 0, 0] },
    // The symmetric harmonic swing squeezes the bond to r0 − 0.5 Å = 0.46 Å: off, this test times the return.
    monitor: { bondCompressFactor: 0 },
    bondReturn: { bonds: [[0, 1]], referenceLengthsA: [r0], tolA: 0.1 },
  };
  const s = runMd(base);
  const t = s.bondReturnTimesFs![0]!;
  assert.ok(t >= exact - 1e-3 && t < exact + dt + 1e-3, `return at ${t} fs, exact ${exact.toFixed(4)} fs`);
  assert.ok(t < quarter, `quarter period ${quarter}`);
  // The same rule applied to the bond length series of the same trajectory.
  const md = MolecularDynamics.create(hf, base.settings, start, m, 1);
  const times: number[] = [];
  const lengths: number[] = [];
  md.attach((x) => {
    times.push(x.state.timeFs);
    lengths.push(Math.abs(x.state.positionsA[3]! - x.state.positionsA[0]!));
  });
  md.run(200);
  assert.equal(bondFirstReturnTime(times, lengths, r0, 0.1), t);
  // Interrupted after the return (checkpoint at step 100) and resumed: the time comes from bond-returns.json.
  const split = { ...base, outDir: join(root, 'hf-split'), checkpointEvery: 100, steps: 120 };
  runMd(split);
  assert.ok(existsSync(join(root, 'hf-split', 'bond-returns.json')));
  const resumed = runMd({ ...split, steps: 200, mode: 'resume' });
  assert.equal(resumed.resumedFromStep, 120);
  assert.deepEqual(resumed.bondReturnTimesFs, s.bondReturnTimesFs);
  // A bond that never comes back within the tolerance (0 Å) records null.
  const never = runMd({ ...base, outDir: join(root, 'hf-never'), bondReturn: { bonds: [[0, 1]], referenceLengthsA: [r0], tolA: 0 } });
  assert.deepEqual(never.bondReturnTimesFs, [null]);
});
