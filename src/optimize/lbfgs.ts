/**
 * L-BFGS geometry optimisation (Nocedal & Wright, Alg. 7.4 two-loop recursion) with a per-atom
 * step cap and a backtracking (Armijo) line search. The first step uses the inverse Hessian guess
 * 1/α with α = 1000 kcal/mol/Å² (a stiff bond); later ones the usual sᵀy/yᵀy scaling. Pairs
 * with sᵀy ≤ 0 are skipped; a failed line search resets the memory and retries along the force.
 */
import type { Potential } from '../potentials/potential.js';
import { checkStart, Evaluator, maxAtomForce, maxAtomStep, type OptimizeOptions, type OptimizeResult, resolveOptions } from './common.js';

export interface LbfgsOptions extends OptimizeOptions {
  /** Stored (s, y) pairs (default 10). */
  memory?: number;
  /** Initial Hessian guess, kcal/mol/Å² (default 1000). */
  initialHessianKcalPerMolPerA2?: number;
}

export function lbfgs(potential: Potential, startPositionsA: Float64Array, options: LbfgsOptions = {}): OptimizeResult {
  checkStart(potential, startPositionsA);
  const o = resolveOptions(options);
  const m = options.memory ?? 10;
  const alpha0 = options.initialHessianKcalPerMolPerA2 ?? 1000;
  const n3 = startPositionsA.length;
  const ev = new Evaluator(potential);
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
    if (stored > 0) {
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
      for (let i = 0; i < n3; i++) d[i] = -g[i]! / alpha0;
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
