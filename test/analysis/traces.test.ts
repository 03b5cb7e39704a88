import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  angleTrace,
  bondLengthTrace,
  dihedralTrace,
  energySeries,
  logColumn,
  parseMdLog,
  readMdFolder,
  temperatureSeries,
} from '../../src/analysis/traces.js';
import { formatMdFrame, LOG_HEADER } from '../../src/dynamics/reporters.js';
import { AtomgpError } from '../../src/errors.js';
import { alanineDipeptide } from './builders.js';

const DEG = Math.PI / 180;

function frameText(step: number, phiDeg: number, nan = false): string {
  const { symbols, positionsA } = alanineDipeptide(phiDeg, 73);
  const n = symbols.length;
  const forces = new Float64Array(3 * n).fill(nan ? Number.NaN : 0.5);
  return formatMdFrame(
    symbols,
    { step, timeFs: step * 0.5, epotKcalPerMol: -10 - step, positionsA, forcesKcalPerMolPerA: forces, velocitiesAPerFs: new Float64Array(3 * n) },
    { temperatureK: 300 + step, conservedKcalPerMol: 1 },
  );
}

test('an MD folder: log columns by header, frame times, bond/angle/dihedral traces, cut-short records dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-traces-'));
  try {
    const log = `${LOG_HEADER}\n0,0,-10,1,300,5,0\n10,5,-11,2,310.5,5.001,0.001\n20,10,nan,inf,-inf,5,0\n30,15,-1`;
    writeFileSync(join(dir, 'log.csv'), log);
    // three frames, then one with non-finite forces (a crash) and a frame cut short
    const partial = frameText(40, -60).split('\n').slice(0, 10).join('\n');
    writeFileSync(join(dir, 'trajectory.extxyz'), frameText(0, -83) + frameText(10, -70) + frameText(20, -65) + frameText(30, -60, true) + partial);
    const { log: l, trajectory: t } = readMdFolder(dir);
    assert.ok(l && t);
    assert.deepEqual(l.header, LOG_HEADER.split(','));
    assert.equal(l.nRows, 3);
    assert.match(l.truncated ?? '', /log\.csv:5: partial last record dropped/);
    assert.deepEqual(Array.from(logColumn(l, 'step')), [0, 10, 20]);
    const temp = temperatureSeries(l);
    assert.deepEqual(Array.from(temp.timesFs), [0, 5, 10]);
    assert.deepEqual(Array.from(temp.values), [300, 310.5, -Infinity]);
    const e = energySeries(l);
    assert.ok(Number.isNaN(e.epot[2]!));
    assert.equal(e.ekin![2], Infinity);
    assert.deepEqual(Array.from(e.drift!), [0, 0.001, 0]);
    assert.throws(() => logColumn(l, 'pressure'), /no column 'pressure' \(columns: step, time_fs/);

    assert.equal(t.frames.length, 3);
    assert.match(t.truncated ?? '', /frame 4/);
    assert.deepEqual(Array.from(t.timesFs), [0, 5, 10]);
    assert.deepEqual(Array.from(t.steps), [0, 10, 20]);
    assert.deepEqual(Array.from(t.energiesKcalPerMol), [-10, -20, -30]);
    const phi = dihedralTrace(t.frames, [1, 3, 5, 6]);
    [-83, -70, -65].forEach((p, k) => {
      assert.ok(Math.abs(phi[k]! / DEG - p) < 1e-9, `φ frame ${k}`);
    });
    const nh = bondLengthTrace(t.frames, 3, 4);
    nh.forEach((d) => {
      assert.ok(Math.abs(d - 1.01) < 1e-12);
    });
    const ang = angleTrace(t.frames, 3, 5, 6);
    ang.forEach((a) => {
      assert.ok(Math.abs(a / DEG - 110) < 1e-9);
    });
    assert.throws(() => bondLengthTrace(t.frames, 3, 22), /atom 23 is outside 1\.\.22/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad logs and folders are errors naming file and line', () => {
  assert.throws(() => parseMdLog('', 'x.csv'), /x\.csv: empty log/);
  assert.throws(() => parseMdLog('a,b\n1,2\n3\n4,5\n', 'x.csv'), /x\.csv:3: expected 2 values/);
  assert.throws(() => parseMdLog('a,b\n1,zz\n', 'x.csv'), /x\.csv:2: column 'b' must be a number/);
  assert.throws(() => parseMdLog('a,a\n', 'x.csv'), /x\.csv:1: bad header/);
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-traces-'));
  try {
    assert.throws(() => readMdFolder(dir), AtomgpError);
    writeFileSync(join(dir, 'trajectory.extxyz'), '3\nstep=0\nO 0 0 0\nH 1 0 0\n');
    assert.throws(() => readMdFolder(dir), /frame 1 declares 3 atoms/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
