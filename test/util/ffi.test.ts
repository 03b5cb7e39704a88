/**
 * Native libraries stay loaded after the worker thread that loaded them exits (util/ffi.ts).
 *
 * The failure this guards: OpenBLAS, loaded by a training worker and unmapped when the worker
 * exited, left fork handlers behind, and a later spawnSync on the main thread (sbatch, squeue)
 * died by SIGSEGV in one of them. Each case runs in a fresh Node process (this test process has
 * the libraries loaded on its own thread already): a worker loads the library through atomgp's
 * loader, does one real call, exits; the parent then reads /proc/self/maps. The control loads a
 * library with koffi alone and shows that without the pin koffi does unmap it, i.e. that the check
 * can fail. Under CI=true (which installs OpenBLAS and libxtb) nothing is skipped.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { nativeLapackStatus } from '../../src/math/native-lapack.js';
import { loadXtbLibrary } from '../../src/potentials/xtb-ffi.js';

const ci = process.env.CI === 'true';
const linux = process.platform === 'linux';
const lapackReason = nativeLapackStatus().lapack ? undefined : nativeLapackStatus().reason;
const xtbReason = loadXtbLibrary().lib ? undefined : loadXtbLibrary().reason;
const skipOf = (reason: string | undefined): false | string => (!linux ? 'Linux only (/proc/self/maps, dlopen flags)' : reason === undefined || ci ? false : reason);

/**
 * Runs `body` (module code for the worker, with tsx registered) in a worker of a fresh process;
 * after the worker exits, returns the parent's mapped files whose names match `pattern`.
 */
function mappedAfterWorker(body: string, pattern: string): { mapped: string[]; out: string } {
  const api = import.meta.resolve('tsx/esm/api');
  const worker = `import(${JSON.stringify(api)}).then(async (m) => { m.register(); ${body} })`;
  const parent = `
    import { Worker } from 'node:worker_threads';
    import { readFileSync } from 'node:fs';
    const w = new Worker(${JSON.stringify(worker)}, { eval: true });
    const code = await new Promise((res, rej) => { w.on('exit', res); w.on('error', rej); });
    if (code !== 0) throw new Error('worker exit ' + code);
    await new Promise((r) => setTimeout(r, 200));
    const re = new RegExp(${JSON.stringify(pattern)});
    const files = [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.split(/\\s+/)[5] ?? '').filter((f) => re.test(f)))];
    console.log(JSON.stringify(files));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', parent], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '[]';
  return { mapped: JSON.parse(last) as string[], out: r.stdout };
}

const src = (p: string): string => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);

test('control: a library koffi loads in a worker is unmapped when the worker exits (the check can fail)', { skip: linux ? false : 'Linux only' }, () => {
  const { mapped } = mappedAfterWorker(
    `const { createRequire } = await import('node:module');
     const koffi = createRequire(${src('index.ts')})('koffi');
     const lib = koffi.load('libz.so.1');
     const v = lib.func('const char *zlibVersion()')();
     if (!/^1\\./.test(v)) throw new Error('zlib ' + v);`,
    'libz\\.so',
  );
  assert.deepEqual(mapped, []);
});

test('OpenBLAS loaded by a worker for a Cholesky stays mapped after the worker exits', { skip: skipOf(lapackReason) }, () => {
  const { mapped } = mappedAfterWorker(
    `const { nativeLapack } = await import(${src('math/native-lapack.ts')});
     const n = 300, a = new Float64Array(n * n);
     for (let i = 0; i < n; i++) { a[i * n + i] = n; for (let j = 0; j < i; j++) a[i * n + j] = 1 / (1 + i + j); }
     const info = nativeLapack().choleskyLower(a, n, 2);
     if (info !== 0 || !(Math.abs(a[0] - Math.sqrt(n)) < 1e-12)) throw new Error('dpotrf ' + info + ' ' + a[0]);`,
    'openblas',
  );
  assert.equal(mapped.length, 1, `mapped: ${JSON.stringify(mapped)}`);
});

test('libxtb (with its OpenBLAS) loaded by a worker stays mapped after the worker exits', { skip: skipOf(xtbReason) }, () => {
  const { mapped } = mappedAfterWorker(
    `const { loadXtbLibrary } = await import(${src('potentials/xtb-ffi.ts')});
     const { lib, reason } = loadXtbLibrary(1);
     if (!lib || lib.apiVersion < 1) throw new Error('libxtb: ' + reason);`,
    'libxtb|openblas',
  );
  assert.equal(mapped.length, 2, `mapped: ${JSON.stringify(mapped)}`);
});
