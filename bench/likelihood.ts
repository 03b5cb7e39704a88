/**
 * Likelihood benchmark: milliseconds per log-likelihood evaluation with gradient (the trainer's
 * inner step) on glycine C1 subsets (the first n points of the FEREBUS benchmark training set,
 * 51 features, rbf, concentrated likelihood with the GLS mean and optimised noise), with one
 * thread and with the linear-algebra team (linalg-team.ts), plus the split into building R, the
 * Cholesky, the inverse and the gradient rows. The two evaluators are timed alternately so that a
 * change in machine load hits both; CPU time (all threads of this process) is given beside wall
 * time, and the results of both are checked to be bit-identical.
 * Usage: npm run bench:likelihood   (or: node dist/bench/likelihood.js [700,1400,2130] [repeats] [threads])
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { linalgTeam } from '../src/gp/linalg-team.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../src/gp/likelihood.js';
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
console.log(`${cpus().length} × ${cpus()[0]?.model ?? '?'}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(`glycine C1 subsets, ${K} features, concentrated likelihood + gradient; median of ${repeats} (alternating 1 / ${threads} threads)\n`);
console.log(`| n | 1 thread: wall / CPU (ms) | ${threads} threads: wall / CPU (ms) | speed-up (wall) | breakdown 1 thread: R / Cholesky / inverse / gradient rows (ms) | breakdown ${threads} threads (ms) | identical |`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const n of sizes) {
  const one = new LikelihoodEvaluator(problem(n), { threads: 1 });
  const many = new LikelihoodEvaluator(problem(n), { threads, minThreadedN: 0 });
  if (!many.team) throw new Error('the threaded evaluator has no team (no shared wasm memory?)');
  const t1: Timing = { wallMs: [], cpuMs: [], phaseMs: one.phaseMs, value: 0, grad: new Float64Array(0) };
  const t2: Timing = { wallMs: [], cpuMs: [], phaseMs: many.phaseMs, value: 0, grad: new Float64Array(0) };
  // Warm-up (JIT in both threads), then reset the phase clocks.
  once(one, { ...t1, wallMs: [], cpuMs: [] });
  once(many, { ...t2, wallMs: [], cpuMs: [] });
  one.phaseMs.fill(0);
  many.phaseMs.fill(0);
  for (let r = 0; r < repeats; r++) {
    once(one, t1);
    once(many, t2);
  }
  const identical = t1.value === t2.value && t1.grad.every((g, i) => Object.is(g, t2.grad[i]));
  const phases = (p: Float64Array) => Array.from(p, (v) => (v / repeats).toFixed(0)).join(' / ');
  const w1 = median(t1.wallMs);
  const w2 = median(t2.wallMs);
  console.log(
    `| ${n} | ${w1.toFixed(0)} / ${median(t1.cpuMs).toFixed(0)} | ${w2.toFixed(0)} / ${median(t2.cpuMs).toFixed(0)} | ${(w1 / w2).toFixed(2)} | ${phases(t1.phaseMs)} | ${phases(t2.phaseMs)} | ${identical ? 'yes' : 'NO'} |`,
  );
}
console.log(`\nload average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
