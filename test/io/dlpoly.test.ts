import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { elementFromAtomName, formatConfig, parseConfig, readConfig } from '../../src/io/dlpoly.js';
import { AtomgpError } from '../../src/errors.js';

function throwsAt(fn: () => unknown, where: RegExp, what: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AtomgpError, `expected AtomgpError, got ${String(e)}`);
    assert.match(e.message, where);
    assert.match(e.message, what);
    return true;
  });
}

// Hand-written DL_POLY 4 CONFIG: cubic box (imcon 1), levcfg 2, a water molecule split across
// the x faces, Fortran D exponents and extra columns on the name lines.
const WATER_CONFIG = `water split across the box
         2         1         3
     12.0000000000      0.0000000000      0.0000000000
      0.0000000000     12.0000000000      0.0000000000
      0.0000000000      0.0000000000     12.0000000000
OW               1   15.9994   -0.8476
     11.9000000000      6.0000000000      6.0000000000
      0.1000000000     -0.2000000000      0.3000000000
    1.0D+00  -2.5d-01   0.0E+00
HW1              2
      0.8572000000      6.0000000000      6.0000000000
      0.0000000000      0.0000000000      0.0000000000
     -1.5000000000      0.0000000000      0.0000000000
HW2              3
     11.6600127916      6.9266272065      6.0000000000
      0.0000000000      0.0000000000      0.0000000000
      0.5000000000     -0.5000000000      0.0000000000
`;

test('reads a hand-written CONFIG (imcon 1, levcfg 2)', () => {
  const c = parseConfig(WATER_CONFIG, 'CONFIG');
  assert.equal(c.title, 'water split across the box');
  assert.equal(c.levcfg, 2);
  assert.equal(c.imcon, 1);
  assert.deepEqual(Array.from(c.cellA!), [12, 0, 0, 0, 12, 0, 0, 0, 12]);
  assert.deepEqual(c.names, ['OW', 'HW1', 'HW2']);
  assert.deepEqual(c.symbols, ['O', 'H', 'H']);
  assert.deepEqual(Array.from(c.positionsA), [11.9, 6, 6, 0.8572, 6, 6, 11.6600127916, 6.9266272065, 6]);
  assert.deepEqual(Array.from(c.velocities!), [0.1, -0.2, 0.3, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(c.forces!), [1, -0.25, 0, -1.5, 0, 0, 0.5, -0.5, 0]);
});

test('CONFIG without cell or atom count (DL_POLY Classic header, imcon 0, levcfg 0)', () => {
  const text = 'ammonia\n0 0\nN1\n0.0 0.0 0.1\nH2 2\n0.94 0.0 -0.27\nH3\n-0.47 0.81 -0.27\nH4\n-0.47 -0.81 -0.27\n\n';
  const c = parseConfig(text, 'CONFIG');
  assert.equal(c.cellA, undefined);
  assert.equal(c.velocities, undefined);
  assert.equal(c.forces, undefined);
  assert.deepEqual(c.symbols, ['N', 'H', 'H', 'H']);
  assert.equal(c.positionsA[9], -0.47);
});

test('formatConfig → parseConfig round trip (levcfg 0, 1, 2; triclinic cell)', () => {
  const base = parseConfig(WATER_CONFIG, 'CONFIG');
  for (const levcfg of [0, 1, 2]) {
    const text = formatConfig({ ...base, levcfg, imcon: 3, cellA: Float64Array.of(12, 0, 0, 3.5, 11, 0, -1.25, 2.5, 10.125) });
    const lines = text.split('\n');
    assert.equal(lines[1], '         ' + levcfg + '         3         3');
    assert.equal(lines[5], 'OW               1');
    assert.equal(lines[6], '       11.9000000000        6.0000000000        6.0000000000');
    const back = parseConfig(text, 'written');
    assert.equal(back.levcfg, levcfg);
    assert.equal(back.imcon, 3);
    assert.deepEqual(back.names, base.names);
    assert.deepEqual(Array.from(back.cellA!), [12, 0, 0, 3.5, 11, 0, -1.25, 2.5, 10.125]);
    for (let k = 0; k < 9; k++) assert.ok(Math.abs(back.positionsA[k]! - base.positionsA[k]!) < 1e-10);
    assert.equal(back.velocities !== undefined, levcfg >= 1);
    assert.equal(back.forces !== undefined, levcfg >= 2);
    if (levcfg === 2) assert.deepEqual(Array.from(back.forces!), Array.from(base.forces!));
  }
  assert.throws(() => formatConfig({ ...base, velocities: undefined, levcfg: 1 }), /levcfg 1 needs velocities/);
  assert.throws(() => formatConfig({ ...base, cellA: undefined }), /imcon 1 needs a cell/);
  assert.throws(() => formatConfig({ ...base, levcfg: 3 }), /levcfg must be 0, 1 or 2/);
});

test('atom names map to elements', () => {
  const cases: Array<[string, string | undefined]> = [
    ['O1', 'O'], ['OW', 'O'], ['HW1', 'H'], ['HW2', 'H'], ['H12', 'H'], ['Cl3', 'Cl'], ['Na+', 'Na'],
    ['Cl-', 'Cl'], ['CA', 'C'], ['C_2', 'C'], ['n1', 'N'], ['Q1', undefined], ['1H', undefined],
  ];
  for (const [name, symbol] of cases) assert.equal(elementFromAtomName(name), symbol, name);
  const text = 'ions\n0 0 2\nCA 1\n0 0 0\nCL 2\n3 0 0\n';
  assert.deepEqual(parseConfig(text, 'CONFIG').symbols, ['C', 'C']);
  assert.deepEqual(parseConfig(text, 'CONFIG', { elements: { CA: 'Ca', CL: 'cl' } }).symbols, ['Ca', 'Cl']);
});

test('bad CONFIG files give file:line errors', () => {
  throwsAt(() => parseConfig('title only\n', 'C0'), /^C0:/, /too short/);
  throwsAt(() => parseConfig('t\n3 0\nO\n0 0 0\n', 'C1'), /^C1:2:/, /levcfg \(0, 1 or 2\)/);
  throwsAt(() => parseConfig('t\n0 4 1\n', 'C2'), /^C2:2:/, /truncated octahedron.*not supported/);
  throwsAt(() => parseConfig('t\n0 1 1\n10 0 0\n0 10 0\nO1\n0 0 0\n', 'C3'), /^C3:5:/, /3 numbers for cell vector c, found 1/);
  throwsAt(() => parseConfig('t\n0 0 3\nO1\n0 0 0\nH2\n1 0 0\n', 'C4'), /^C4:7:/, /declares 3 atoms.*ends after 2/);
  throwsAt(() => parseConfig('t\n0 0 1\nO1\n0 0 0\nH2\n1 0 0\n', 'C5'), /^C5:5:/, /declares 1 atoms but the file continues/);
  throwsAt(() => parseConfig('t\n1 0\nO1\n0 0 0\nH2\n1 0 0\n', 'C6'), /^C6:7:/, /not a multiple of 3 \(levcfg 1\)/);
  throwsAt(() => parseConfig('t\n0 0 2\nO1\n0 0 0\nQq 2\n1 0 0\n', 'C7'), /^C7:5:/, /element of atom 2 named 'Qq'/);
  throwsAt(() => parseConfig('t\n0 0 2\nO1\n0 0 0\nH2\n1 NaN 0\n', 'C8'), /^C8:6:/, /position of atom 2 \(H2\): 'NaN' is not a finite number/);
  throwsAt(() => parseConfig('t\n0 0 2\nO1\n0 0 0\n1 0 0\nH2\n', 'C9'), /^C9:5:/, /name line of atom 2.*found numbers/);
  throwsAt(() => parseConfig('t\n0 0 x\n', 'C10'), /^C10:2:/, /number of atoms/);
});

test('readConfig reads from disk and reports missing files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-config-'));
  try {
    const path = join(dir, 'CONFIG');
    writeFileSync(path, WATER_CONFIG.replace(/\n/g, '\r\n'));
    const c = readConfig(path);
    assert.equal(c.title, 'water split across the box');
    assert.deepEqual(c.symbols, ['O', 'H', 'H']);
    throwsAt(() => readConfig(join(dir, 'missing')), /cannot read/, /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
