import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { readFerebusConfig } from '../../src/io/ferebus-toml.js';
import { sharedData } from '../helpers/data.js';

const water = sharedData('ferebus-benchmark/water');
test('reads the benchmark ferebus.toml and finds the training CSV one folder up', { skip: !water }, () => {
  const c = readFerebusConfig(join(water!, 'concentrated', 'ferebus.toml'));
  assert.equal(c.systemName, 'WATER');
  assert.equal(c.atoms.length, 1);
  assert.equal(c.atoms[0]!.name, 'O1');
  assert.deepEqual(c.atoms[0]!.alf, [1, 2, 3]);
  assert.equal(c.atoms[0]!.trainingSet, join(water!, 'concentrated', '..', 'WATER_O1_TRAINING_SET.csv'));
  assert.equal(c.prior, 'mean');
  assert.equal(c.likelihood, 'concentrated');
  assert.equal(c.composition, 'k1');
  assert.deepEqual(c.kernels, [{ name: 'k1', type: 'rbf' }]);
  assert.deepEqual(c.properties, ['iqa']);
});

test('a config naming an atom without a training CSV, or an unknown mean, is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-toml-'));
  try {
    const p = join(dir, 'ferebus.toml');
    writeFileSync(p, '[system]\nname = "W"\natoms = [{name="O1", alf=[1,2,3]}]\n[model]\nmean = "constant"\n');
    assert.throws(() => readFerebusConfig(p), (e: unknown) => e instanceof AtomgpError && /atom O1: training set W_O1_TRAINING_SET.csv not found/.test(e.message));
    writeFileSync(join(dir, 'W_O1_TRAINING_SET.csv'), ',f1,iqa\n0,1,2\n');
    writeFileSync(p, '[system]\nname = "W"\natoms = [{name="O1", alf=[1,2,3]}]\n[model]\nmean = "cubic"\n');
    assert.throws(() => readFerebusConfig(p), (e: unknown) => e instanceof AtomgpError && /mean = "cubic" is unknown/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
