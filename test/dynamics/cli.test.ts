import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { waterLikeSpec } from '../../src/potentials/analytic.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-cli-md-'));
after(() => rmSync(root, { recursive: true, force: true }));
const { spec, minimumA } = waterLikeSpec();
const specFile = join(root, 'water.json');
writeFileSync(specFile, JSON.stringify({ kind: 'analytic', spec }));
const xyz = (x: Float64Array, symbols = spec.symbols): string =>
  `${symbols.length}\nstart\n` + symbols.map((s, i) => `${s} ${x[3 * i]} ${x[3 * i + 1]} ${x[3 * i + 2]}`).join('\n') + '\n';
const start = join(root, 'start.xyz');
writeFileSync(start, xyz(minimumA));

/**
 * Run the CLI capturing stderr (stdout belongs to the test runner here, so results are read from
 * the files the commands write).
 */
async function cli(args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const w2 = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, err: err.join('') };
  } finally {
    process.stderr.write = w2;
  }
}

const md = (out: string, ...more: string[]) => ['md', '--potential', specFile, '--start', start, '--steps', '200', '--out', out, '--seed', '4', ...more];

test('atomgp md runs, refuses to overwrite, resumes', async () => {
  const out = join(root, 'run1');
  const r = await cli(md(out, '--ensemble', 'nve', '--timestep-fs', '0.25', '--checkpoint-every', '50'));
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.ensemble, 'nve');
  assert.equal(summary.nDof, 3);
  assert.equal(summary.stepsCompleted, 200);
  const again = await cli(md(out, '--ensemble', 'nve', '--timestep-fs', '0.25'));
  assert.equal(again.code, 2);
  assert.match(again.err, /--overwrite/);
  const resumed = await cli([...md(out, '--ensemble', 'nve', '--timestep-fs', '0.25', '--checkpoint-every', '50', '--resume'), '--steps', '300']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).stepsCompleted, 300);
  const wrong = await cli([...md(out, '--ensemble', 'nvt', '--timestep-fs', '0.25', '--resume')]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /does not match this run's settings \(ensemble: checkpoint "nve", now "nvt"/);
});

test('atomgp md: bad input is a clear error (exit 2), never a stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [md(join(root, 'b1'), '--timestep-fs=-1'), /time step -1 fs/],
    [md(join(root, 'b2'), '--timestep-fs', '100'), /time step 100 fs/],
    [md(join(root, 'b3'), '--temperature-K=-3'), /temperature -3 K/],
    [md(join(root, 'b4'), '--temperature-K', 'hot'), /--temperature-K expects a number/],
    [md(join(root, 'b5'), '--ensemble', 'npt'), /--ensemble must be one of/],
    [['md', '--potential', specFile, '--start', join(root, 'missing.xyz'), '--steps', '5', '--out', join(root, 'b6')], /does not exist/],
    [['md', '--start', start, '--steps', '5', '--out', join(root, 'b7')], /exactly one of --models/],
  ];
  const four = join(root, 'four.xyz');
  writeFileSync(four, xyz(Float64Array.from([...minimumA, 0, 0, 3]), ['O', 'H', 'H', 'H']));
  cases.push([['md', '--potential', specFile, '--start', four, '--steps', '5', '--out', join(root, 'b8')], /start geometry has 4 atoms but the potential/]);
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

test('atomgp md --reference-geometry: a distorted start is monitored against the undistorted geometry', async () => {
  // O1-H2 stretched 0.9572 → 1.5 Å along the bond (H2 moved): 61.0 kcal/mol above the minimum.
  const x = Float64Array.from(minimumA);
  const scale = 1.5 / 0.9572;
  for (const k of [0, 1, 2]) x[3 + k] = x[3 + k]! * scale;
  const distorted = join(root, 'distorted.xyz');
  writeFileSync(distorted, xyz(x));
  const run = (out: string, ...more: string[]) =>
    cli(['md', '--potential', specFile, '--start', distorted, '--steps', '200', '--out', join(root, out), '--ensemble', 'nve', '--temperature-K', '0', '--energy-criterion', 'per-atom', '--energy-runaway-per-atom', '10', ...more]);
  // L = 10 × 3 = 30 kcal/mol: falling from 61 kcal/mol towards the minimum exceeds it when measured from the start.
  const legacy = await run('ref0');
  assert.equal(legacy.code, 1, legacy.err);
  assert.match(JSON.parse(readFileSync(join(root, 'ref0', 'summary.json'), 'utf8')).failure.reason, /fell .* below that of the start/);
  const withRef = await run('ref1', '--reference-geometry', start);
  assert.equal(withRef.code, 0, withRef.err);
  const summary = JSON.parse(readFileSync(join(root, 'ref1', 'summary.json'), 'utf8'));
  assert.deepEqual(summary.monitorReference.bonds, [
    [0, 1],
    [0, 2],
  ]);
  assert.ok(Math.abs(summary.monitorReference.lengthsA[0] - 0.9572) < 1e-9, `reference length ${summary.monitorReference.lengthsA[0]}`);
  const up = await run('ref2', '--energy-runaway-direction', 'up');
  assert.equal(up.code, 0, up.err);
  assert.equal(JSON.parse(readFileSync(join(root, 'ref2', 'summary.json'), 'utf8')).monitor.energyRunawayDirection, 'up');
  const four = join(root, 'four-ref.xyz');
  writeFileSync(four, xyz(minimumA, ['O', 'H', 'O']));
  for (const [args, re] of [
    [['--reference-geometry', four], /--reference-geometry .*four-ref\.xyz: atom 3 is O, the start has H there/],
    [['--reference-geometry', join(root, 'nope.xyz')], /does not exist/],
    [['--energy-runaway-direction', 'down'], /--energy-runaway-direction must be both or up, got 'down'/],
  ] as const) {
    const r = await run('ref-bad', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
  }
});

test('atomgp md with --replicas runs an ensemble and prints the table', async () => {
  const out = join(root, 'ens');
  const r = await cli(md(out, '--replicas', '2', '--temperature-K', '300,500', '--workers', '2', '--traj-stride', '50'));
  assert.equal(r.code, 0, r.err);
  const table = JSON.parse(readFileSync(join(out, 'ensemble.json'), 'utf8')) as Array<{ label: string; survived: boolean }>;
  assert.deepEqual(
    table.map((s) => s.label),
    ['T300_r00', 'T300_r01', 'T500_r00', 'T500_r01'],
  );
  assert.ok(table.every((s) => s.survived));
});

test('atomgp opt finds the minimum of the analytic molecule', async () => {
  const bent = join(root, 'bent.xyz');
  writeFileSync(bent, xyz(Float64Array.from([0.1, -0.05, 0.02, 1.2, 0.3, 0.1, -0.5, 0.9, -0.2])));
  for (const [method, ...extra] of [['lbfgs'], ['lbfgs', '--precondition', 'none'], ['fire']]) {
    const out = join(root, `opt-${method}${extra.length ? '-plain' : ''}`);
    const r = await cli(['opt', '--potential', specFile, '--start', bent, '--out', out, '--method', method!, '--fmax', '0.05', ...extra]);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(s.preconditioner, method === 'fire' ? null : (extra[1] ?? 'lindh'));
    assert.ok(s.fmaxKcalPerMolPerA <= 0.05);
    assert.ok(Math.abs(s.energyKcalPerMol) < 1e-3);
    assert.match(readFileSync(join(out, 'optimized.xyz'), 'utf8'), /energy_unit=kcal\/mol/);
    const again = await cli(['opt', '--potential', specFile, '--start', bent, '--out', out]);
    assert.equal(again.code, 2);
  }
  for (const [flags, message] of [
    [['--precondition', 'exp'], /--precondition must be none or lindh, got 'exp'/],
    [['--method', 'fire', '--precondition', 'lindh'], /--precondition applies to --method lbfgs only/],
  ] as const) {
    const bad = await cli(['opt', '--potential', specFile, '--start', bent, '--out', join(root, 'opt-bad'), ...flags]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, message);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
  }
});

test('atomgp md: equilibration and strict criteria are on by default, recorded, and their flags are checked', async () => {
  const out = join(root, 'eq-default');
  const r = await cli(md(out, '--temperature-K', '600'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /model minimum E_min = 0\.000 kcal\/mol/);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(s.equilibration.timeFs, 500);
  assert.equal(s.equilibration.frictionPerPs, 10);
  assert.equal(s.stepsCompleted, 200);
  assert.equal(s.monitor.energyCriterion, 'strict');
  assert.ok(Math.abs(s.energyCriteria.epotMinimumKcalPerMol) < 1e-6);
  assert.ok(Math.abs(s.energyCriteria.holeBelowKcalPerMol + 5) < 1e-6);
  assert.match(s.energyCriteria.epotMinimumSource, /L-BFGS .* from 1 geometries \(start\)/);
  const off = join(root, 'eq-off');
  assert.equal((await cli(md(off, '--temperature-K', '600', '--equilibrate-ps', '0', '--epot-min-kcal=-1.5'))).code, 0);
  const so = JSON.parse(readFileSync(join(off, 'summary.json'), 'utf8'));
  assert.equal(so.equilibration, undefined);
  assert.equal(so.energyCriteria.epotMinimumKcalPerMol, -1.5);
  assert.equal(so.energyCriteria.epotMinimumSource, 'given (--epot-min-kcal)');
  for (const [args, re] of [
    [['--equilibrate-ps=-1'], /--equilibrate-ps must be ≥ 0/],
    [['--equilibrate-friction-per-ps', '0'], /--equilibrate-friction-per-ps must be > 0/],
    [['--bond-compress-factor', '1.5'], /--bond-compress-factor must be in \[0, 1\)/],
    [['--energy-criterion', 'soft'], /--energy-criterion must be strict or per-atom, got 'soft'/],
    [['--minimum-from', join(root, 'nope.xyz')], /does not exist/],
  ] as const) {
    const bad = await cli(md(join(root, 'eq-bad'), ...args));
    assert.equal(bad.code, 2, args.join(' '));
    assert.match(bad.err, re);
  }
});
