import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { backendSettings, configureBackend, defaultThreads, resetBackendSettings, settingsFromEnvironment } from '../../src/math/backend.js';

test('settings from the environment: defaults, the wasm switch for both uses, predict backend, threads', () => {
  assert.deepEqual(settingsFromEnvironment({}).settings, { lapack: 'auto', wasm: true, predict: 'auto' });
  assert.deepEqual(settingsFromEnvironment({ ATOMGP_NO_WASM: '1' }).settings, { lapack: 'auto', wasm: false, predict: 'ts' });
  assert.deepEqual(settingsFromEnvironment({ ATOMGP_NO_WASM: '0' }).settings, { lapack: 'auto', wasm: true, predict: 'auto' });
  assert.equal(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: ' TypeScript ' }).settings.predict, 'ts');
  assert.equal(settingsFromEnvironment({ ATOMGP_LAPACK: ' off ' }).settings.lapack, 'off');
  assert.equal(settingsFromEnvironment({ ATOMGP_THREADS: '3' }).settings.threads, 3);
  assert.match(settingsFromEnvironment({ ATOMGP_THREADS: '0' }).threadsError ?? '', /ATOMGP_THREADS must be a positive integer, got '0'/);
  assert.equal(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: 'native' }).predictError, undefined);
  assert.match(settingsFromEnvironment({ ATOMGP_PREDICT_BACKEND: 'nativ' }).predictError ?? '', /ATOMGP_PREDICT_BACKEND must be auto, native, wasm or ts, got 'nativ'/);
});

test('an unknown ATOMGP_PREDICT_BACKEND is a one-line error from the CLI, not a silent default', () => {
  const r = runCli(['predict', '--models', 'examples/water-morse', 'examples/water-morse/water.xyz'], { ATOMGP_PREDICT_BACKEND: 'fastest' });
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /ATOMGP_PREDICT_BACKEND must be auto, native, wasm or ts, got 'fastest'/);
  const ok = runCli(['predict', '--models', 'examples/water-morse', 'examples/water-morse/water.xyz'], { ATOMGP_PREDICT_BACKEND: 'wasm' });
  assert.equal(ok.code, 0, ok.err);
});

test('the settings are read once; configureBackend overrides them in code and reset reads the environment again', () => {
  const saved = process.env.ATOMGP_THREADS;
  try {
    process.env.ATOMGP_THREADS = '1';
    resetBackendSettings();
    assert.equal(defaultThreads(), 1);
    process.env.ATOMGP_THREADS = '2';
    assert.equal(defaultThreads(), 1, 'chosen once: a later change of the environment is not seen');
    configureBackend({ threads: 2 });
    assert.equal(defaultThreads(), 2);
    assert.equal(backendSettings().threads, 2);
    assert.throws(() => configureBackend({ threads: 0 }), AtomgpError);
    assert.equal(defaultThreads(), 2, 'a refused setting changes nothing');
    process.env.ATOMGP_THREADS = 'x';
    resetBackendSettings();
    assert.throws(() => defaultThreads(), AtomgpError);
  } finally {
    if (saved === undefined) delete process.env.ATOMGP_THREADS;
    else process.env.ATOMGP_THREADS = saved;
    resetBackendSettings();
  }
});
