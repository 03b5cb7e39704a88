import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { sharedData } from '../helpers/data.js';

const water = sharedData('ferebus-benchmark/water');
/** FEREBUS-v7's best marginal log-likelihood on water O1 (data/README.md: best cost −348.91). */
const FEREBUS_WATER_MARGINAL = 348.91;

const meta = (model: string, key: string) => new RegExp(`^# ${key} (.*)$`, 'm').exec(model)?.[1];
const thetas = (model: string) => /^theta (.*)$/m.exec(model)![1]!.trim().split(/\s+/).map(Number);

test('train --config (FEREBUS asks for pso): notes it and uses lbfgsb; --optimiser pso follows [optimiser.pso] and the search box', { skip: !water }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-ferebus-'));
  try {
    const config = join(water!, 'marginal', 'ferebus.toml');
    const model = join('WATER_iqa_O1.model');

    const lb = runCli(['train', '--config', config, '--out', join(dir, 'lbfgsb'), '--quiet']);
    assert.equal(lb.code, 0, lb.err);
    assert.match(lb.out, /^config asks for optimiser = "pso"; using lbfgsb \(analytic gradients\); --optimiser pso follows the config$/m);
    assert.match(lb.out, /optimiser lbfgsb$/m);
    const lbModel = readFileSync(join(dir, 'lbfgsb', model), 'utf8');
    assert.match(lbModel, /^# optimiser lbfgsb /m);
    assert.doesNotMatch(lbModel, /pso_settings/);
    assert.ok(Math.abs(Number(meta(lbModel, 'likelihood')) - FEREBUS_WATER_MARGINAL) < 0.1, `lbfgsb log L ${meta(lbModel, 'likelihood')}`);

    const ps = runCli(['train', '--config', config, '--out', join(dir, 'pso'), '--optimiser', 'pso', '--quiet']);
    assert.equal(ps.code, 0, ps.err);
    assert.doesNotMatch(ps.out, /config asks for/);
    assert.match(ps.out, /optimiser pso \(swarm 50, ≤ 1000 iterations, w 0\.729, c1 1\.494, c2 1\.494, stop at relative change ≤ 1e-8 for 50 iterations, θ in \[1e-6, 3\], from config\)/);
    const psModel = readFileSync(join(dir, 'pso', model), 'utf8');
    assert.match(psModel, /^# optimiser pso swarm=50 iterations=\d+ seed=1 /m);
    assert.equal(
      meta(psModel, 'pso_settings'),
      'swarm_size=50 iterations=1000 inertia_weight=0.729 cognitive_learning_rate=1.494 social_learning_rate=1.494 ' +
        'stopping_criteria=relative_change tolerance=1e-8 stall_iterations=50 theta_bounds=1e-6,3 source=config',
    );
    const logL = Number(meta(psModel, 'likelihood'));
    assert.ok(Math.abs(logL - FEREBUS_WATER_MARGINAL) < 0.1, `pso log L ${logL}`);
    for (const t of thetas(psModel)) assert.ok(t >= 1e-6 && t <= 3, `θ ${t} inside FEREBUS's search box [0, 3]`);
    // FEREBUS's notes are kept.
    assert.match(psModel, /^# method = B3LYP$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train --optimiser pso: the config sets the swarm size and stopping rule, explicit flags override it', { skip: !water }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-ferebus-'));
  try {
    copyFileSync(join(water!, 'WATER_O1_TRAINING_SET.csv'), join(dir, 'WATER_O1_TRAINING_SET.csv'));
    const text = readFileSync(join(water!, 'marginal', 'ferebus.toml'), 'utf8')
      .replace('swarm_size = 50', 'swarm_size = 16')
      .replace('iterations = 1000', 'iterations = 100000')
      .replace('stopping_criteria="relative_change"', 'stopping_criteria = "none"')
      .replace('search_max = 3.0', 'search_max = 2');
    assert.match(text, /swarm_size = 16[\s\S]*stopping_criteria = "none"/);
    writeFileSync(join(dir, 'ferebus.toml'), text);
    const r = runCli(['train', '--config', join(dir, 'ferebus.toml'), '--out', join(dir, 'out'), '--optimiser', 'pso', '--pso-iterations', '25', '--seed', '3', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const m = readFileSync(join(dir, 'out', 'WATER_iqa_O1.model'), 'utf8');
    // "none": no early stop, so exactly the 25 iterations of the flag, 16 particles each (+16 at the start).
    assert.match(m, /^# optimiser pso swarm=16 iterations=25 seed=3 evaluations=416 stop=iteration_limit_reached$/m);
    assert.equal(
      meta(m, 'pso_settings'),
      'swarm_size=16 iterations=25 inertia_weight=0.729 cognitive_learning_rate=1.494 social_learning_rate=1.494 stopping_criteria=none theta_bounds=1e-6,2 source=config+flags',
    );
    for (const t of thetas(m)) assert.ok(t <= 2, `θ ${t} ≤ search_max 2`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train: a malformed [optimiser.pso] and PSO flags without --optimiser pso give one clear line, exit status 2', { skip: !water }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-ferebus-'));
  try {
    copyFileSync(join(water!, 'WATER_O1_TRAINING_SET.csv'), join(dir, 'WATER_O1_TRAINING_SET.csv'));
    const config = join(dir, 'ferebus.toml');
    writeFileSync(config, readFileSync(join(water!, 'marginal', 'ferebus.toml'), 'utf8').replace('swarm_size = 50', 'swarm_size = -5'));
    const cases: Array<[string[], RegExp]> = [
      [['train', '--config', config, '--optimiser', 'pso'], /ferebus\.toml:20: \[optimiser\.pso\] swarm_size must be a positive integer, got -5/],
      [['train', '--config', join(water!, 'marginal', 'ferebus.toml'), '--swarm-size', '8'], /--swarm-size applies to --optimiser pso/],
    ];
    for (const [args, re] of cases) {
      const r = runCli([...args, '--out', join(dir, 'out')]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const ammonia = sharedData('ferebus-benchmark/ammonia');
test('train from TypeScript sources with a cold tsx cache finishes (the linalg worker loads before OpenBLAS runs threaded)', { skip: !ammonia }, () => {
  // A fresh TMPDIR gives tsx an empty cache, so the linalg worker forks esbuild while it loads.
  // Before the team waited for it, that fork tore OpenBLAS's thread pool down under the main
  // thread's threaded dpotrf and this run never ended (3 of 3 times).
  const tmp = mkdtempSync(join(tmpdir(), 'atomgp-cold-tsx-'));
  try {
    const r = runCli(['train', '--config', join(ammonia!, 'marginal', 'ferebus.toml'), '--out', join(tmp, 'out'), '--quiet'], { TMPDIR: tmp }, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `exit ${r.code}: ${r.err}`);
    const logL = Number(/log likelihood (\S+)/.exec(r.out)?.[1]);
    assert.ok(Math.abs(logL - 3002.27) < 0.01, `log L ${logL} (FEREBUS-v7: 3002.27)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

const glycine = sharedData('ferebus-benchmark/glycine');
test('glycine C1 (2130 × 51), the done-when: train --config then validate reaches FEREBUS-v7\'s optimum and a validation MAE no worse than its model\'s', { skip: !glycine }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-cli-glycine-'));
  try {
    const tr = runCli(['train', '--config', join(glycine!, 'marginal', 'ferebus.toml'), '--out', dir, '--quiet']);
    assert.equal(tr.code, 0, tr.err);
    const model = readFileSync(join(dir, 'GLYCINE_iqa_C1.model'), 'utf8');
    assert.match(model, /^# optimiser lbfgsb search=full starts=1 polish=\d+@2.5e-14\/var:\d+ seed=1 /m);
    // FEREBUS's 1324 s swarm: 12335.25. One start from the data guess reaches 12335.248.
    const logL = Number(meta(model, 'likelihood'));
    assert.ok(logL > 12335.2 && logL < 12335.4, `log L ${logL}`);
    const validation = join(glycine!, 'GLYCINE_C1_VALIDATION_SET.csv');
    const ours = runCli(['validate', '--model', join(dir, 'GLYCINE_iqa_C1.model'), '--set', validation, '--json']);
    const theirs = runCli(['validate', '--model', join(glycine!, 'marginal', 'GLYCINE_iqa_C1.model'), '--set', validation, '--json']);
    assert.equal(ours.code, 0, ours.err);
    assert.equal(theirs.code, 0, theirs.err);
    const a = JSON.parse(ours.out) as { n: number; mae_Ha: number };
    const b = JSON.parse(theirs.out) as { n: number; mae_Ha: number };
    assert.equal(a.n, 494);
    // FEREBUS's model: 0.67114 kJ/mol; ours 0.67114 (the same optimum; the last digits may differ).
    assert.ok(Math.abs(b.mae_Ha * 2625.4996 - 0.6711) < 5e-4, `FEREBUS MAE ${b.mae_Ha * 2625.4996} kJ/mol`);
    assert.ok(a.mae_Ha <= b.mae_Ha * 1.0005, `MAE ours ${a.mae_Ha * 2625.4996} vs FEREBUS ${b.mae_Ha * 2625.4996} kJ/mol`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
