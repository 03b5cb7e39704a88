import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR } from '../../src/chem/units.js';
import { runCli } from '../helpers/cli.js';

const cli = async (args: string[]) => runCli(args);

const MODELS = 'examples/water-morse';
const XYZ = 'examples/water-morse/water.xyz';

test('predict --json: one object per frame with energies and forces in both units', async () => {
  const r = await cli(['predict', '--json', '--models', MODELS, XYZ]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const [i, rec] of lines.entries()) {
    assert.equal(rec.frame, i);
    assert.equal(rec.atomic_energies_Ha.length, 3);
    const sum = rec.atomic_energies_Ha.reduce((a: number, b: number) => a + b, 0);
    assert.ok(Math.abs(sum - rec.energy_Ha) < 1e-14);
    for (let a = 0; a < 3; a++) {
      for (let c = 0; c < 3; c++) {
        const ratio = rec.forces_kcal_per_mol_per_A[a][c] - rec.forces_Ha_per_bohr[a][c] * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
        assert.ok(Math.abs(ratio) < 1e-9);
      }
    }
  }
  // Frame 1 has O1–H2 stretched to 1.2 Å: higher energy, and H2 is pulled back towards O1.
  assert.ok(lines[1].energy_Ha > lines[0].energy_Ha + 0.01);
  const f = lines[1].forces_Ha_per_bohr[1];
  assert.ok(f[0] < 0, 'H2 (at +x) is pulled towards O (−x)');
});

test('predict --repulsion zbl: unchanged at the example geometries (inside the data), higher with an O–H squeezed below it; refused for multipoles', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const plain = (await cli(['predict', '--json', '--models', MODELS, XYZ])).out;
  const zbl = await cli(['predict', '--json', '--models', MODELS, '--repulsion', 'zbl', XYZ]);
  assert.equal(zbl.code, 0, zbl.err);
  const e = (out: string) => out.trim().split('\n').map((l) => (JSON.parse(l) as { energy_Ha: number }).energy_Ha);
  assert.deepEqual(e(zbl.out), e(plain));
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-predict-rep-'));
  const squeezed = join(dir, 'squeezed.xyz');
  writeFileSync(squeezed, '3\n\nO 0 0 0\nH 0.55 0 0\nH -0.24 0.93 0\n');
  const a = e((await cli(['predict', '--json', '--models', MODELS, squeezed])).out)[0]!;
  const b = e((await cli(['predict', '--json', '--models', MODELS, '--repulsion', 'zbl', squeezed])).out)[0]!;
  assert.ok(b - a > 0.01, `O–H at 0.55 Å: ${a} → ${b} Ha`);
  // A folder whose potential.json records the term: predict uses it by default, --repulsion none switches it off, inspect says so.
  const { cpSync } = await import('node:fs');
  const recorded = join(dir, 'recorded');
  cpSync(MODELS, recorded, { recursive: true });
  writeFileSync(join(recorded, 'potential.json'), '{"repulsion": "zbl"}\n');
  assert.equal(e((await cli(['predict', '--json', '--models', recorded, squeezed])).out)[0], b);
  assert.equal(e((await cli(['predict', '--json', '--models', recorded, '--repulsion', 'none', squeezed])).out)[0], a);
  const ins = await cli(['inspect', '--json', recorded]);
  assert.deepEqual(
    ins.out.trim().split('\n').map((l) => (JSON.parse(l) as { added_repulsion: string }).added_repulsion),
    ['zbl', 'zbl', 'zbl'],
  );
  assert.match((await cli(['inspect', join(recorded, 'WATER_iqa_O1.model')])).out, /run with the ZBL repulsive prior term beyond the training data \(the folder's potential.json\)/);
  assert.doesNotMatch((await cli(['inspect', MODELS])).out, /ZBL/);
  const q = await cli(['predict', '--models', MODELS, '--property', 'q00', '--repulsion', 'zbl', XYZ]);
  assert.equal(q.code, 2);
  assert.match(q.err.trim(), /^atomgp predict: error: --repulsion is a term of the energy \(iqa\) models, not of q00$/);
});

test('predict: bad input gives one clear line and exit status 2, never a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-'));
  // A model set with one atom missing.
  const partial = join(dir, 'partial');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(partial);
  copyFileSync(join(MODELS, 'WATER_iqa_O1.model'), join(partial, 'WATER_iqa_O1.model'));
  copyFileSync(join(MODELS, 'WATER_iqa_H2.model'), join(partial, 'WATER_iqa_H2.model'));
  const cases: Array<[string[], RegExp]> = [
    [['predict', '--models', partial, XYZ], /no 'iqa' model for atom 3/],
    [['predict', '--models', join(dir, 'nowhere'), XYZ], /does not exist/],
    [['predict', XYZ], /--models DIR is required/],
    [['predict', '--models', MODELS, join(dir, 'missing.xyz')], /does not exist/],
    [['predict', '--models', MODELS, '--periodic-convention', '3', XYZ], /must be 2 .* or 4/],
  ];
  const nan = join(dir, 'nan.xyz');
  writeFileSync(nan, '3\n\nO 0 0 0\nH 0.9 0 0\nH nan 0.9 0\n');
  cases.push([['predict', '--models', MODELS, nan], /nan\.xyz:5/]);
  const wrong = join(dir, 'wrong.xyz');
  writeFileSync(wrong, '3\n\nH 0 0 0\nO 0.9 0 0\nH 0 0.9 0\n');
  cases.push([['predict', '--models', MODELS, wrong], /atom 1 is H, but the models expect O/]);
  const collinear = join(dir, 'collinear.xyz');
  writeFileSync(collinear, '3\n\nO 0 0 0\nH 0.9 0 0\nH -0.9 0 0\n');
  cases.push([['predict', '--models', MODELS, collinear], /collinear/]);
  const coincident = join(dir, 'coincident.xyz');
  writeFileSync(coincident, '3\n\nO 0 0 0\nH 0.9 0 0\nH 0.9 0 0.001\n');
  cases.push([['predict', '--models', MODELS, coincident], /atoms 2 \(H\) and 3 \(H\)|coincid/]);
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.err}`);
    assert.match(r.err, pattern, args.join(' '));
    assert.ok(!/\n\s+at /.test(r.err), `no stack trace: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
});

test('inspect reports the consistency check of the example models', async () => {
  const r = await cli(['inspect', '--json', MODELS]);
  assert.equal(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(
    recs.map((d) => d.atom),
    ['O1', 'H2', 'H3'],
  );
  for (const d of recs) {
    assert.equal(d.consistency.verdict, 'consistent');
    assert.ok(d.consistency.relative_residual < 1e-6);
    assert.equal(d.n_train, 80);
  }
});
