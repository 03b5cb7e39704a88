/**
 * Bounded quasi-Newton minimisation: projected L-BFGS with an active set (the practical core of
 * L-BFGS-B). Variables at a bound whose gradient pushes outward are frozen for the step; the
 * two-loop recursion runs on the free variables; a backtracking Armijo search follows the
 * projected path P(x + α d). Objective values of +∞ (e.g. a failed Cholesky) make the search
 * backtrack. Deterministic: no randomness inside.
 */

export interface LbfgsbOptions {
  /** Memory (number of stored correction pairs). Default 10. */
  memory?: number;
  /** Stop when the projected gradient's max-norm is below this. Default 1e-5. */
  gtol?: number;
  /** Stop when an iteration changes f by less than ftol · (|f| + 1). Default 1e-10. */
  ftol?: number;
  /** Largest first trial step of the line search in any variable (default ∞). */
  maxStep?: number;
  /** Apply ftol to the reduction over this many iterations (default 1: each iteration). */
  window?: number;
  maxIterations?: number;
  maxEvaluations?: number;
  /** Called after each accepted iteration. Return true to stop. */
  onIteration?: (iteration: number, f: number, x: Float64Array) => boolean | undefined;
}

export interface LbfgsbResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

/** f(x, grad) returns the objective and writes ∂f/∂x into grad. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export function minimizeBounded(
  fn: Objective,
  x0: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  opts: LbfgsbOptions = {},
): LbfgsbResult {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? 1e-10;
  const maxIter = opts.maxIterations ?? 200;
  const maxEval = opts.maxEvaluations ?? 1000;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = clamp(x0[i]!, lower[i]!, upper[i]!);
  const g = new Float64Array(n);
  let evaluations = 1;
  let f = fn(x, g);
  if (!Number.isFinite(f)) return { x, f, iterations: 0, evaluations, converged: false, message: 'objective not finite at the start point' };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const free = new Uint8Array(n);
  const alphaBuf = new Float64Array(m);
  let iter = 0;
  let message = 'maximum iterations reached';
  let converged = false;
  let lastStepSmall = false;
  const window = Math.max(1, opts.window ?? 1);
  const maxStep = opts.maxStep ?? Number.POSITIVE_INFINITY;
  const history: number[] = [f];
  while (iter < maxIter) {
    // Projected gradient and free set.
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const atLo = x[i]! <= lower[i]! && g[i]! > 0;
      const atHi = x[i]! >= upper[i]! && g[i]! < 0;
      free[i] = atLo || atHi ? 0 : 1;
      if (free[i]) pgMax = Math.max(pgMax, Math.abs(g[i]!));
    }
    if (pgMax < gtol) {
      converged = true;
      message = 'projected gradient below tolerance';
      break;
    }
    // Two-loop recursion on the free variables.
    for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i]! : 0;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j]! * dotFree(S[j]!, d, free);
      alphaBuf[j] = a;
      axpyFree(-a, Y[j]!, d, free);
    }
    if (k > 0) {
      const gamma = dot(S[k - 1]!, Y[k - 1]!) / dot(Y[k - 1]!, Y[k - 1]!);
      for (let i = 0; i < n; i++) d[i] = d[i]! * gamma;
    } else {
      // First step: unit length in the max norm, so the line search starts at a sensible scale.
      const s = 1 / Math.max(pgMax, 1);
      for (let i = 0; i < n; i++) d[i] = d[i]! * s;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j]! * dotFree(Y[j]!, d, free);
      axpyFree(alphaBuf[j]! - b, S[j]!, d, free);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += free[i] ? g[i]! * d[i]! : 0;
    if (!(slope < 0)) {
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i]! / Math.max(pgMax, 1) : 0;
    }
    // Backtracking Armijo along the projected path, from a step of at most `maxStep` in any variable.
    let dMax = 0;
    for (let i = 0; i < n; i++) dMax = Math.max(dMax, Math.abs(d[i]!));
    let step = dMax > maxStep ? maxStep / dMax : 1;
    let fNew = Number.POSITIVE_INFINITY;
    let accepted = false;
    for (let tries = 0; tries < 20 && evaluations < maxEval; tries++) {
      let moved = 0;
      let decrease = 0;
      for (let i = 0; i < n; i++) {
        xNew[i] = clamp(x[i]! + step * d[i]!, lower[i]!, upper[i]!);
        const dx = xNew[i]! - x[i]!;
        moved = Math.max(moved, Math.abs(dx));
        decrease += g[i]! * dx;
      }
      // Steps below 1e-10 cannot change a log-hyperparameter meaningfully: the search has converged.
      if (moved < 1e-10 || -decrease < 1e-13 * (Math.abs(f) + 1)) break;
      evaluations++;
      fNew = fn(xNew, gNew);
      // Armijo, with a rounding allowance: near the optimum f is only known to ~1e-13 relative.
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * decrease + 1e-13 * Math.abs(f)) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fNew) ? 0.5 : 0.1;
    }
    if (!accepted) {
      if (S.length > 0 && !lastStepSmall) {
        // Retry once from steepest descent with the memory cleared.
        S.length = Y.length = rho.length = 0;
        continue;
      }
      message = evaluations >= maxEval ? 'maximum evaluations reached' : 'line search failed (no decrease along the projected gradient)';
      converged = evaluations < maxEval;
      break;
    }
    iter++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const fOld = f;
    lastStepSmall = fOld - fNew < 1e-3 * ftol * (Math.abs(fNew) + 1) || fOld - fNew < 1e-8 * (Math.abs(fNew) + 1);
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    if (opts.onIteration?.(iter, f, x)) {
      message = 'stopped by caller';
      break;
    }
    history.push(f);
    const fBack = history.length > window ? history[history.length - 1 - window]! : Number.POSITIVE_INFINITY;
    if (fOld - f < ftol * (Math.abs(f) + 1) && (window === 1 || fBack - f < window * ftol * (Math.abs(f) + 1))) {
      converged = true;
      message = 'relative reduction of the objective below tolerance';
      break;
    }
    if (evaluations >= maxEval) {
      message = 'maximum evaluations reached';
      break;
    }
  }
  return { x, f, iterations: iter, evaluations, converged, message };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function dotFree(a: Float64Array, b: Float64Array, free: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (free[i]) s += a[i]! * b[i]!;
  return s;
}

function axpyFree(alpha: number, x: Float64Array, y: Float64Array, free: Uint8Array): void {
  for (let i = 0; i < x.length; i++) if (free[i]) y[i] = y[i]! + alpha * x[i]!;
}
