import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { parsePropertyCsv, readPropertyCsv } from '../../src/io/csv.js';
import { sharedData } from '../helpers/data.js';

const good = ',f1,q00,f2,iqa\n0,1.5,0.1,2.5,-75.1\n1,1.6,0.2,2.4,-75.2\n2,1.7,0.3,2.3,-75.3\n';

test('columns are selected by header name, whatever their order', () => {
  const s = parsePropertyCsv(good, 'a.csv');
  assert.equal(s.n, 3);
  assert.equal(s.nFeatures, 2);
  assert.deepEqual(Array.from(s.x), [1.5, 2.5, 1.6, 2.4, 1.7, 2.3]);
  assert.deepEqual(Array.from(s.y), [-75.1, -75.2, -75.3]);
  const q = parsePropertyCsv(good, 'a.csv', { property: 'q00' });
  assert.deepEqual(Array.from(q.y), [0.1, 0.2, 0.3]);
});

function rejects(text: string, pattern: RegExp, opts = {}): void {
  assert.throws(() => parsePropertyCsv(text, 'bad.csv', opts), (e: unknown) => {
    assert.ok(e instanceof AtomgpError, String(e));
    assert.match(e.message, pattern);
    return true;
  });
}

test('bad CSV input gives errors naming the file, line and problem', () => {
  rejects(',f1,f2,q00\n0,1,2,3\n', /bad\.csv:1: no column 'iqa' \(properties in this file: q00\)/);
  rejects(',a,b,iqa\n0,1,2,3\n', /bad\.csv:1: no feature columns/);
  rejects(',f1,f3,iqa\n0,1,2,3\n', /feature column f3 present but f2 is missing/);
  rejects(',f1,iqa\n0,1.0,-75\n1,nan,-75\n', /bad\.csv:3: column 'f1': 'nan' is not a finite number/);
  rejects(',f1,iqa\n0,1.0,inf\n', /bad\.csv:2: column 'iqa': 'inf' is not a finite number/);
  rejects(',f1,iqa\n0,1.0,-75\n1,2.0\n', /bad\.csv:3: 2 columns, but the header has 3/);
  rejects(',f1,iqa\n0,1.0,-75\n1,1.0,-74\n', /bad\.csv:3: duplicate training point: same features as line 2/);
  rejects(',f1,f2,f3,iqa\n0,1,2,3,-75\n1,2,3,4,-76\n', /2 training points for 3 features/, { requireMorePointsThanFeatures: true });
  rejects('', /empty file/);
  rejects(',f1,iqa\n', /no data rows/);
});

const bench = sharedData('ferebus-benchmark/ammonia');
test('reads the FEREBUS benchmark ammonia N1 training set (421 points × 6 features)', { skip: !bench }, () => {
  const s = readPropertyCsv(join(bench!, 'AMMONIA_N1_TRAINING_SET.csv'));
  assert.equal(s.n, 421);
  assert.equal(s.nFeatures, 6);
  for (const v of s.y) assert.ok(v > -56 && v < -54);
});
