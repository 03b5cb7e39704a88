import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { trainAtomModel } from '../../src/gp/fit/train.js';
import { readPropertyCsv } from '../../src/io/csv.js';
import { formatModel, writeModel } from '../../src/io/model.js';
import { readCheckedModel } from '../../src/io/modelset.js';
import { refitModelSet } from '../../src/workflows/refit-set.js';
import { sharedData } from '../helpers/data.js';

const waterSet = sharedData('water/training');

test('refitModelSet writes one model per atom under the same file names, identical for jobs 1 and 2', { skip: !waterSet }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-refitset-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(src);
    for (const [atom, alf] of [['O1', [1, 2, 3]], ['H2', [2, 1, 3]], ['H3', [3, 1, 2]]] as const) {
      const ts = readPropertyCsv(join(waterSet!, `WATER_${atom}_TRAINING_SET.csv`));
      const r = trainAtomModel({ x: ts.x, y: ts.y, nFeatures: 3, kernel: 'rbf', prior: 'mean', restarts: 1, seed: 1, systemName: 'WATER', atom, alf: [...alf], nAtoms: 3 });
      writeModel(join(src, `WATER_iqa_${atom}.model`), r.model);
    }
    const one = await refitModelSet(src, join(dir, 'j1'), { prior: 'max', restarts: 1, jobs: 1 });
    const two = await refitModelSet(src, join(dir, 'j2'), { prior: 'max', restarts: 1, jobs: 2 });
    assert.deepEqual(one.map((e) => basename(e.path)), ['WATER_iqa_H2.model', 'WATER_iqa_H3.model', 'WATER_iqa_O1.model']);
    assert.deepEqual(one.map((e) => dirname(e.path)), [0, 1, 2].map(() => join(dir, 'j1')));
    const strip = (text: string) => text.replace(/^# wall_time_s .*\n/m, '');
    for (let i = 0; i < 3; i++) {
      assert.equal(strip(readFileSync(two[i]!.path, 'utf8')), strip(readFileSync(one[i]!.path, 'utf8')));
      const m = readCheckedModel(one[i]!.path);
      assert.equal(m.model.systemName, 'WATER');
      assert.ok(m.model.metadata.includes('prior_mean max'));
      assert.equal(strip(formatModel(m.model)), strip(readFileSync(one[i]!.path, 'utf8')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
