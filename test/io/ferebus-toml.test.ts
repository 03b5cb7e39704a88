import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { readFerebusConfig } from '../../src/io/ferebus-toml.js';
import { sharedData } from '../helpers/data.js';

const water = sharedData('ferebus-benchmark/water');
test('reads the benchmark ferebus.toml and finds the training CSV one folder up', { skip: !water }, () => {
  const c = readFerebusConfig(join(water!, 'concentrated', 'ferebus.toml'));
  assert.equal(c.systemName, 'WATER');
  assert.equal(c.atoms.length, 1);
  assert.equal(c.atoms[0]!.name, 'O1');
  assert.deepEqual(c.atoms[0]!.alf, [1, 2, 3]);
  assert.equal(c.atoms[0]!.trainingSet, join(water!, 'concentrated', '..', 'WATER_O1_TRAINING_SET.csv'));
  assert.equal(c.prior, 'mean');
  assert.equal(c.likelihood, 'concentrated');
  assert.equal(c.composition, 'k1');
  assert.deepEqual(c.kernels, [{ name: 'k1', type: 'rbf' }]);
  assert.deepEqual(c.properties, ['iqa']);
});

test('a config naming an atom without a training CSV, or an unknown mean, is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-toml-'));
  try {
    const p = join(dir, 'ferebus.toml');
    writeFileSync(p, '[system]\nname = "W"\natoms = [{name="O1", alf=[1,2,3]}]\n[model]\nmean = "constant"\n');
    assert.throws(() => readFerebusConfig(p), (e: unknown) => e instanceof AtomgpError && /atom O1: training set W_O1_TRAINING_SET.csv not found/.test(e.message));
    writeFileSync(join(dir, 'W_O1_TRAINING_SET.csv'), ',f1,iqa\n0,1,2\n');
    writeFileSync(p, '[system]\nname = "W"\natoms = [{name="O1", alf=[1,2,3]}]\n[model]\nmean = "cubic"\n');
    assert.throws(() => readFerebusConfig(p), (e: unknown) => e instanceof AtomgpError && /mean = "cubic" is unknown/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const bench = sharedData('ferebus-benchmark');
test('the benchmark configs give FEREBUS optimiser settings: swarm, iterations, weights, relative-change stop, search box', { skip: !bench }, () => {
  for (const [system, swarmSize, iterations] of [
    ['water', 50, 1000],
    ['ammonia', 50, 1000],
    ['methanol', 50, 1000],
    ['glycine', 64, 10000],
  ] as const) {
    for (const likelihood of ['marginal', 'concentrated'] as const) {
      const c = readFerebusConfig(join(bench!, system, likelihood, 'ferebus.toml'));
      assert.equal(c.likelihood, likelihood);
      assert.deepEqual(
        c.optimiser,
        {
          name: 'pso',
          explicit: true,
          searchMin: 0,
          searchMax: 3,
          pso: {
            swarmSize,
            iterations,
            inertiaWeight: 0.729,
            cognitiveLearningRate: 1.494,
            socialLearningRate: 1.494,
            stopping: { kind: 'relative_change', tolerance: 1e-8, stallIterations: 50 },
          },
        },
        `${system} ${likelihood}`,
      );
    }
  }
});

/** A config folder with a one-point training CSV for atom O1 of system W; returns the config path. */
function withConfig(body: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-toml-'));
  try {
    writeFileSync(join(dir, 'W_O1_TRAINING_SET.csv'), ',f1,iqa\n0,1,2\n');
    const p = join(dir, 'ferebus.toml');
    writeFileSync(p, `[system]\nname = "W"\natoms = [{name="O1", alf=[1,2,3]}]\n\n${body}`);
    fn(p);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('optimiser keys left out take FEREBUS-v7 defaults; [optimiser.pso] search bounds win over [optimiser]; names are sanitised', () => {
  withConfig('[model]\nmean = "constant"\n', (p) => {
    assert.deepEqual(readFerebusConfig(p).optimiser, {
      name: 'pso',
      explicit: false,
      searchMin: 0,
      searchMax: 1,
      pso: { swarmSize: 50, iterations: 1000, inertiaWeight: 0.789, cognitiveLearningRate: 1.494, socialLearningRate: 1.494, stopping: { kind: 'none' } },
    });
  });
  const body = `[model]
optimiser = "PSO"
[optimiser]
search_min = 0.5
search_max = 2
[optimiser.pso]
search_max = 4
swarm_size = 12.0
inertia_weight = 1
stopping_criteria = "Relative Change"
swarm_updater = "global"
parameter_updater = "constant"
`;
  withConfig(body, (p) => {
    const o = readFerebusConfig(p).optimiser;
    assert.equal(o.explicit, true);
    assert.equal(o.searchMin, 0.5);
    assert.equal(o.searchMax, 4);
    assert.equal(o.pso.swarmSize, 12);
    assert.equal(o.pso.inertiaWeight, 1);
    // relative_change without its table: FEREBUS's tolerance 1e-6 over 20 iterations.
    assert.deepEqual(o.pso.stopping, { kind: 'relative_change', tolerance: 1e-6, stallIterations: 20 });
  });
  withConfig('[optimiser.pso]\nstopping_criteria = "none"\n[optimiser.pso.relative_change]\ntolerance = 1e-3\n', (p) => {
    assert.deepEqual(readFerebusConfig(p).optimiser.pso.stopping, { kind: 'none' });
  });
});

test('malformed optimiser settings are errors naming the file, line and key', () => {
  const pso = (lines: string) => `[model]\noptimiser = "pso"\n\n[optimiser.pso]\nswarm_size = 10\n${lines}\n`;
  const cases: Array<[string, RegExp]> = [
    [pso('iterations = 0'), /ferebus\.toml:10: \[optimiser\.pso\] iterations must be a positive integer, got 0/],
    [pso('iterations = 10.5'), /:10: \[optimiser\.pso\] iterations must be a positive integer, got 10\.5/],
    [pso('inertia_weight = -0.1'), /:10: \[optimiser\.pso\] inertia_weight must be a number > 0, got -0\.1/],
    [pso('social_learning_rate = "fast"'), /:10: \[optimiser\.pso\] social_learning_rate must be a number > 0, got "fast"/],
    [pso('cognitive_learning_rate = nan'), /:10: \[optimiser\.pso\] cognitive_learning_rate must be a number > 0, got NaN/],
    [pso('swarm-size = 64'), /:10: \[optimiser\.pso\] swarm-size is not a FEREBUS PSO key \(expected search_min, search_max, swarm_size/],
    [pso('stopping_criteria = "relative_change"\n[optimiser.pso.relative_change]\ntolerance = -1e-8'), /:12: \[optimiser\.pso\.relative_change\] tolerance must be a number ≥ 0, got -1e-8/],
    [pso('stopping_criteria = "relative_change"\n[optimiser.pso.relative_change]\nstall_iterations = 0'), /:12: \[optimiser\.pso\.relative_change\] stall_iterations must be a positive integer, got 0/],
    [pso('stopping_criteria = "relative_change"\n[optimiser.pso.relative_change]\nstall = 5'), /:12: \[optimiser\.pso\.relative_change\] stall is not a FEREBUS key/],
    [pso('stopping_criteria = "sign_test"'), /:10: \[optimiser\.pso\] stopping_criteria = "sign_test" is not supported .*expected "relative_change" or "none"/],
    [pso('stopping_criteria = "patience"'), /:10: \[optimiser\.pso\] stopping_criteria = "patience" is unknown/],
    [pso('parameter_updater = "uapso"'), /:10: \[optimiser\.pso\] parameter_updater = "uapso" is not supported by atomgp's PSO/],
    [pso('swarm_updater = "forced"'), /:10: \[optimiser\.pso\] swarm_updater = "forced" is not supported by atomgp's PSO/],
    [pso('[optimiser.pso.lbfgs]\nm = 5'), /:10: \[optimiser\.pso\.lbfgs\] is not a FEREBUS PSO table/],
    ['[optimiser]\nsearch_min = 2\nsearch_max = 1\n', /:7: search_max = 1 must be greater than search_min = 2/],
    ['[optimiser]\nsearch_min = -1\n', /:6: \[optimiser\] search_min must be a number ≥ 0 \(a bound on θ\), got -1/],
    ['[optimiser]\nmax = 1\n', /:6: \[optimiser\] max is not a FEREBUS key/],
    ['[model]\noptimiser = "lbfgs"\n', /:6: \[model\] optimiser = "lbfgs" is unknown \(FEREBUS-v7 knows only "pso"/],
    ['[model]\nnoise = "small"\n', /:6: \[model\] noise must be a number ≥ 0, got "small"/],
    ['[model]\noptimise_noise = 1\n', /:6: \[model\] optimise_noise must be true or false, got 1/],
  ];
  for (const [body, re] of cases) {
    withConfig(body, (p) => {
      assert.throws(
        () => readFerebusConfig(p),
        (e: unknown) => e instanceof AtomgpError && e.message.startsWith(p) && re.test(e.message),
        `${body}\n→ ${(() => {
          try {
            readFerebusConfig(p);
            return 'no error';
          } catch (e) {
            return (e as Error).message;
          }
        })()}`,
      );
    });
  }
});
