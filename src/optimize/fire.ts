/**
 * FIRE (Bitzek et al., PRL 97, 170201 (2006)): damped dynamics with unit masses that mixes the
 * velocity towards the force while the power F·v stays positive and stops it when it turns
 * negative. Time units here make dr = dt² F with F in kcal/mol/Å: dt 0.02 (start) and 0.2 (max)
 * correspond to ASE's 0.1 and 1.0 with eV/Å forces. The step is capped at `maxStepA` (norm of
 * the whole displacement, as ASE does).
 */
import type { Potential } from '../potentials/potential.js';
import { checkStart, Evaluator, maxAtomForce, type OptimizeOptions, type OptimizeResult, resolveOptions } from './common.js';

export interface FireOptions extends OptimizeOptions {
  dtStart?: number;
  dtMax?: number;
  nMin?: number;
  fInc?: number;
  fDec?: number;
  alphaStart?: number;
  fAlpha?: number;
}

export function fire(potential: Potential, startPositionsA: Float64Array, options: FireOptions = {}): OptimizeResult {
  checkStart(potential, startPositionsA);
  const o = resolveOptions(options);
  const dtMax = options.dtMax ?? 0.2;
  const nMin = options.nMin ?? 5;
  const fInc = options.fInc ?? 1.1;
  const fDec = options.fDec ?? 0.5;
  const alphaStart = options.alphaStart ?? 0.1;
  const fAlpha = options.fAlpha ?? 0.99;
  let dt = options.dtStart ?? 0.02;
  let alpha = alphaStart;
  let nPositive = 0;
  const n3 = startPositionsA.length;
  const ev = new Evaluator(potential);
  const x = Float64Array.from(startPositionsA);
  const v = new Float64Array(n3);
  const f = ev.forcesKcalPerMolPerA;
  let e = ev.evaluate(x);
  const e0 = e;
  let fmax = maxAtomForce(f);
  let dE = Number.POSITIVE_INFINITY;
  let step = 0;
  const report = (): void =>
    o.onStep?.({ step, energyKcalPerMol: e, fmaxKcalPerMolPerA: fmax, positionsA: x, forcesKcalPerMolPerA: f, atomicEnergiesKcalPerMol: ev.atomicEnergiesKcalPerMol });
  report();
  const converged = (): boolean => fmax <= o.fmaxKcalPerMolPerA && (step === 0 || Math.abs(dE) <= o.energyTolKcalPerMol);
  let message = '';
  while (!converged()) {
    if (step >= o.maxSteps) {
      message = `not converged after ${o.maxSteps} steps`;
      break;
    }
    let vf = 0;
    let vv = 0;
    let ff = 0;
    for (let i = 0; i < n3; i++) {
      vf += v[i]! * f[i]!;
      vv += v[i]! * v[i]!;
      ff += f[i]! * f[i]!;
    }
    if (step > 0 && vf > 0) {
      const mix = ff > 0 ? (alpha * Math.sqrt(vv)) / Math.sqrt(ff) : 0;
      for (let i = 0; i < n3; i++) v[i] = (1 - alpha) * v[i]! + mix * f[i]!;
      if (nPositive > nMin) {
        dt = Math.min(dt * fInc, dtMax);
        alpha *= fAlpha;
      }
      nPositive++;
    } else if (step > 0) {
      v.fill(0);
      alpha = alphaStart;
      dt *= fDec;
      nPositive = 0;
    }
    let dr2 = 0;
    for (let i = 0; i < n3; i++) {
      v[i]! += dt * f[i]!;
      dr2 += dt * v[i]! * dt * v[i]!;
    }
    const dr = Math.sqrt(dr2);
    const c = dr > o.maxStepA ? o.maxStepA / dr : 1;
    for (let i = 0; i < n3; i++) x[i]! += c * dt * v[i]!;
    const eNew = ev.evaluate(x);
    dE = eNew - e;
    e = eNew;
    fmax = maxAtomForce(f);
    step++;
    report();
  }
  const ok = converged();
  if (ok) message = `converged: fmax ${fmax.toPrecision(3)} ≤ ${o.fmaxKcalPerMolPerA} kcal/mol/Å, |ΔE| ${step === 0 ? '-' : Math.abs(dE).toPrecision(3)} ≤ ${o.energyTolKcalPerMol} kcal/mol`;
  return {
    method: 'fire',
    converged: ok,
    steps: step,
    evaluations: ev.evaluations,
    energyKcalPerMol: e,
    initialEnergyKcalPerMol: e0,
    fmaxKcalPerMolPerA: fmax,
    lastEnergyChangeKcalPerMol: step === 0 ? 0 : dE,
    positionsA: x,
    forcesKcalPerMolPerA: Float64Array.from(f),
    message,
  };
}
