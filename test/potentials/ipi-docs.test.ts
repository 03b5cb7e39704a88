/**
 * docs/ase.md's examples run as written: every ```sh block, in order, from the repository root
 * (`npx atomgp` runs the CLI from source here), each must exit 0 and leave what the page says.
 * Needs python3-ase and, for the LAMMPS block, lammps (skipped with a message without them,
 * unless CI=true).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { skipWithoutAse, skipWithoutLammps } from '../helpers/external.js';

const noAse = skipWithoutAse();
const noLammps = skipWithoutLammps();
const blocks = [...readFileSync('docs/ase.md', 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const OUTPUTS = ['/tmp/atomgp-emt-opt', '/tmp/atomgp-emt-md', '/tmp/atomgp-emt-pipeline', '/tmp/atomgp-lmp-md'];
after(() => {
  for (const d of OUTPUTS) rmSync(d, { recursive: true, force: true });
});

function runBlock(script: string): { code: number | null; out: string } {
  const cli = `${process.execPath} --import tsx test/helpers/cli-entry.ts`;
  const r = spawnSync('bash', ['-e', '-c', script.replaceAll('npx atomgp', cli)], { encoding: 'utf8', timeout: 600_000, killSignal: 'SIGKILL' });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('docs/ase.md has its five example blocks', () => {
  assert.equal(blocks.length, 5);
});

test('docs/ase.md: ASE drives atomgp ipi (energy, BFGS, velocity Verlet)', { skip: noAse }, () => {
  const r = runBlock(blocks[0]!);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /BFGS minimum: E = /);
  assert.match(r.out, /NVE, 100 fs: total energy changed by/);
  assert.match(r.out, /ended by the server closing the connection/);
});

test('docs/ase.md: an ASE calculator as the reference of atomgp opt and md', { skip: noAse }, () => {
  const r = runBlock(blocks[1]!);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /lbfgs: converged/);
  assert.ok(existsSync('/tmp/atomgp-emt-md/summary.json'), r.out);
  assert.equal((JSON.parse(readFileSync('/tmp/atomgp-emt-md/summary.json', 'utf8')) as { stepsCompleted: number }).stepsCompleted, 400);
  assert.equal(r.out.match(/ASE client: atomgp sent EXIT/g)?.length, 2);
});

test('docs/ase.md: the pipeline on an ASE reference', { skip: noAse }, () => {
  const r = runBlock(blocks[2]!);
  assert.equal(r.code, 0, r.out);
  assert.ok(existsSync('/tmp/atomgp-emt-pipeline/demo.json'), r.out);
  assert.match(r.out, /ASE client: atomgp sent EXIT/);
});

test('docs/ase.md: LAMMPS fix ipi as the reference of atomgp md, and ASE reads the trajectory', { skip: noAse || noLammps }, () => {
  const r = runBlock(blocks[3]!);
  assert.equal(r.code, 0, r.out);
  assert.ok(existsSync('/tmp/atomgp-lmp-md/trajectory.extxyz'), r.out);
  const read = runBlock(blocks[4]!);
  assert.equal(read.code, 0, read.out);
  assert.match(read.out, /^51 -?\d[\d.e-]* kcal\/mol/m);
});
