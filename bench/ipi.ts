/**
 * i-PI socket benchmark: what the socket adds to a force call. atomgp's driver
 * (IpiDriverPotential, the `--reference ipi:…` path) asks an `atomgp ipi` client process serving
 * the same model set, over a unix socket and over TCP on localhost; the same calls in process
 * (GpPotential.compute) are the baseline. Sets: the real ammonia models (if ../shared/data is
 * there) and a synthetic aspirin-size set (21 atoms × 1000 points × 57 features, rbf-cyclic).
 * Per call: µs wall and µs CPU (this process, its driver worker and the client process, from
 * /proc); overhead = socket − in process (the worker hand-off, the messages, the client's JSON
 * extra string). On a loaded machine the CPU figure is the steadier one: a process that sleeps
 * on a socket is woken promptly while a busy loop shares its core.
 * Usage: npm run bench:ipi   (or: node dist/bench/ipi.js [--seconds S])
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { syntheticMolecule } from '../src/gp/model/synthetic.js';
import { writeModel } from '../src/io/model.js';
import { GpPotential } from '../src/potentials/gp.js';
import { openIpiDriver } from '../src/potentials/ipi-driver.js';
import { createResult, type Potential } from '../src/potentials/potential.js';
import { loadModelSet } from '../src/io/modelset.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
const ATOMGP = resolve('bin', 'atomgp.js');

interface Timing {
  wallUs: number;
  /** CPU µs per call of this process (main thread and the driver's worker) plus the client's. */
  cpuUs: number;
}

/** CPU seconds (user + system) a child process has used so far, from /proc (Linux; 10 ms ticks). */
function childCpuS(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Time per energy+forces call, geometry changed every call; `clientPid` adds the client's CPU time. */
function timeCalls(pot: Potential, positionsA: Float64Array, clientPid?: number): Timing {
  const out = createResult(pot.nAtoms);
  const x = Float64Array.from(positionsA);
  const jiggle = (k: number): void => {
    for (let i = 0; i < x.length; i++) x[i] = positionsA[i]! + 1e-3 * Math.sin(0.7 * k + i);
  };
  for (let k = 0; k < 50; k++) {
    jiggle(k);
    pot.compute(x, out);
  }
  let calls = 0;
  const c0 = process.cpuUsage();
  const k0 = childCpuS(clientPid);
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    for (let k = 0; k < 20; k++) {
      jiggle(calls + k);
      pot.compute(x, out);
    }
    calls += 20;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  const clientUs = (childCpuS(clientPid) - k0) * 1e6;
  return { wallUs: ((t - t0) * 1000) / calls, cpuUs: (c.user + c.system + clientUs) / calls };
}

const ROUNDS = 3;

/**
 * Time the models in `dir` in process and through `atomgp ipi` clients on a unix socket and on TCP,
 * interleaved over ROUNDS rounds; the best round of each (the least disturbed on a shared machine).
 */
async function row(name: string, dir: string, positionsA: Float64Array, noCheck: boolean): Promise<void> {
  const set = loadModelSet(dir, { property: 'iqa', check: !noCheck });
  const inProcess = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  const unixName = `atomgp-bench-${process.pid}`;
  const routes = [
    { label: 'unix', address: `unix:${unixName}`, flags: ['--unix', unixName] },
    { label: 'tcp', address: '127.0.0.1:31457', flags: ['--host', '127.0.0.1', '--port', '31457'] },
  ];
  const drivers: Array<{ label: string; driver: Awaited<ReturnType<typeof openIpiDriver>>; pid: number | undefined; exited: Promise<number | null> }> = [];
  try {
    for (const r of routes) {
      const client = spawn(process.execPath, [ATOMGP, 'ipi', '--models', dir, ...r.flags, '--quiet', ...(noCheck ? ['--no-check'] : [])], { stdio: 'inherit' });
      const exited = new Promise<number | null>((res) => client.on('exit', (code) => res(code)));
      drivers.push({ label: r.label, driver: await openIpiDriver({ address: r.address, symbols: [...set.symbols], connectTimeoutS: 120 }, () => {}), pid: client.pid, exited });
    }
    const best: Record<string, Timing> = {};
    const keep = (key: string, t: Timing): void => {
      const b = best[key];
      best[key] = { wallUs: Math.min(b?.wallUs ?? Number.POSITIVE_INFINITY, t.wallUs), cpuUs: Math.min(b?.cpuUs ?? Number.POSITIVE_INFINITY, t.cpuUs) };
    };
    for (let round = 0; round < ROUNDS; round++) {
      keep('direct', timeCalls(inProcess, positionsA));
      for (const d of drivers) keep(d.label, timeCalls(d.driver, positionsA, d.pid));
    }
    const direct = best['direct']!;
    const cell = (t: Timing): string => `${t.wallUs.toFixed(1).padStart(7)} (${t.cpuUs.toFixed(1).padStart(7)})`;
    const cells = drivers.map((d) => `${d.label} ${cell(best[d.label]!)}, overhead ${(best[d.label]!.wallUs - direct.wallUs).toFixed(1)} (${(best[d.label]!.cpuUs - direct.cpuUs).toFixed(1)})`);
    console.log(`${name.padEnd(40)} in process ${cell(direct)} | ${cells.join(' | ')}`);
  } finally {
    for (const d of drivers) d.driver.dispose();
  }
  for (const d of drivers) {
    const code = await d.exited;
    if (code !== 0) throw new Error(`atomgp ipi client (${d.label}) exited with ${code}`);
  }
}

console.log(
  `# atomgp i-PI socket benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version} — load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `# energy + forces per call: µs wall (µs CPU of both processes), best of ${ROUNDS} interleaved rounds of ${SECONDS} s; driver in this process, atomgp ipi client in a child process; overhead = socket − in process`,
);

const dataDir = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve('..', 'shared', 'data');
const ammoniaDir = join(dataDir, 'ammonia', 'models');
if (existsSync(ammoniaDir)) {
  const nh3 = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  await row('ammonia (4 atoms × 500 pts × 6 features)', ammoniaDir, nh3, false);
} else {
  console.log(`# skip ammonia: ${ammoniaDir} not found (set ATOMGP_DATA)`);
}

const tmp = mkdtempSync(join(tmpdir(), 'atomgp-bench-ipi-'));
try {
  const mol = syntheticMolecule({ nAtoms: 21, nTrain: 1000, seed: 2024, kernel: 'rbf-cyclic', mean: 'constant' });
  for (const [i, m] of mol.models.entries()) writeModel(join(tmp, `ASPIRINSIZE_iqa_${mol.symbols[i]}${i + 1}.model`), m);
  // The synthetic weights are not fitted to noisy targets: skip the load-time consistency check.
  await row('aspirin-size rbf-cyclic (21 × 1000 × 57)', tmp, mol.positionsA, true);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
