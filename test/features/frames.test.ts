import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOHR_PER_ANGSTROM } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';
import { computeFeatures } from '../../src/features/alf.js';
import { featureRows, featurizeFrames } from '../../src/features/frames.js';
import { Rng } from '../../src/util/rng.js';

test('featurizeFrames gives, row by row, exactly the features computeFeatures gives for each frame', () => {
  const rng = new Rng(11);
  const alfs = [
    [0, 1, 2],
    [1, 0, 2],
    [2, 1, 3],
    [3, 1, 2],
  ];
  const frames = Array.from({ length: 5 }, () => Float64Array.from({ length: 12 }, () => rng.uniformIn(-1.5, 1.5)));
  const x = featurizeFrames(frames, alfs);
  assert.equal(x.length, 4);
  frames.forEach((pos, i) => {
    const f = computeFeatures(
      pos.map((v) => v * BOHR_PER_ANGSTROM),
      alfs,
    );
    for (let a = 0; a < 4; a++) assert.deepEqual(Array.from(featureRows(x[a]!, 6)[i]!), Array.from(f[a]!), `frame ${i} atom ${a}`);
  });
});

test('featurizeFrames: a frame with the wrong number of atoms is a one-line error naming it', () => {
  const ok = Float64Array.of(0, 0, 0, 1, 0, 0, 0, 1, 0);
  assert.throws(() => featurizeFrames([ok, ok.subarray(0, 6)], [[0, 1, 2], [1, 0, 2], [2, 0, 1]]), (e: unknown) => e instanceof AtomgpError && /frame 2 has 2 atoms, expected 3/.test(e.message));
});
