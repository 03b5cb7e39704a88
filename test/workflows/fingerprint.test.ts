import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { hashFile, hashInputs, makeStageRecord, readStageRecord, stageChanges, stageFingerprint, writeStageRecord } from '../../src/workflows/fingerprint.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-fingerprint-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('stage fingerprints: key order does not matter, values and file contents do; changes are named', () => {
  const f = join(root, 'in.txt');
  writeFileSync(f, 'abc');
  // sha256("abc"), FIPS 180-2 test vector
  assert.equal(hashFile(f), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const inputs = hashInputs(root, [f]);
  assert.deepEqual(Object.keys(inputs), ['in.txt']);
  assert.equal(stageFingerprint({ a: 1, b: [2, 3] }, inputs), stageFingerprint({ b: [2, 3], a: 1 }, inputs));
  assert.notEqual(stageFingerprint({ a: 1, b: [2, 3] }, inputs), stageFingerprint({ a: 1, b: [3, 2] }, inputs));
  const rec = makeStageRecord('sampling', { seed: 1, steps: 100 }, inputs, { hills: 7 });
  const file = join(root, 'fingerprint.json');
  writeStageRecord(file, rec);
  const back = readStageRecord<{ hills: number }>(file)!;
  assert.equal(back.result!.hills, 7);
  assert.deepEqual(stageChanges(back, { seed: 1, steps: 100 }, inputs), []);
  writeFileSync(f, 'abd');
  assert.deepEqual(stageChanges(back, { seed: 2, steps: 100 }, hashInputs(root, [f]), (k) => `--${k}`), ['--seed: recorded 1, now 2', 'in.txt changed since the stage ran']);
  assert.equal(readStageRecord(join(root, 'none.json')), undefined);
  assert.throws(() => hashFile(join(root, 'missing.xyz')), (e: unknown) => e instanceof AtomgpError && /cannot read .*missing.xyz \(ENOENT\)/.test(e.message));
  writeFileSync(file, '{"stage": 1');
  assert.throws(() => readStageRecord(file), /not a stage record/);
});
