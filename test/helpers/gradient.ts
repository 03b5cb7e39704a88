import assert from 'node:assert/strict';

/** A likelihood (LikelihoodEvaluator, AdditiveLikelihood): its value, and ∂/∂params into `grad`. */
export interface GradientEvaluator {
  evaluate(params: Float64Array, grad?: Float64Array): { value: number };
}

/**
 * Asserts that the evaluator's analytic gradient at `params` equals central finite differences of
 * its own value (step 1e-5 in each log-parameter), to 1e-6 relative (absolute below 1).
 */
export function assertGradientByFiniteDifferences(ev: GradientEvaluator, params: Float64Array): void {
  const g = new Float64Array(params.length);
  ev.evaluate(params, g);
  const h = 1e-5;
  for (let i = 0; i < params.length; i++) {
    const pp = params.slice();
    pp[i] = params[i]! + h;
    const fp = ev.evaluate(pp).value;
    pp[i] = params[i]! - h;
    const fm = ev.evaluate(pp).value;
    const fd = (fp - fm) / (2 * h);
    assert.ok(Math.abs(fd - g[i]!) < 1e-6 * Math.max(1, Math.abs(fd)), `param ${i}: analytic ${g[i]} vs finite difference ${fd}`);
  }
}
