/**
 * MD speed and energy conservation (issue 4):
 *   - predictor cost: µs per energy + forces call, the geometry changed every call;
 *   - one replica in-process, no output: steps/s for NVE, NVT (Nosé–Hoover chains) and Langevin,
 *     ns/day at 0.5 fs, and MD ms/step ÷ predictor ms/call (the integrator's overhead);
 *   - 2 NVT replicas on 2 worker threads (the `atomgp md --replicas` path, src/dynamics/ensemble.ts)
 *     with output (log every 10 steps, trajectory every 100): per-replica and total steps/s;
 *   - NVE energy conservation versus time step: max |H − H0| and the drift per ns (least-squares
 *     slope of block means of H(t) after the first fifth, with its standard error).
 * Systems: `water` (the analytic water-like molecule), `ammonia` (the shared GP models, if
 * ../shared/data or $ATOMGP_DATA is there: skipped with a message, an error under CI=true) and
 * `aspirin` (the synthetic aspirin-size set, 21 atoms × 1000 points × 57 features, built by
 * bench/md-systems.ts). Every run starts at the L-BFGS minimum at 300 K (seed 1).
 * Wall times on a shared machine move with its load; the CPU time of this process is also given.
 *
 * Usage: npm run bench:md   or   node dist/bench/md.js [--systems water,ammonia,aspirin]
 *   [--seconds S (per speed figure, default 3)] [--dts 1,0.5,0.25] [--drift-ps P (default: water
 *   and ammonia 20, aspirin 2)] [--no-drift] [--no-ensemble]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { massesAmu } from '../src/chem/molecule.js';
import { runEnsemble } from '../src/dynamics/ensemble.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type Ensemble, type IntegratorSettings } from '../src/dynamics/integrators.js';
import { MolecularDynamics } from '../src/dynamics/md.js';
import { lbfgs } from '../src/optimize/lbfgs.js';
import { waterLikeSpec } from '../src/potentials/analytic.js';
import { createPotential, type PotentialSpec } from '../src/potentials/factory.js';
import { createResult, type Potential } from '../src/potentials/potential.js';
import { sharedDataForBench, syntheticAspirin, writeModelFolder } from './md-systems.js';

const SYSTEMS = ['water', 'ammonia', 'aspirin'] as const;
type SystemKey = (typeof SYSTEMS)[number];

const { values: args } = parseArgs({
  options: {
    systems: { type: 'string', default: SYSTEMS.join(',') },
    seconds: { type: 'string', default: '3' },
    dts: { type: 'string', default: '1,0.5,0.25' },
    'drift-ps': { type: 'string' },
    'no-drift': { type: 'boolean', default: false },
    'no-ensemble': { type: 'boolean', default: false },
  },
});
const positive = (flag: string, text: string): number => {
  const v = Number(text);
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${flag}: expected a positive number, got '${text}'`);
  return v;
};
const wanted = args.systems!.split(',').map((s) => s.trim());
for (const s of wanted) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: unknown system '${s}' (expected ${SYSTEMS.join(', ')})`);
const SECONDS = positive('seconds', args.seconds!);
const DTS = args.dts!.split(',').map((s) => positive('dts', s));
const DRIFT_PS = args['drift-ps'] === undefined ? undefined : positive('drift-ps', args['drift-ps']);

interface Case {
  key: SystemKey;
  name: string;
  spec: PotentialSpec;
  symbols: string[];
  startA: Float64Array;
  driftPs: number;
}

const TEMPERATURE_K = 300;
const SPEED_DT_FS = 0.5;
const settings = (ensemble: Ensemble, timestepFs = SPEED_DT_FS): IntegratorSettings => ({
  ...DEFAULT_INTEGRATOR_SETTINGS,
  ensemble,
  timestepFs,
  temperatureK: TEMPERATURE_K,
});
const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const nsPerDay = (stepsPerS: number, dtFs = SPEED_DT_FS): number => (stepsPerS * dtFs * 86400) / 1e6;

interface Rate {
  /** Wall-clock steps (or calls) per second. */
  perS: number;
  /** CPU ms of this process per step (or call). */
  cpuMs: number;
}

/** Repeat `chunk(k)` (k units of work) for about `seconds`, after a warm-up of a fifth of that. */
function timeLoop(seconds: number, chunk: (k: number) => void): Rate {
  let k = 1;
  const w0 = performance.now();
  while (performance.now() - w0 < 200 * seconds) {
    chunk(k);
    k = Math.min(k * 2, 1000);
  }
  let units = 0;
  const c0 = cpuMs();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 1000 * seconds) {
    chunk(k);
    units += k;
    t = performance.now();
  }
  return { perS: units / ((t - t0) / 1000), cpuMs: (cpuMs() - c0) / units };
}

/** Energy + forces calls, each at a slightly different geometry. */
function predictorRate(p: Potential, startA: Float64Array): Rate {
  const out = createResult(p.nAtoms);
  const x = Float64Array.from(startA);
  let call = 0;
  return timeLoop(Math.min(2, SECONDS), (k) => {
    for (let j = 0; j < k; j++, call++) {
      for (let i = 0; i < x.length; i++) x[i] = startA[i]! + 1e-3 * Math.sin(0.7 * call + i);
      p.compute(x, out);
    }
  });
}

function mdRate(p: Potential, c: Case, ensemble: Ensemble): Rate {
  const md = MolecularDynamics.create(p, settings(ensemble), c.startA, massesAmu(c.symbols), 1);
  return timeLoop(SECONDS, (k) => md.run(md.state.step + k));
}

interface Drift {
  steps: number;
  maxAbsKcalPerMol: number;
  /** Least-squares slope of H(t) over the last 8 of 10 block means, and its standard error from their scatter. */
  perNsKcalPerMol: number;
  perNsErrKcalPerMol: number;
  wallS: number;
}

const DRIFT_BLOCKS = 10;
/** Blocks left out of the fit: started at the minimum, the first fifth of a run is equilibration. */
const DRIFT_SKIP = 2;

/**
 * NVE from the start geometry for `ps`: max |H − H0| and the drift per ns. H(t) fluctuates far more
 * than it drifts over a few ps and is correlated over many steps, so the slope is fitted to block
 * means, whose scatter gives the standard error (a slope within ~2-3 errors of 0 is no drift). The
 * first fifth is left out of the fit: from the minimum, kinetic energy spreads into the potential
 * for a while, and the integrator's O(dt²) offset of H moves with it (not a secular drift).
 */
function nveDrift(p: Potential, c: Case, dtFs: number, ps: number): Drift {
  const md = MolecularDynamics.create(p, settings('nve', dtFs), c.startA, massesAmu(c.symbols), 1);
  const steps = Math.round((ps * 1000) / dtFs);
  const h = new Float64Array(steps + 1);
  md.attach((m) => {
    h[m.state.step] = m.conservedKcalPerMol;
  });
  const t0 = performance.now();
  md.run(steps);
  const wallS = (performance.now() - t0) / 1000;
  const per = Math.floor((steps + 1) / DRIFT_BLOCKS);
  const tb = new Float64Array(DRIFT_BLOCKS);
  const hb = new Float64Array(DRIFT_BLOCKS);
  for (let b = 0; b < DRIFT_BLOCKS; b++) {
    for (let k = b * per; k < (b + 1) * per; k++) hb[b] = hb[b]! + h[k]! / per;
    tb[b] = (((b + 0.5) * per - 0.5) * dtFs) / 1e6; // ns, block centre
  }
  const nb = DRIFT_BLOCKS - DRIFT_SKIP;
  let tMean = 0;
  let hMean = 0;
  for (let b = DRIFT_SKIP; b < DRIFT_BLOCKS; b++) {
    tMean += tb[b]! / nb;
    hMean += hb[b]! / nb;
  }
  let stt = 0;
  let sth = 0;
  for (let b = DRIFT_SKIP; b < DRIFT_BLOCKS; b++) {
    stt += (tb[b]! - tMean) ** 2;
    sth += (tb[b]! - tMean) * (hb[b]! - hMean);
  }
  const slope = sth / stt;
  let rss = 0;
  for (let b = DRIFT_SKIP; b < DRIFT_BLOCKS; b++) rss += (hb[b]! - hMean - slope * (tb[b]! - tMean)) ** 2;
  return {
    steps,
    maxAbsKcalPerMol: md.state.stats.maxAbsDriftKcalPerMol,
    perNsKcalPerMol: slope,
    perNsErrKcalPerMol: Math.sqrt(rss / (nb - 2) / stt),
    wallS,
  };
}

async function buildCases(root: string): Promise<Case[]> {
  const cases: Case[] = [];
  const minimum = async (spec: PotentialSpec, guessA: Float64Array): Promise<Float64Array> =>
    lbfgs(await createPotential(spec), guessA, { fmaxKcalPerMolPerA: 0.01, maxSteps: 2000 }).positionsA;
  if (wanted.includes('water')) {
    const w = waterLikeSpec();
    cases.push({ key: 'water', name: 'analytic water-like (3 atoms)', spec: { kind: 'analytic', spec: w.spec }, symbols: w.spec.symbols, startA: w.minimumA, driftPs: 20 });
  }
  if (wanted.includes('ammonia')) {
    const dir = sharedDataForBench('ammonia/models');
    if (dir) {
      const spec: PotentialSpec = { kind: 'gp-models', dir };
      const guess = Float64Array.from([0, 0, 0, 0, 0.94, 0.38, 0.814, -0.47, 0.38, -0.814, -0.47, 0.38]);
      cases.push({ key: 'ammonia', name: 'ammonia GP, real models (4 × 500 × 6)', spec, symbols: ['N', 'H', 'H', 'H'], startA: await minimum(spec, guess), driftPs: 20 });
    }
  }
  if (wanted.includes('aspirin')) {
    const t0 = performance.now();
    const a = syntheticAspirin();
    const dir = join(root, 'aspirin-models');
    writeModelFolder(dir, a.models);
    const spec: PotentialSpec = { kind: 'gp-models', dir };
    const startA = await minimum(spec, a.referenceA);
    console.log(
      `# synthetic aspirin: built, written, loaded (with the consistency check) and minimised in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `smallest sin θ of a feature ${a.minSinTheta.toFixed(2)}`,
    );
    cases.push({ key: 'aspirin', name: 'aspirin-size synthetic GP (21 × 1000 × 57)', spec, symbols: a.symbols, startA, driftPs: 2 });
  }
  return cases;
}

const load = (): string =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`# atomgp MD benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} — node ${process.version}`);
  console.log(`# load average at start: ${load()}; ${TEMPERATURE_K} K, seed 1, speed at ${SPEED_DT_FS} fs, ${SECONDS} s per speed figure`);
  const root = mkdtempSync(join(tmpdir(), 'atomgp-bench-md-'));
  try {
    const cases = await buildCases(root);
    const speed = [
      `| system | predictor µs/call (CPU µs) | NVE steps/s | NVT steps/s | Langevin steps/s | ns/day at ${SPEED_DT_FS} fs (NVE) | NVE CPU per step ÷ predictor CPU per call | NVT ÷ NVE CPU | load (1 min) |`,
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ];
    const ensemble = [
      '| system | steps per replica | steps/s per replica (in its worker) | total steps/s | total ns/day | total ÷ 1-replica NVT | wall incl. start-up (s) | cores obtained (CPU ÷ wall) | load (1 min) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ];
    const drift = [
      '| system | dt / fs | ps | steps | max abs(H − H0) / (kcal/mol) | drift ± s.e. after the first fifth / (kcal/mol/ns) | wall s |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const c of cases) {
      const p = await createPotential(c.spec);
      const pred = predictorRate(p, c.startA);
      const rates = { nve: mdRate(p, c, 'nve'), nvt: mdRate(p, c, 'nvt'), langevin: mdRate(p, c, 'langevin') };
      const r = (x: Rate) => `${x.perS.toFixed(0)} (${(1000 * x.cpuMs).toFixed(1)} µs)`;
      speed.push(
        `| ${c.name} | ${(1e6 / pred.perS).toFixed(1)} (${(1000 * pred.cpuMs).toFixed(1)}) | ${r(rates.nve)} | ${r(rates.nvt)} | ${r(rates.langevin)} | ` +
          `${nsPerDay(rates.nve.perS).toFixed(1)} | ×${(rates.nve.cpuMs / pred.cpuMs).toFixed(2)} | ×${(rates.nvt.cpuMs / rates.nve.cpuMs).toFixed(2)} | ${loadavg()[0]!.toFixed(1)} |`,
      );
      process.stderr.write(`# ${c.name}: speed done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);

      if (!args['no-ensemble']) {
        // About SECONDS × 2 of work per replica at the single-replica NVT rate.
        const steps = Math.max(200, Math.round((2 * SECONDS * rates.nvt.perS) / 100) * 100);
        const t0 = performance.now();
        const c0 = cpuMs();
        const summaries = await runEnsemble({
          potentialSpec: c.spec,
          symbols: c.symbols,
          massesAmu: massesAmu(c.symbols),
          startPositionsA: c.startA,
          settings: settings('nvt'),
          temperaturesK: [TEMPERATURE_K],
          replicas: 2,
          steps,
          seed: 1,
          outDir: join(root, `ensemble-${c.key}`),
          mode: 'overwrite',
          workers: 2,
          logEvery: 10,
          trajStride: 100,
        });
        const wallS = (performance.now() - t0) / 1000;
        const cores = (cpuMs() - c0) / 1000 / wallS;
        const per = summaries.map((s) => s.stepsPerSecond);
        const total = per.reduce((a, b) => a + b, 0);
        ensemble.push(
          `| ${c.name} | ${steps} | ${per.map((v) => v.toFixed(0)).join(', ')} | ${total.toFixed(0)} | ${nsPerDay(total).toFixed(1)} | ` +
            `×${(total / rates.nvt.perS).toFixed(2)} | ${wallS.toFixed(1)} | ${cores.toFixed(2)} | ${loadavg()[0]!.toFixed(1)} |`,
        );
        process.stderr.write(`# ${c.name}: ensemble done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
      }

      if (!args['no-drift']) {
        const ps = DRIFT_PS ?? c.driftPs;
        for (const dt of DTS) {
          const d = nveDrift(p, c, dt, ps);
          drift.push(
            `| ${c.name} | ${dt} | ${ps} | ${d.steps} | ${d.maxAbsKcalPerMol.toExponential(2)} | ${d.perNsKcalPerMol.toExponential(1)} ± ${d.perNsErrKcalPerMol.toExponential(1)} | ${d.wallS.toFixed(1)} |`,
          );
        }
        process.stderr.write(`# ${c.name}: drift done (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
      }
    }
    console.log(`\n## One replica, in-process, no output (wall steps/s, CPU µs per step in brackets)\n${speed.join('\n')}`);
    if (!args['no-ensemble']) console.log(`\n## 2 NVT replicas on 2 worker threads, log every 10 steps, trajectory every 100\n${ensemble.join('\n')}`);
    if (!args['no-drift']) console.log(`\n## NVE energy conservation from the minimum at ${TEMPERATURE_K} K\n${drift.join('\n')}`);
    console.log(`\n# load average at end: ${load()}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
