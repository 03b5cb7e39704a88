import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOHR_PER_ANGSTROM } from '../../src/chem/units.js';
import { computeFeatures } from '../../src/features/alf.js';
import { featureMismatch, geometryFromAlfFeatures } from '../../src/features/geometry.js';
import { Rng } from '../../src/util/rng.js';

test('a geometry rebuilt from one atom’s ALF features has every atom’s features (4-atom molecule)', () => {
  const rng = new Rng(3);
  const pos = Float64Array.from({ length: 12 }, () => rng.uniformIn(-1.5, 1.5));
  const alfs = [
    [0, 1, 2],
    [1, 0, 2],
    [2, 1, 3],
    [3, 1, 2],
  ];
  const bohr = (p: Float64Array) => p.map((v) => v * BOHR_PER_ANGSTROM);
  const feats = computeFeatures(bohr(pos), alfs);
  const rebuilt = geometryFromAlfFeatures(feats[0]!, alfs[0]!, 4);
  const again = computeFeatures(bohr(rebuilt), alfs);
  for (let a = 0; a < 4; a++) for (let k = 0; k < 6; k++) assert.ok(Math.abs(again[a]![k]! - feats[a]![k]!) < 1e-9, `atom ${a} feature ${k}`);
});

test('feature mismatch wraps angles: φ = π − 1e-9 and −π + 1e-9 differ by 2e-9', () => {
  assert.ok(Math.abs(featureMismatch([1, Math.PI - 1e-9], [1, -Math.PI + 1e-9]) - 2e-9) < 1e-15);
  assert.equal(featureMismatch([1, 2, 3], [0, 1, 2.5, 3], 1), 0.5);
});
