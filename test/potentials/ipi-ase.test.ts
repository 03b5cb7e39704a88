/**
 * ASE drives atomgp over the i-PI protocol (SocketIOCalculator ↔ `atomgp ipi`) on the ammonia IQA
 * models: energies and forces equal `atomgp predict`, ASE's BFGS finds `atomgp opt`'s minimum, ASE's
 * VelocityVerlet conserves energy as atomgp's NVE does. Needs Debian's python3-ase (skipped with a
 * message without it, unless CI=true) and ../shared/data.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { runCli } from '../helpers/cli.js';
import { sharedData } from '../helpers/data.js';
import { type Running, skipWithoutAse, socketName, startAse, startAtomgp } from '../helpers/external.js';

const noAse = skipWithoutAse();
const models = sharedData('ammonia/models');
const skip = noAse || !models;
const root = mkdtempSync(join(tmpdir(), 'atomgp-ipi-ase-'));
after(() => rmSync(root, { recursive: true, force: true }));

const SYMBOLS = ['N', 'H', 'H', 'H'];
const GUESS = [0, 0, 0, 0, 0.94, 0.38, 0.814, -0.47, 0.38, -0.814, -0.47, 0.38];

function xyz(frames: number[][], comment = 'ammonia'): string {
  return frames.map((x) => `4\n${comment}\n${SYMBOLS.map((s, i) => `${s} ${x[3 * i]} ${x[3 * i + 1]} ${x[3 * i + 2]}`).join('\n')}\n`).join('');
}

/** Run an ASE driver against an `atomgp ipi` client on the ammonia models; both must succeed. */
async function aseDrivesAtomgp(tag: string, aseArgs: (name: string) => string[]): Promise<void> {
  const name = socketName(tag);
  const ase: Running = startAse(aseArgs(name), { timeoutMs: 600_000 });
  // ASE (the server) binds first; the client retries until the socket exists.
  const client = startAtomgp(['ipi', '--models', models!, '--unix', name, '--extra', 'none'], { timeoutMs: 600_000 });
  const [a, c] = await Promise.all([ase.done, client.done]);
  assert.equal(a.code, 0, `ASE: ${a.err}`);
  assert.equal(c.code, 0, `atomgp ipi: ${c.err}`);
}

test('ASE is installed (required under CI=true)', { skip: process.env.CI !== 'true' && 'CI is not true' }, () => {
  assert.equal(skipWithoutAse(), false);
});

test('ASE SocketIOCalculator + atomgp ipi: energies and forces equal atomgp predict to 1e-10 relative', { skip }, async () => {
  // Deterministic distortions of the guess, up to ±0.1 Å.
  const frames = [0, 1, 2, 3, 4].map((k) => GUESS.map((x, j) => x + 0.1 * Math.sin(1.7 * k + 2.3 * j + 0.4) * (k > 0 ? 1 : 0)));
  const file = join(root, 'points.xyz');
  writeFileSync(file, xyz(frames));
  const out = join(root, 'points.json');
  await aseDrivesAtomgp('points', (name) => ['points', name, file, out]);
  const ase = JSON.parse(readFileSync(out, 'utf8')) as { frames: Array<{ energy_eV: number; forces_eV_per_A: number[][] }>; hartree_eV: number; bohr_A: number };
  const p = runCli(['predict', '--models', models!, '--json', file]);
  assert.equal(p.code, 0, p.err);
  const predicted = p.out.trim().split('\n').map((l) => JSON.parse(l) as { energy_Ha: number; forces_Ha_per_bohr: number[][] });
  assert.equal(ase.frames.length, frames.length);
  for (let f = 0; f < frames.length; f++) {
    const eHa = ase.frames[f]!.energy_eV / ase.hartree_eV;
    const ref = predicted[f]!;
    assert.ok(Math.abs(eHa - ref.energy_Ha) <= 1e-10 * Math.abs(ref.energy_Ha), `frame ${f}: ${eHa} vs ${ref.energy_Ha} Ha`);
    const fmax = Math.max(...ref.forces_Ha_per_bohr.flat().map(Math.abs));
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 3; k++) {
        const fHa = (ase.frames[f]!.forces_eV_per_A[i]![k]! * ase.bohr_A) / ase.hartree_eV;
        assert.ok(Math.abs(fHa - ref.forces_Ha_per_bohr[i]![k]!) <= 1e-10 * fmax, `frame ${f} atom ${i} ${k}: ${fHa} vs ${ref.forces_Ha_per_bohr[i]![k]}`);
      }
    }
  }
});

const distances = (x: number[]): number[] => {
  const d: number[] = [];
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) d.push(Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!));
  return d;
};

test('ASE BFGS through atomgp ipi converges to the minimum atomgp opt finds (energy and every distance)', { skip }, async () => {
  const start = join(root, 'guess.xyz');
  writeFileSync(start, xyz([GUESS]));
  const out = join(root, 'bfgs.json');
  // 1e-4 eV/Å ≈ 0.0023 kcal/mol/Å
  await aseDrivesAtomgp('bfgs', (name) => ['bfgs', name, start, '1e-4', out]);
  const ase = JSON.parse(readFileSync(out, 'utf8')) as { converged: boolean; energy_eV: number; positions_A: number[][]; hartree_eV: number };
  assert.ok(ase.converged);
  const o = runCli(['opt', '--models', models!, '--start', start, '--out', join(root, 'opt'), '--fmax', '0.001', '--energy-tol', '1e-9']);
  assert.equal(o.code, 0, o.out + o.err);
  const s = JSON.parse(readFileSync(join(root, 'opt', 'summary.json'), 'utf8')) as { energyKcalPerMol: number; positionsA: number[] };
  const eAse = (ase.energy_eV / ase.hartree_eV) * KCAL_PER_MOL_PER_HARTREE;
  assert.ok(Math.abs(eAse - s.energyKcalPerMol) < 1e-5, `BFGS ${eAse} vs opt ${s.energyKcalPerMol} kcal/mol`);
  const dAse = distances(ase.positions_A.flat());
  const dOpt = distances(s.positionsA);
  for (let k = 0; k < dAse.length; k++) assert.ok(Math.abs(dAse[k]! - dOpt[k]!) < 1e-3, `distance ${k}: ${dAse[k]} vs ${dOpt[k]} Å`);
});

test('200 steps of ASE VelocityVerlet through atomgp ipi conserve energy as atomgp md --ensemble nve does from the same state', { skip }, async () => {
  const start = join(root, 'guess-md.xyz');
  writeFileSync(start, xyz([GUESS]));
  const mdOut = join(root, 'nve');
  const m = runCli(['md', '--models', models!, '--start', start, '--out', mdOut, '--ensemble', 'nve', '--temperature-K', '300', '--timestep-fs', '0.5', '--steps', '200', '--equilibrate-ps', '0', '--traj-stride', '200', '--seed', '3']);
  assert.ok(m.code === 0, m.out + m.err);
  const summary = JSON.parse(readFileSync(join(mdOut, 'summary.json'), 'utf8')) as { maxAbsConservedDriftKcalPerMol: number };
  const out = join(root, 'nve.json');
  // Frame 0 of atomgp's trajectory: the same positions and velocities (Å/fs) for ASE.
  await aseDrivesAtomgp('nve', (name) => ['nve', name, join(mdOut, 'trajectory.extxyz'), '0.5', '200', out]);
  const ase = JSON.parse(readFileSync(out, 'utf8')) as { etot_eV: number[]; hartree_eV: number; frame0_info: { conserved: number } };
  assert.equal(ase.etot_eV.length, 201);
  const kcal = ase.etot_eV.map((e) => (e / ase.hartree_eV) * KCAL_PER_MOL_PER_HARTREE);
  // The same state: E_pot + E_kin at ASE's start equals atomgp's at step 0 (masses agree to ~1e-5).
  assert.ok(Math.abs(kcal[0]! - ase.frame0_info.conserved) < 1e-3, `ASE E_tot(0) ${kcal[0]} vs atomgp ${ase.frame0_info.conserved} kcal/mol`);
  const aseMax = Math.max(...kcal.map((e) => Math.abs(e - kcal[0]!)));
  const own = summary.maxAbsConservedDriftKcalPerMol;
  assert.ok(own > 0 && own < 0.05, `atomgp NVE max |ΔE| ${own} kcal/mol`);
  // Same integrator, same start, same forces: the same error (up to the mass tables of ASE and atomgp).
  assert.ok(aseMax < 1.5 * own && aseMax > own / 1.5, `ASE max |ΔE| ${aseMax} vs atomgp ${own} kcal/mol`);
});
