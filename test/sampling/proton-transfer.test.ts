import assert from 'node:assert/strict';
import { test } from 'node:test';
import { massesAmu } from '../../src/chem/molecule.js';
import { presetMolecule } from '../../src/chem/presets.js';
import { lbfgs } from '../../src/optimize/lbfgs.js';
import { XtbPotential, xtbAvailable } from '../../src/potentials/xtb.js';
import { bondWallsFromStart } from '../../src/sampling/bias.js';
import { type CvSpec, evaluateCv } from '../../src/sampling/cv.js';
import { runWtmetad } from '../../src/sampling/wtmetad.js';
import { protonTransferCvs } from '../../src/workflows/pipeline/molecule.js';

const avail = xtbAvailable();
const ci = process.env.CI === 'true';
const skip = !ci && !avail.library ? `xtb library driver unavailable: ${avail.reason}` : false;

test("malondialdehyde on GFN2-xTB at 500 K: the proton-transfer CV and its sum wall let WTMetaD cross to the other oxygen; the donor wall alone does not", { skip }, () => {
  const m = presetMolecule('malondialdehyde');
  const xtb = new XtbPotential({ symbols: [...m.symbols] });
  try {
    const x0 = lbfgs(xtb, m.positionsA, { fmaxKcalPerMolPerA: 0.5 }).positionsA;
    const pt = protonTransferCvs('malondialdehyde', m.symbols, x0);
    assert.deepEqual(pt.map((c) => [c.kind, c.atoms, c.label]), [['distance-difference', [4, 8, 0], 'proton O5-H9-O1']]);
    const sampled = (cvs: CvSpec[], labile: Array<[number, number, number]>) => {
      const r = runWtmetad({
        potential: xtb,
        symbols: [...m.symbols],
        massesAmu: massesAmu(m.symbols),
        startPositionsA: x0,
        cvs,
        temperatureK: 500,
        biasFactor: 10,
        hillHeightKcalPerMol: 0.5,
        hillWidths: cvs.map((c) => (c.kind === 'dihedral' ? (15 * Math.PI) / 180 : 0.1)),
        strideSteps: 200,
        timestepFs: 0.5,
        steps: 4000,
        harvestEvery: 20,
        seed: 1,
        bondWalls: bondWallsFromStart(m.symbols, x0, 1.3, 200, labile),
      });
      assert.ok(r.completed, r.error?.message);
      return r.frames.map((f) => evaluateCv(pt[0]!, f.positionsA));
    };
    const torsions = m.cvs.map((c) => ({ kind: c.kind, atoms: [...c.atoms] }));
    const walled = sampled(torsions, []);
    assert.ok(Math.max(...walled) < 0, `with the donor wall H9 stays on O5: max d(O5,H) − d(H,O1) ${Math.max(...walled)} Å`);
    const free = sampled([...torsions, ...pt], [[4, 8, 0]]);
    const onO1 = free.filter((s) => s > 0).length / free.length;
    assert.ok(Math.max(...free) > 0.5 && onO1 > 0.05, `H9 reaches O1: max ${Math.max(...free)} Å, ${(100 * onO1).toFixed(1)} % of frames`);
  } finally {
    xtb.dispose();
  }
});

test('crossable barrier: E‡ with (k_B T/h) e^(−E‡/k_B T) · 1 ns = 1, from the SI constants', async () => {
  const { crossableBarrierKcalPerMol } = await import('../../src/workflows/pipeline/proton-transfer.js');
  // k_B = 1.380649e-23 J/K, h = 6.62607015e-34 J s, N_A k_B = 1.987204 cal/(mol K)
  for (const T of [300, 500, 1000]) {
    const kT = (8.314462618 / 4184) * T;
    const rate = ((1.380649e-23 * T) / 6.62607015e-34) * Math.exp(-crossableBarrierKcalPerMol(T) / kT);
    assert.ok(Math.abs(rate * 1e-9 - 1) < 1e-9, `${T} K: ${rate} /s`);
  }
  assert.ok(Math.abs(crossableBarrierKcalPerMol(1000) - 19.76) < 0.01);
  assert.ok(Math.abs(crossableBarrierKcalPerMol(500) - 9.19) < 0.01);
  assert.ok(crossableBarrierKcalPerMol(1000, 1e-6) > crossableBarrierKcalPerMol(1000), 'a longer horizon allows a higher barrier');
});

test('--proton-transfer auto on GFN2-xTB: malondialdehyde\'s enol H has a degenerate tautomer behind a crossable barrier; capped glycine\'s amide H has no tautomer; the built-in field never transfers', { skip }, async () => {
  const { checkProtonTransfers } = await import('../../src/workflows/pipeline/proton-transfer.js');
  const { BuiltinForceField, builtinForceFieldSpec } = await import('../../src/potentials/builtin-ff.js');
  const { findBonds } = await import('../../src/chem/connectivity.js');
  const m = presetMolecule('malondialdehyde');
  const xtb = new XtbPotential({ symbols: [...m.symbols] });
  try {
    const x0 = lbfgs(xtb, m.positionsA, { fmaxKcalPerMolPerA: 0.5 }).positionsA;
    const [c] = checkProtonTransfers(xtb, m.symbols, x0, 1000);
    assert.deepEqual([c!.donor, c!.hydrogen, c!.acceptor, c!.tautomer, c!.crossable], [4, 8, 0, true, true]);
    // the two enol tautomers are mirror images: equal energies; the straight line between them is an upper bound of the barrier
    assert.ok(Math.abs(c!.tautomerKcalPerMol!) < 0.05, `tautomer ${c!.tautomerKcalPerMol} kcal/mol`);
    assert.ok(c!.barrierBoundKcalPerMol! > 3 && c!.barrierBoundKcalPerMol! < 12, `barrier bound ${c!.barrierBoundKcalPerMol} kcal/mol`);
    // at 300 K the same bound is not crossable within 1 ns (limit 5.3 kcal/mol)
    assert.equal(checkProtonTransfers(xtb, m.symbols, x0, 300)[0]!.crossable, false);
    const bonds = findBonds(m.symbols, x0).map(([a, b]) => [a, b] as [number, number]);
    const ff = new BuiltinForceField(builtinForceFieldSpec([...m.symbols], x0, bonds));
    const [b] = checkProtonTransfers(ff, m.symbols, lbfgs(ff, x0, { fmaxKcalPerMolPerA: 0.5 }).positionsA, 1000);
    assert.deepEqual([b!.tautomer, b!.crossable], [false, false]);
  } finally {
    xtb.dispose();
  }
  const g = presetMolecule('glycine');
  const gx = new XtbPotential({ symbols: [...g.symbols] });
  try {
    const x0 = lbfgs(gx, g.positionsA, { fmaxKcalPerMolPerA: 0.5 }).positionsA;
    const checks = checkProtonTransfers(gx, g.symbols, x0, 1000);
    assert.ok(checks.length >= 1, 'an N–H next to a carbonyl O');
    for (const c of checks) assert.deepEqual([c.tautomer, c.crossable], [false, false]);
  } finally {
    gx.dispose();
  }
});
