/**
 * The library as a user gets it: `npm pack` (which builds dist/ through `prepare`), a fresh project
 * that installs the tarball, and a script that imports 'atomgp' by name and runs a prediction, an
 * MD run and a training run through the public API. Its numbers must equal the same calls made on
 * the sources in this process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { configureBackend, resetBackendSettings } from '../../src/math/backend.js';
import { loadModelSet } from '../../src/io/modelset.js';
import { readXyz } from '../../src/io/xyz.js';
import { GpPotential } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';

const root = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'atomgp-package-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' }, timeout: 300_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// The consumer: plain JavaScript, ES modules, nothing but the package's public names.
const CONSUMER = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as atomgp from 'atomgp';
import { dynamics } from 'atomgp';
import { runMd as runMdSubpath } from 'atomgp/dynamics';
const { loadModelSet, GpPotential, createResult, readXyz, massesAmu, runMd, DEFAULT_INTEGRATOR_SETTINGS, trainAtomModel, VERSION } = atomgp;

const pkg = fileURLToPath(new URL('./node_modules/atomgp/examples/water-morse/', import.meta.url));
const set = loadModelSet(pkg);
const potential = new GpPotential(set);
const frame = readXyz(join(pkg, 'water.xyz'))[0];
const res = createResult(potential.nAtoms);
potential.compute(frame.positionsA, res, true);

const out = mkdtempSync(join(tmpdir(), 'atomgp-consumer-md-'));
const md = runMd({
  potential, symbols: frame.symbols, massesAmu: massesAmu(frame.symbols), startPositionsA: frame.positionsA,
  settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nve', timestepFs: 0.25, temperatureK: 300 },
  steps: 400, seed: 7, outDir: out, mode: 'new',
});

// A 1-D GP on y = sin(x), 12 points.
const n = 12;
const x = Float64Array.from({ length: n }, (_, i) => i * 0.5);
const y = x.map(Math.sin);
const trained = trainAtomModel({ x, y, nFeatures: 1, kernel: 'rbf', prior: 'mean', seed: 1, restarts: 2 });

console.log(JSON.stringify({
  version: VERSION,
  description: potential.description,
  energyHa: res.energyHa,
  forces: Array.from(res.forcesHaPerBohr),
  sameFunctionViaNamespace: dynamics.runMd === runMd && runMdSubpath === runMd,
  md: { stepsCompleted: md.stepsCompleted, survived: md.survived, driftKcalPerMol: md.maxAbsConservedDriftKcalPerMol },
  train: { logLikelihood: trained.logLikelihood, nTrain: trained.model.nTrain, weights: Array.from(trained.model.weights).slice(0, 3) },
}));
`;

test('a fresh project installs the packed tarball and imports atomgp by name: prediction, MD and training through the public API', () => {
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  run('npm', ['pack', '--silent', '--pack-destination', packDir], root);
  const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote no tarball');
  const proj = join(work, 'consumer');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Dependencies come from npm's cache (filled by this checkout's own install) when it has them.
  run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(packDir, tarball)], proj);
  writeFileSync(join(proj, 'consumer.mjs'), CONSUMER);
  const got = JSON.parse(run(process.execPath, ['consumer.mjs'], proj).trim().split('\n').pop()!) as {
    version: string;
    description: string;
    energyHa: number;
    forces: number[];
    sameFunctionViaNamespace: boolean;
    md: { stepsCompleted: number; survived: boolean; driftKcalPerMol: number };
    train: { logLikelihood: number; nTrain: number };
  };

  // The same prediction on the sources, in this process, with the prediction kernel the consumer
  // used (an installed package has no native build unless its user builds one: WebAssembly; the
  // kernels differ in rounding, which the bounds below are too tight to allow).
  const kind = /; (native|wasm|ts|tree) kernel\)$/.exec(got.description)?.[1];
  assert.ok(kind, `the description names the kernel: ${got.description}`);
  const dir = join(root, 'examples', 'water-morse');
  configureBackend({ predict: kind === 'native' || kind === 'wasm' ? kind : 'ts' });
  let pot: GpPotential;
  try {
    pot = new GpPotential(loadModelSet(dir));
  } finally {
    resetBackendSettings();
  }
  assert.equal(pot.description, got.description);
  const frame = readXyz(join(dir, 'water.xyz'))[0]!;
  const ref = createResult(pot.nAtoms);
  pot.compute(frame.positionsA, ref, true);
  assert.ok(Math.abs(got.energyHa - ref.energyHa) <= 1e-12 * Math.abs(ref.energyHa), `energy ${got.energyHa} vs sources ${ref.energyHa}`);
  for (const [i, f] of got.forces.entries()) assert.ok(Math.abs(f - ref.forcesHaPerBohr[i]!) <= 1e-12, `force ${i}: ${f} vs ${ref.forcesHaPerBohr[i]}`);
  assert.ok(got.sameFunctionViaNamespace, 'the namespace, the subpath and the root export are one function');
  // NVE on the model: all 400 steps, energy conserved to within 0.05 kcal/mol at dt = 0.25 fs.
  assert.equal(got.md.stepsCompleted, 400);
  assert.equal(got.md.survived, true);
  assert.ok(got.md.driftKcalPerMol < 0.05, `NVE drift ${got.md.driftKcalPerMol} kcal/mol`);
  // A smooth 1-D function is fitted with a positive log-likelihood on all 12 points.
  assert.equal(got.train.nTrain, 12);
  assert.ok(Number.isFinite(got.train.logLikelihood) && got.train.logLikelihood > 0, `log L ${got.train.logLikelihood}`);
});
