/**
 * atomgp as the i-PI driver (`--reference ipi:unix:NAME`): `atomgp opt` and `atomgp md` get their
 * energies and forces from real clients, ASE's SocketClient with the EMT calculator and LAMMPS
 * `fix ipi` with harmonic bonds and angle; the forces atomgp records equal the clients' own. A
 * client that dies mid-run ends the run with a one-line error and leaves the checkpoint, from
 * which --resume continues with a new client. Needs python3-ase and lammps (skipped with a
 * message without them, unless CI=true).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { readXyz } from '../../src/io/xyz.js';
import { skipWithoutAse, skipWithoutLammps, socketName, start, startAse, startAtomgp } from '../helpers/external.js';

const noAse = skipWithoutAse();
const noLammps = skipWithoutLammps();
const root = mkdtempSync(join(tmpdir(), 'atomgp-ipi-driver-'));
after(() => rmSync(root, { recursive: true, force: true }));

const NH3 = '4\nammonia\nN 0 0 0\nH 0 0.94 0.38\nH 0.814 -0.47 0.38\nH -0.814 -0.47 0.38\n';

test('LAMMPS is installed (required under CI=true)', { skip: process.env.CI !== 'true' && 'CI is not true' }, () => {
  assert.equal(skipWithoutLammps(), false);
});

interface EmtCheck {
  frames: Array<{ info: Record<string, unknown>; calc: { energy: number; forces: number[][] }; emt_energy_eV: number; emt_forces_eV_per_A: number[][] }>;
  hartree_eV: number;
  bohr_A: number;
}

/** Every frame of an atomgp extxyz (kcal/mol, kcal/mol/Å) read by ASE against EMT's own numbers at its positions. */
async function assertEmtForces(file: string): Promise<number> {
  const out = `${file}.emt.json`;
  const r = await startAse(['emt-check', file, out]).done;
  assert.equal(r.code, 0, r.err);
  const c = JSON.parse(readFileSync(out, 'utf8')) as EmtCheck;
  // EMT eV, eV/Å → (ASE's constants) Ha, Ha/bohr → (atomgp's) kcal/mol, kcal/mol/Å.
  const eFactor = KCAL_PER_MOL_PER_HARTREE / c.hartree_eV;
  const fFactor = (c.bohr_A / c.hartree_eV) * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
  for (const [k, f] of c.frames.entries()) {
    const fmax = Math.max(...f.emt_forces_eV_per_A.flat().map(Math.abs)) * fFactor;
    assert.ok(Math.abs(f.calc.energy - f.emt_energy_eV * eFactor) < 1e-7 * Math.max(1, Math.abs(f.calc.energy)), `frame ${k}: E ${f.calc.energy} vs EMT ${f.emt_energy_eV * eFactor}`);
    for (let i = 0; i < f.calc.forces.length; i++) {
      for (let d = 0; d < 3; d++) {
        const mine = f.calc.forces[i]![d]!;
        const theirs = f.emt_forces_eV_per_A[i]![d]! * fFactor;
        assert.ok(Math.abs(mine - theirs) < 1e-7 * fmax + 1e-9, `frame ${k} atom ${i} ${d}: ${mine} vs EMT ${theirs} kcal/mol/Å`);
      }
    }
  }
  return c.frames.length;
}

test('atomgp opt --reference ipi driven by ASE SocketClient + EMT: converges, and every step has EMT’s energy and forces', { skip: noAse }, async () => {
  const startFile = join(root, 'nh3.xyz');
  writeFileSync(startFile, NH3);
  const name = socketName('emt-opt');
  const client = startAse(['emt-client', name, startFile]);
  const opt = await startAtomgp(['opt', '--reference', `ipi:unix:${name}?timeout=120`, '--start', startFile, '--out', join(root, 'opt'), '--fmax', '0.01']).done;
  const c = await client.done;
  assert.equal(opt.code, 0, opt.out + opt.err);
  assert.match(opt.out, /lbfgs: converged/);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /server sent EXIT/);
  const steps = await assertEmtForces(join(root, 'opt', 'path.extxyz'));
  assert.ok(steps > 2);
  assert.ok(!existsSync(`/tmp/ipi_${name}`));
});

test('atomgp md --reference ipi driven by ASE SocketClient + EMT: trajectory forces are EMT’s; a dying client leaves the checkpoint and --resume finishes', { skip: noAse }, async () => {
  const startFile = join(root, 'nh3-md.xyz');
  writeFileSync(startFile, NH3);
  const out = join(root, 'md');
  const mdArgs = (name: string): string[] => [
    'md', '--reference', `ipi:unix:${name}?timeout=120`, '--start', startFile, '--out', out, '--ensemble', 'nve', '--temperature-K', '100',
    '--steps', '200', '--timestep-fs', '0.25', '--equilibrate-ps', '0', '--energy-criterion', 'per-atom', '--traj-stride', '10', '--continue-on-failure',
  ];
  // One force call for the start, then one per step: the client dies inside step 60. With an i-PI
  // reference md checkpoints every 10 steps by default.
  const name1 = socketName('emt-die');
  const dying = startAse(['emt-client', name1, startFile, '61']);
  const first = await startAtomgp(mdArgs(name1)).done;
  await dying.done;
  assert.equal(first.code, 2, first.err);
  const last = first.err.trim().split('\n').pop()!;
  assert.match(last, new RegExp(`^atomgp md: error: i-PI client on unix socket /tmp/ipi_${name1} went away during a force call`));
  assert.doesNotMatch(first.err, /\n\s+at /, 'no stack trace');
  const cp = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')) as { step: number };
  assert.equal(cp.step, 50);

  // The same --reference (it is part of the run's settings), a new client.
  const client = startAse(['emt-client', name1, startFile]);
  const resumed = await startAtomgp([...mdArgs(name1), '--resume']).done;
  const c = await client.done;
  assert.equal(resumed.code, 0, resumed.out + resumed.err);
  assert.equal(c.code, 0, c.err);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { stepsCompleted: number; resumedFromStep: number };
  assert.equal(summary.stepsCompleted, 200);
  assert.equal(summary.resumedFromStep, 50);
  assert.equal(await assertEmtForces(join(out, 'trajectory.extxyz')), 21);
});

// Water with LAMMPS `units real` harmonic terms: E = K_b (r − r0)² per O–H bond + K_a (θ − θ0)².
const KB = 450; // kcal/mol/Å²
const R0 = 0.9572; // Å
const KA = 55; // kcal/mol/rad²
const THETA0_DEG = 104.52;
const WATER_XYZ = '3\nwater\nO 0.0 0.0 0.1\nH 0.0 0.78 -0.45\nH 0.0 -0.75 -0.48\n';
const LAMMPS_DATA = `water for atomgp's fix ipi test

3 atoms
2 bonds
1 angles
2 atom types
1 bond types
1 angle types

-15 15 xlo xhi
-15 15 ylo yhi
-15 15 zlo zhi

Masses

1 15.9994
2 1.008

Atoms # molecular

1 1 1 0.0 0.0 0.1
2 1 2 0.0 0.78 -0.45
3 1 2 0.0 -0.75 -0.48

Bonds

1 1 1 2
2 1 1 3

Angles

1 1 2 1 3
`;

/** Energy (kcal/mol) and forces (kcal/mol/Å) of the harmonic water, analytically. */
function harmonicWater(x: Float64Array): { energy: number; forces: Float64Array } {
  const f = new Float64Array(9);
  let e = 0;
  const v = (i: number, j: number): number[] => [0, 1, 2].map((k) => x[3 * j + k]! - x[3 * i + k]!);
  for (const h of [1, 2]) {
    const d = v(0, h);
    const r = Math.hypot(d[0]!, d[1]!, d[2]!);
    e += KB * (r - R0) ** 2;
    const g = (2 * KB * (r - R0)) / r; // dE/dr / r
    for (let k = 0; k < 3; k++) {
      f[3 * h + k]! -= g * d[k]!;
      f[k]! += g * d[k]!;
    }
  }
  const a = v(0, 1);
  const b = v(0, 2);
  const ra = Math.hypot(a[0]!, a[1]!, a[2]!);
  const rb = Math.hypot(b[0]!, b[1]!, b[2]!);
  const cos = (a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!) / (ra * rb);
  const theta = Math.acos(cos);
  const dtheta = theta - (THETA0_DEG * Math.PI) / 180;
  e += KA * dtheta ** 2;
  const dEdcos = (2 * KA * dtheta) / -Math.sin(theta);
  for (let k = 0; k < 3; k++) {
    const dcosA = b[k]! / (ra * rb) - (cos * a[k]!) / (ra * ra);
    const dcosB = a[k]! / (ra * rb) - (cos * b[k]!) / (rb * rb);
    f[3 + k]! -= dEdcos * dcosA;
    f[6 + k]! -= dEdcos * dcosB;
    f[k]! += dEdcos * (dcosA + dcosB);
  }
  return { energy: e, forces: f };
}

/** Start LAMMPS `fix ipi` on /tmp/ipi_NAME once atomgp listens there. */
async function lammpsClient(name: string, dir: string): Promise<ReturnType<typeof start>> {
  writeFileSync(join(dir, 'water.data'), LAMMPS_DATA);
  writeFileSync(
    join(dir, 'in.water'),
    [
      'units real',
      'atom_style molecular',
      'boundary p p p',
      'read_data water.data',
      'bond_style harmonic',
      `bond_coeff 1 ${KB} ${R0}`,
      'angle_style harmonic',
      `angle_coeff 1 ${KA} ${THETA0_DEG}`,
      'pair_style zero 8.0',
      'pair_coeff * *',
      `fix 1 all ipi ${name} 31415 unix`,
      'run 100000000',
      '',
    ].join('\n'),
  );
  const until = Date.now() + 120_000;
  while (!existsSync(`/tmp/ipi_${name}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return start('lmp', ['-in', 'in.water', '-log', 'none'], { cwd: dir });
}

/**
 * The 8-digit unit constants of LAMMPS's fix ipi (bohr, Ha) limit the agreement: ~1e-6 relative
 * in energies and forces, and positions off by ~1e-9 Å (forces off by K·1e-9 ≈ 1e-6 kcal/mol/Å).
 */
function assertHarmonicForces(file: string): number {
  const frames = readXyz(file);
  for (const [k, fr] of frames.entries()) {
    const ref = harmonicWater(fr.positionsA);
    const fmax = Math.max(...ref.forces.map(Math.abs));
    const forces = fr.arrays.forces as Float64Array;
    assert.ok(Math.abs((fr.info.energy as number) - ref.energy) < 1e-5 * Math.max(1e-3, ref.energy), `frame ${k}: E ${fr.info.energy} vs ${ref.energy} kcal/mol`);
    for (let j = 0; j < 9; j++) assert.ok(Math.abs(forces[j]! - ref.forces[j]!) < 1e-5 * fmax + 1e-5, `frame ${k} component ${j}: ${forces[j]} vs ${ref.forces[j]} kcal/mol/Å`);
  }
  return frames.length;
}

test('harmonic water: the analytic forces of this test equal minus the numerical gradient', () => {
  const x = Float64Array.from([0.01, 0.02, 0.1, -0.03, 0.8, -0.45, 0.02, -0.74, -0.5]);
  const { forces } = harmonicWater(x);
  for (let j = 0; j < 9; j++) {
    const h = 1e-6;
    const p = Float64Array.from(x);
    const m = Float64Array.from(x);
    p[j]! += h;
    m[j]! -= h;
    const num = -(harmonicWater(p).energy - harmonicWater(m).energy) / (2 * h);
    assert.ok(Math.abs(num - forces[j]!) < 1e-6, `${j}: ${num} vs ${forces[j]}`);
  }
});

test('atomgp md --reference ipi driven by LAMMPS fix ipi (harmonic water): every recorded force is the force field’s', { skip: noLammps }, async () => {
  const dir = mkdtempSync(join(root, 'lmp-md-'));
  const startFile = join(dir, 'water.xyz');
  writeFileSync(startFile, WATER_XYZ);
  const name = socketName('lmp-md');
  // LAMMPS needs a box: ?cell=30 sends a 30 Å cube.
  const md = startAtomgp(['md', '--reference', `ipi:unix:${name}?cell=30&timeout=120`, '--start', startFile, '--out', join(dir, 'md'), '--ensemble', 'nvt', '--steps', '100', '--traj-stride', '5', '--equilibrate-ps', '0']);
  const lmp = await lammpsClient(name, dir);
  const [m, l] = await Promise.all([md.done, lmp.done]);
  assert.ok(m.code === 0 || m.code === 1, m.out + m.err);
  assert.match(l.out + l.err, /Got EXIT message from i-PI/, 'LAMMPS ends on atomgp’s EXIT');
  assert.equal(assertHarmonicForces(join(dir, 'md', 'trajectory.extxyz')), 21);
});

test('atomgp opt --reference ipi driven by LAMMPS fix ipi finds the force field’s minimum (r0, θ0)', { skip: noLammps }, async () => {
  const dir = mkdtempSync(join(root, 'lmp-opt-'));
  const startFile = join(dir, 'water.xyz');
  writeFileSync(startFile, WATER_XYZ);
  const name = socketName('lmp-opt');
  const opt = startAtomgp(['opt', '--reference', `ipi:unix:${name}?cell=30&timeout=120`, '--start', startFile, '--out', join(dir, 'opt'), '--fmax', '1e-4', '--energy-tol', '1e-10']);
  const lmp = await lammpsClient(name, dir);
  const [o] = await Promise.all([opt.done, lmp.done]);
  assert.equal(o.code, 0, o.out + o.err);
  const s = JSON.parse(readFileSync(join(dir, 'opt', 'summary.json'), 'utf8')) as { positionsA: number[]; energyKcalPerMol: number };
  const x = s.positionsA;
  const d = (i: number, j: number): number[] => [0, 1, 2].map((k) => x[3 * j + k]! - x[3 * i + k]!);
  const r1 = Math.hypot(...d(0, 1));
  const r2 = Math.hypot(...d(0, 2));
  const cos = d(0, 1).reduce((acc, v, k) => acc + v * d(0, 2)[k]!, 0) / (r1 * r2);
  assert.ok(Math.abs(r1 - R0) < 1e-5 && Math.abs(r2 - R0) < 1e-5, `${r1} ${r2} Å`);
  assert.ok(Math.abs((Math.acos(cos) * 180) / Math.PI - THETA0_DEG) < 1e-3, `${(Math.acos(cos) * 180) / Math.PI}°`);
  assert.ok(Math.abs(s.energyKcalPerMol) < 1e-8, `${s.energyKcalPerMol} kcal/mol`);
  assert.equal(assertHarmonicForces(join(dir, 'opt', 'path.extxyz')) > 2, true);
});

test('atomgp pipeline --reference ipi driven by LAMMPS fix ipi: every sampled frame is labelled with the force field’s energy and forces', { skip: noLammps }, async () => {
  const dir = mkdtempSync(join(root, 'lmp-pipeline-'));
  const name = socketName('lmp-pipe');
  const out = join(dir, 'run');
  const pipeline = startAtomgp([
    'pipeline', '--molecule', 'water', '--reference', `ipi:unix:${name}?cell=30&timeout=120`, '--out', out, '--sample-steps', '2000', '--harvest-every', '10',
    '--n-train', '60', '--n-valid', '40', '--restarts', '1', '--max-iterations', '40', '--md-time-ps', '0.2', '--temperatures-K', '300', '--replicas', '1', '--workers', '1', '--quiet',
  ]);
  const lmp = await lammpsClient(name, dir);
  const [p, l] = await Promise.all([pipeline.done, lmp.done]);
  assert.equal(p.code, 0, p.out + p.err);
  assert.match(l.out + l.err, /Got EXIT message from i-PI/);
  const frames = readXyz(join(out, 'sampling', 'frames.extxyz'));
  assert.equal(frames.length, 201);
  for (const [k, fr] of frames.entries()) {
    const ref = harmonicWater(fr.positionsA);
    const eKcal = (fr.info.energy as number) * KCAL_PER_MOL_PER_HARTREE;
    assert.ok(Math.abs(eKcal - ref.energy) < 1e-5 * Math.max(1e-3, ref.energy), `frame ${k}: ${eKcal} vs ${ref.energy} kcal/mol`);
    const f = fr.arrays.forces as Float64Array;
    const fmax = Math.max(...ref.forces.map(Math.abs));
    for (let j = 0; j < 9; j++) {
      const fKcal = f[j]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
      assert.ok(Math.abs(fKcal - ref.forces[j]!) < 1e-5 * fmax + 1e-5, `frame ${k} component ${j}: ${fKcal} vs ${ref.forces[j]}`);
    }
  }
});
