/**
 * Likelihood benchmark: milliseconds per log-likelihood evaluation with gradient (the trainer's
 * inner step) on glycine C1 subsets (the first n points of the FEREBUS benchmark training set,
 * 51 features, rbf, concentrated likelihood with the GLS mean and optimised noise), with one
 * thread and with the linear-algebra team (linalg-team.ts), plus the split into building R, the
 * Cholesky, the inverse, the gradient rows and the rest (log det and the solves for α and the GLS
 * mean), and with the native LAPACK (OpenBLAS through native-lapack.ts) when installed. On the
 * native path "R" includes the dsyrk of the square terms, "Cholesky" has no copy of R (R is built
 * in the factor's buffer), "inverse" is dpotri in place and "gradient rows" includes the dsymm. The evaluators are timed alternately so that a change in
 * machine load hits all; CPU time (all threads of this process) is given beside wall time; the
 * threaded result is checked to be bit-identical and the native one to agree to rounding.
 * Usage: npm run bench:likelihood   (or: node dist/bench/likelihood.js [700,1400,2130] [repeats] [threads])
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { linalgTeam } from '../src/math/linalg-team.js';
import { type EvaluatorOptions, LikelihoodEvaluator, type LikelihoodProblem } from '../src/gp/fit/likelihood.js';
import { nativeLapack, nativeLapackStatus } from '../src/math/native-lapack.js';
import { readPropertyCsv } from '../src/io/csv.js';

const root = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
const sizes = (process.argv[2] ?? '700,1400,2130').split(',').map(Number);
const repeats = Number(process.argv[3] ?? 5);
const threads = Number(process.argv[4] ?? 2);

const csv = join(root, 'ferebus-benchmark', 'glycine', 'GLYCINE_C1_TRAINING_SET.csv');
const set = readPropertyCsv(csv);
const K = set.nFeatures;

function problem(n: number): LikelihoodProblem {
  return {
    x: set.x.slice(0, n * K),
    y: set.y.slice(0, n),
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from({ length: K }, (_, i) => i), kind: new Uint8Array(K) },
    prefactor: new Float64Array(K).fill(1),
    kind: 'concentrated',
    meanValues: new Float64Array(n),
    glsConstantMean: true,
    noise: 1e-10,
    optimiseNoise: true,
  };
}

/** A typical point of the optimisation: lengthscale parameters of a few 10⁻², small noise. */
const params = Float64Array.from({ length: K + 1 }, (_, i) => (i < K ? Math.log(0.02 + 0.01 * (i % 5)) : Math.log(1e-7)));

interface Timing {
  wallMs: number[];
  cpuMs: number[];
  phaseMs: Float64Array;
  value: number;
  grad: Float64Array;
}

function once(ev: LikelihoodEvaluator, t: Timing): void {
  const grad = new Float64Array(K + 1);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  t.value = ev.evaluate(params, grad).value;
  t.wallMs.push(performance.now() - w0);
  const c = process.cpuUsage(c0);
  t.cpuMs.push((c.user + c.system) / 1000);
  t.grad = grad;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
};

const team = linalgTeam(threads);
if (!team?.waitReady(60000)) throw new Error('the linear-algebra team did not start');
const lapack = nativeLapack();
console.log(`${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(`native LAPACK: ${nativeLapackStatus().reason}`);
console.log(`glycine C1 subsets, ${K} features, concentrated likelihood + gradient; median of ${repeats} (the evaluators alternate)\n`);
const configs: Array<{ label: string; opts: EvaluatorOptions }> = [
  { label: '1 thread', opts: { threads: 1, lapack: false } },
  { label: `${threads} threads`, opts: { threads, minThreadedN: 0, lapack: false } },
  ...(lapack ? [{ label: `${threads} threads + native LAPACK`, opts: { threads, minThreadedN: 0, lapack } }] : []),
];
console.log(`| n | evaluator | wall / CPU (ms) | speed-up (wall) vs 1 thread | R / Cholesky / inverse / gradient rows / rest (ms) | agreement with 1 thread |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const n of sizes) {
  const evs = configs.map((c) => new LikelihoodEvaluator(problem(n), c.opts));
  if (!evs[1]!.team) throw new Error('the threaded evaluator has no team (no shared wasm memory?)');
  const ts: Timing[] = evs.map((ev) => ({ wallMs: [], cpuMs: [], phaseMs: ev.phaseMs, value: 0, grad: new Float64Array(0) }));
  // Warm-up (JIT in all threads), then reset the phase clocks.
  evs.forEach((ev, i) => {
    once(ev, { ...ts[i]!, wallMs: [], cpuMs: [] });
  });
  for (const ev of evs) ev.phaseMs.fill(0);
  for (let r = 0; r < repeats; r++) {
    evs.forEach((ev, i) => {
      once(ev, ts[i]!);
    });
  }
  const phases = (p: Float64Array) => Array.from(p, (v) => (v / repeats).toFixed(0)).join(' / ');
  const ref = ts[0]!;
  const w1 = median(ref.wallMs);
  ts.forEach((t, i) => {
    let agreement: string;
    if (i === 0) agreement = '(reference)';
    else if (t.value === ref.value && t.grad.every((g, j) => Object.is(g, ref.grad[j]))) agreement = 'bit-identical';
    else {
      // Largest gradient difference relative to the gradient's largest component.
      const gMax = ref.grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
      const dg = t.grad.reduce((m, g, j) => Math.max(m, Math.abs(g - ref.grad[j]!)), 0);
      agreement = `Δlog L ${(t.value - ref.value).toExponential(1)}, max Δgrad / max |grad| ${(dg / gMax).toExponential(1)}`;
    }
    const w = median(t.wallMs);
    console.log(`| ${n} | ${configs[i]!.label} | ${w.toFixed(0)} / ${median(t.cpuMs).toFixed(0)} | ${(w1 / w).toFixed(2)} | ${phases(t.phaseMs)} | ${agreement} |`);
  });
}
console.log(`\nload average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
