import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { readCheckedModel, readModelSet, readModelSetTerms, writeModelSetTerms } from '../../src/io/modelset.js';
import { sharedData } from '../helpers/data.js';

const ammonia = sharedData('ammonia/models');

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-modelset-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function copy(dir: string, atoms: string[]): void {
  for (const a of atoms) copyFileSync(join(ammonia!, `AMMONIA_iqa_${a}.model`), join(dir, `AMMONIA_iqa_${a}.model`));
}

const isAtomgpError = (re: RegExp) => (e: unknown) => e instanceof AtomgpError && re.test(e.message);

test('the ammonia model set reads in atom order with its periodic convention', { skip: !ammonia }, () => {
  const set = readModelSet(ammonia!);
  assert.equal(set.dir, ammonia);
  assert.equal(set.systemName, 'AMMONIA');
  assert.equal(set.nAtoms, 4);
  assert.deepEqual(set.atoms, ['N1', 'H2', 'H3', 'H4']);
  assert.deepEqual(set.symbols, ['N', 'H', 'H', 'H']);
  assert.deepEqual(
    set.models.map((m) => m.alf.join(' ')),
    ['1 2 3', '2 1 3', '3 2 4', '4 2 3'],
  );
  assert.deepEqual(set.periodicPrefactors, [2, 2, 2, 2]);
  assert.deepEqual(
    set.checks.map((c) => c.verdict),
    ['consistent', 'consistent', 'consistent', 'consistent'],
  );
  assert.deepEqual(set.warnings, []);
  // forcing DL_FFLUX's convention is the user's call: accepted, with one warning per atom
  const forced = readModelSet(ammonia!, { periodicPrefactor: 4 });
  assert.deepEqual(forced.periodicPrefactors, [4, 4, 4, 4]);
  assert.equal(forced.warnings.length, 4);
  // without the check the override (or 4) is used as is
  const unchecked = readModelSet(ammonia!, { check: false, periodicPrefactor: 2 });
  assert.deepEqual(unchecked.checks, []);
  assert.deepEqual(unchecked.periodicPrefactors, [2, 2, 2, 2]);
});

test('a missing atom names the folder and the atom', { skip: !ammonia }, () => {
  withTempDir((dir) => {
    copy(dir, ['N1', 'H2', 'H4']);
    assert.throws(
      () => readModelSet(dir, { check: false }),
      isAtomgpError(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no 'iqa' model for atom 3 of AMMONIA \\(4 atoms; found N1, H2, H4\\); every atom needs one`)),
    );
  });
});

test('duplicates, foreign systems, bad labels and empty folders are refused', { skip: !ammonia }, () => {
  withTempDir((dir) => {
    copy(dir, ['N1', 'H2', 'H3', 'H4']);
    copyFileSync(join(ammonia!, 'AMMONIA_iqa_H2.model'), join(dir, 'copy_of_H2.model'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/two 'iqa' models for atom 2: .*AMMONIA_iqa_H2\.model \(H2\) and .*copy_of_H2\.model \(H2\)/));
  });
  withTempDir((dir) => {
    copy(dir, ['N1', 'H2', 'H3']);
    const h4 = readFileSync(join(ammonia!, 'AMMONIA_iqa_H4.model'), 'utf8');
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.replace('name AMMONIA', 'name WATER'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/models disagree on the system: .* is AMMONIA with 4 atoms, .*AMMONIA_iqa_H4\.model is WATER with 4 atoms/));
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.replace('atom H4', 'atom Q4'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/atom label 'Q4' does not start with an element symbol/));
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.replace('atom H4', 'atom H5'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/atom H5 is beyond the 4 atoms of AMMONIA/));
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.replace('atom H4', 'atom H3'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/two 'iqa' models for atom 3/));
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.replace('ALF 4 2 3', 'ALF 2 4 3'));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/ALF 2 4 3 of atom H4 must start with its own atom number 4/));
    // a broken file stops the set with its own located error
    writeFileSync(join(dir, 'AMMONIA_iqa_H4.model'), h4.slice(0, h4.length / 2));
    assert.throws(() => readModelSet(dir, { check: false }), isAtomgpError(/AMMONIA_iqa_H4\.model:\d+: .*truncated/));
  });
  withTempDir((dir) => {
    assert.throws(() => readModelSet(dir), isAtomgpError(/no 'iqa' models in this folder \(no \.model files\)/));
    copy(dir, ['N1']);
    assert.throws(() => readModelSet(dir, { property: 'q00' }), isAtomgpError(/no 'q00' models in this folder \(found properties iqa\)/));
  });
  assert.throws(() => readModelSet('/nonexistent/atomgp/models'), isAtomgpError(/cannot read model folder \(ENOENT\)/));
});

test('a model set with a corrupted model is refused at load', { skip: !ammonia }, () => {
  withTempDir((dir) => {
    copy(dir, ['N1', 'H2', 'H4']);
    const lines = readFileSync(join(ammonia!, 'AMMONIA_iqa_H3.model'), 'utf8').split('\n');
    const w0 = lines.indexOf('[weights]') + 1;
    lines[w0] = String(Number(lines[w0]) * 1.05);
    writeFileSync(join(dir, 'AMMONIA_iqa_H3.model'), lines.join('\n'));
    assert.throws(() => readModelSet(dir), isAtomgpError(/AMMONIA_iqa_H3\.model: weights do not reproduce the training targets under either periodic convention/));
    const one = readCheckedModel(join(dir, 'AMMONIA_iqa_H2.model'));
    assert.equal(one.periodicPrefactor, 2);
    assert.equal(one.check!.verdict, 'consistent');
  });
});

test('potential.json: a model folder records its added terms; absent means none, malformed is a one-line error', () => {
  withTempDir((dir) => {
    assert.deepEqual(readModelSetTerms(dir), { repulsion: 'none' });
    assert.deepEqual(readModelSetTerms(join(dir, 'missing')), { repulsion: 'none' });
    writeModelSetTerms(dir, { repulsion: 'zbl' });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'potential.json'), 'utf8')), { repulsion: 'zbl' });
    assert.deepEqual(readModelSetTerms(dir), { repulsion: 'zbl' });
    const f = join(dir, 'potential.json');
    writeFileSync(f, '{}');
    assert.deepEqual(readModelSetTerms(dir), { repulsion: 'none' });
    for (const [text, re] of [
      ['{"repulsion": "zbl",', /potential\.json: not valid JSON/],
      ['["zbl"]', /potential\.json: expected an object such as \{"repulsion": "zbl"\}$/],
      ['{"repulsion": "zbl", "mean": 1}', /potential\.json: unknown key 'mean' \(known: repulsion\)$/],
      ['{"repulsion": 3}', /potential\.json: repulsion must be one of none, zbl, got '3'$/],
    ] as const) {
      writeFileSync(f, text);
      assert.throws(() => readModelSetTerms(dir), isAtomgpError(re), text);
    }
  });
});
