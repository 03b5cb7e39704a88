/**
 * Particle-swarm minimisation within box bounds, gradient-free: the optimiser FEREBUS uses for GP
 * hyperparameters (here over log θ). Global-best topology with the inertia-weight update
 *   v ← w v + c1 r1 (p_best − x) + c2 r2 (g_best − x),   x ← clamp(x + v),
 * r1, r2 ~ U(0, 1) per component from a seeded generator. Particles start uniformly in the box
 * (optionally some at given points) with velocities uniform in ±(upper − lower), as FEREBUS does.
 * Stopping, as FEREBUS's `relative_change` criterion: the best value has improved by less than
 * `tolerance` (relative) for `stallIterations` consecutive iterations, or `iterations` is reached.
 *
 * Defaults follow FEREBUS-v7's example configs: 50 particles, 1000 iterations, w = 0.729,
 * c1 = c2 = 1.494 (Clerc's constriction values), tolerance 1e-8 over 50 stall iterations.
 * Deterministic for a seed: particles are evaluated in order, one generator drives everything.
 */
import { AtomgpError } from '../errors.js';
import { Rng } from '../util/rng.js';

export interface PsoOptions {
  swarmSize?: number;
  iterations?: number;
  inertia?: number;
  cognitive?: number;
  social?: number;
  /** Relative improvement of the best value below which an iteration counts as stalled. */
  tolerance?: number;
  stallIterations?: number;
  seed?: number;
  /** Points to place particles at initially (e.g. a data-based guess); the rest are random. */
  initial?: Float64Array[];
  /** Called after each iteration with the best value so far. */
  onIteration?: (iteration: number, bestF: number) => void;
}

export interface PsoResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  swarmSize: number;
  message: string;
}

export const PSO_DEFAULTS = {
  swarmSize: 50,
  iterations: 1000,
  inertia: 0.729,
  cognitive: 1.494,
  social: 1.494,
  tolerance: 1e-8,
  stallIterations: 50,
} as const;

/** Minimise f over the box [lower, upper]. f may return +∞ for infeasible points. */
export function minimizePso(
  f: (x: Float64Array) => number,
  lower: Float64Array,
  upper: Float64Array,
  opts: PsoOptions = {},
): PsoResult {
  const d = lower.length;
  const m = opts.swarmSize ?? PSO_DEFAULTS.swarmSize;
  const maxIter = opts.iterations ?? PSO_DEFAULTS.iterations;
  const w = opts.inertia ?? PSO_DEFAULTS.inertia;
  const c1 = opts.cognitive ?? PSO_DEFAULTS.cognitive;
  const c2 = opts.social ?? PSO_DEFAULTS.social;
  const tol = opts.tolerance ?? PSO_DEFAULTS.tolerance;
  const stallMax = opts.stallIterations ?? PSO_DEFAULTS.stallIterations;
  if (!(Number.isInteger(m) && m >= 1)) throw new AtomgpError(`PSO swarm size must be a positive integer, got ${m}`);
  if (!(Number.isInteger(maxIter) && maxIter >= 0)) throw new AtomgpError(`PSO iterations must be a non-negative integer, got ${maxIter}`);
  if (upper.length !== d) throw new AtomgpError('PSO: lower and upper bounds differ in length');
  for (let j = 0; j < d; j++) {
    if (!(upper[j]! >= lower[j]!)) throw new AtomgpError(`PSO: empty search box in dimension ${j + 1} ([${lower[j]}, ${upper[j]}])`);
  }
  const rng = new Rng(opts.seed ?? 1);
  const pos = new Float64Array(m * d);
  const vel = new Float64Array(m * d);
  const bestPos = new Float64Array(m * d);
  const bestF = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  const gBest = new Float64Array(d);
  let gF = Number.POSITIVE_INFINITY;
  const x = new Float64Array(d);
  let evaluations = 0;
  const init = opts.initial ?? [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) {
      const span = upper[j]! - lower[j]!;
      const given = i < init.length ? init[i]![j] : undefined;
      pos[i * d + j] = given !== undefined ? clamp(given, lower[j]!, upper[j]!) : lower[j]! + span * rng.uniform();
      vel[i * d + j] = span * rng.uniformIn(-1, 1);
    }
  }
  const evaluate = (i: number): void => {
    for (let j = 0; j < d; j++) x[j] = pos[i * d + j]!;
    const v = f(x);
    evaluations++;
    if (v < bestF[i]!) {
      bestF[i] = v;
      bestPos.set(x, i * d);
    }
    if (v < gF) {
      gF = v;
      gBest.set(x);
    }
  };
  for (let i = 0; i < m; i++) evaluate(i);
  let iter = 0;
  let stall = 0;
  let message = 'iteration limit reached';
  while (iter < maxIter) {
    const before = gF;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < d; j++) {
        const k = i * d + j;
        const r1 = rng.uniform();
        const r2 = rng.uniform();
        let v = w * vel[k]! + c1 * r1 * (bestPos[k]! - pos[k]!) + c2 * r2 * (gBest[j]! - pos[k]!);
        let p = pos[k]! + v;
        // At a wall the particle stops there and loses that velocity component.
        if (p < lower[j]!) {
          p = lower[j]!;
          v = 0;
        } else if (p > upper[j]!) {
          p = upper[j]!;
          v = 0;
        }
        vel[k] = v;
        pos[k] = p;
      }
      evaluate(i);
    }
    iter++;
    opts.onIteration?.(iter, gF);
    const improved = Number.isFinite(before) ? before - gF > tol * Math.abs(before) : gF < before;
    stall = improved ? 0 : stall + 1;
    if (stall >= stallMax) {
      message = `relative change below ${tol} for ${stallMax} iterations`;
      break;
    }
  }
  return { x: gBest, f: gF, iterations: iter, evaluations, swarmSize: m, message };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}
