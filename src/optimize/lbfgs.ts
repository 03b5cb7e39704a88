/**
 * L-BFGS geometry optimisation (Nocedal & Wright, Alg. 7.4 two-loop recursion) with a per-atom
 * step cap and a backtracking (Armijo) line search. The first step uses the inverse Hessian guess
 * 1/α with α = 1000 kcal/mol/Å² (a stiff bond); later ones the usual sᵀy/yᵀy scaling. Pairs
 * with sᵀy ≤ 0 are skipped; a failed line search resets the memory and retries along the force.
 *
 * With `preconditioner: 'lindh'` the initial inverse Hessian of every step is P⁻¹, P Lindh's model
 * Hessian of the current geometry (optimize/model-hessian.ts), instead of a scalar: a molecule's
 * stiff bonds and soft torsions then take steps of their own size from the first step on.
 */
import type { Potential } from '../potentials/potential.js';
import { checkStart, Evaluator, maxAtomForce, maxAtomStep, type OptimizeOptions, type OptimizeResult, resolveOptions } from './common.js';
import { LindhPreconditioner } from './model-hessian.js';

export interface LbfgsOptions extends OptimizeOptions {
  /** Stored (s, y) pairs (default 10). */
  memory?: number;
  /** Initial Hessian guess, kcal/mol/Å² (default 1000; unused with a preconditioner). */
  initialHessianKcalPerMolPerA2?: number;
  /** 'lindh': Lindh's model Hessian as the initial Hessian of every step (default 'none'). */
  preconditioner?: LbfgsPreconditioner;
}

export const LBFGS_PRECONDITIONERS = ['none', 'lindh'] as const;
export type LbfgsPreconditioner = (typeof LBFGS_PRECONDITIONERS)[number];

export function lbfgs(potential: Potential, startPositionsA: Float64Array, options: LbfgsOptions = {}): OptimizeResult {
  checkStart(potential, startPositionsA);
  const o = resolveOptions(options);
  const m = options.memory ?? 10;
  const alpha0 = options.initialHessianKcalPerMolPerA2 ?? 1000;
  const n3 = startPositionsA.length;
  const ev = new Evaluator(potential);
  const precon = (options.preconditioner ?? 'none') === 'lindh' ? new LindhPreconditioner(potential.symbols) : null;
  const x = Float64Array.from(startPositionsA);
  const xTrial = new Float64Array(n3);
  const g = new Float64Array(n3); // gradient = −F
  const gNew = new Float64Array(n3);
  const d = new Float64Array(n3);
  const S = Array.from({ length: m }, () => new Float64Array(n3));
  const Y = Array.from({ length: m }, () => new Float64Array(n3));
  const rho = new Float64Array(m);
  const a = new Float64Array(m);
  let stored = 0;
  let head = 0; // next slot
  let e = ev.evaluate(x);
  const e0 = e;
  for (let i = 0; i < n3; i++) g[i] = -ev.forcesKcalPerMolPerA[i]!;
  let fmax = maxAtomForce(ev.forcesKcalPerMolPerA);
  let dE = Number.POSITIVE_INFINITY;
  const report = (step: number): void =>
    o.onStep?.({ step, energyKcalPerMol: e, fmaxKcalPerMolPerA: fmax, positionsA: x, forcesKcalPerMolPerA: ev.forcesKcalPerMolPerA, atomicEnergiesKcalPerMol: ev.atomicEnergiesKcalPerMol });
  report(0);
  let step = 0;
  let message = '';
  const converged = (): boolean => fmax <= o.fmaxKcalPerMolPerA && (step === 0 || Math.abs(dE) <= o.energyTolKcalPerMol);
  while (!converged()) {
    if (step >= o.maxSteps) {
      message = `not converged after ${o.maxSteps} steps`;
      break;
    }
    // two-loop recursion: d = −H g
    d.set(g);
    for (let k = 0; k < stored; k++) {
      const j = (head - 1 - k + m) % m;
      a[j] = rho[j]! * dot(S[j]!, d);
      axpy(-a[j]!, Y[j]!, d);
    }
    if (precon) {
      precon.update(x);
      precon.solve(d);
    } else if (stored > 0) {
      const j = (head - 1 + m) % m;
      const yy = dot(Y[j]!, Y[j]!);
      scale(d, yy > 0 ? 1 / (rho[j]! * yy) : 1 / alpha0);
    } else {
      scale(d, 1 / alpha0);
    }
    for (let k = stored - 1; k >= 0; k--) {
      const j = (head - 1 - k + m) % m;
      const b = rho[j]! * dot(Y[j]!, d);
      axpy(a[j]! - b, S[j]!, d);
    }
    scale(d, -1);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // not a descent direction: forget the curvature pairs, use the force
      stored = 0;
      if (precon) {
        d.set(g);
        precon.solve(d);
        scale(d, -1);
      } else {
        for (let i = 0; i < n3; i++) d[i] = -g[i]! / alpha0;
      }
      slope = dot(g, d);
    }
    const longest = maxAtomStep(d);
    if (longest > o.maxStepA) scale(d, o.maxStepA / longest);
    slope = dot(g, d);
    // backtracking line search (Armijo, c = 1e-4)
    let t = 1;
    let eNew = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < 12; tries++) {
      for (let i = 0; i < n3; i++) xTrial[i] = x[i]! + t * d[i]!;
      eNew = ev.evaluate(xTrial);
      if (eNew <= e + 1e-4 * t * slope || Math.abs(eNew - e) < 1e-12 * Math.max(1, Math.abs(e))) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) {
      if (stored === 0) {
        message = 'line search failed along the force (the energy does not decrease; noisy or inconsistent forces?)';
        // restore forces at x for the report
        e = ev.evaluate(x);
        fmax = maxAtomForce(ev.forcesKcalPerMolPerA);
        break;
      }
      stored = 0;
      ev.evaluate(x);
      continue;
    }
    for (let i = 0; i < n3; i++) gNew[i] = -ev.forcesKcalPerMolPerA[i]!;
    const s = S[head]!;
    const y = Y[head]!;
    for (let i = 0; i < n3; i++) {
      s[i] = xTrial[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      stored = Math.min(stored + 1, m);
    }
    x.set(xTrial);
    g.set(gNew);
    dE = eNew - e;
    e = eNew;
    fmax = maxAtomForce(ev.forcesKcalPerMolPerA);
    step++;
    report(step);
  }
  const ok = converged();
  if (ok) message = `converged: fmax ${fmax.toPrecision(3)} ≤ ${o.fmaxKcalPerMolPerA} kcal/mol/Å, |ΔE| ${step === 0 ? '-' : Math.abs(dE).toPrecision(3)} ≤ ${o.energyTolKcalPerMol} kcal/mol`;
  return {
    method: 'lbfgs',
    converged: ok,
    steps: step,
    evaluations: ev.evaluations,
    energyKcalPerMol: e,
    initialEnergyKcalPerMol: e0,
    fmaxKcalPerMolPerA: fmax,
    lastEnergyChangeKcalPerMol: step === 0 ? 0 : dE,
    positionsA: x,
    forcesKcalPerMolPerA: Float64Array.from(ev.forcesKcalPerMolPerA),
    message,
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function axpy(alpha: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i]! += alpha * x[i]!;
}

function scale(x: Float64Array, c: number): void {
  for (let i = 0; i < x.length; i++) x[i]! *= c;
}
