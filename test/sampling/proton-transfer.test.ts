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
