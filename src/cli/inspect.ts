/**
 * `atomgp inspect MODEL|DIR [--json]`: what a model file (or every model of a folder) contains,
 * and whether its weights reproduce its training targets (the self-consistency check).
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { type ConsistencyReport, checkConsistency } from '../gp/assess/consistency.js';
import { type GpModel, metadataValue } from '../gp/model/model.js';
import type { RepulsionKind } from '../gp/model/repulsion.js';
import { readModel } from '../io/model.js';
import { readModelSetTerms } from '../io/modelset.js';
import { loadModelSet, parsePeriodicConvention } from './common.js';

/**
 * Relative residual (with the noise the file states) above which the stated noise does not belong
 * to the weights. Prediction never uses σ², so this does not stop predict or md, but inspect calls
 * such a file inconsistent: its metadata misdescribes the fit (e.g. \`# noise 1e10\`). The
 * GPyTorch ammonia models, whose stated noise is not quite the one solved with, reach 2.8e-3
 * (consistency.ts); 0.05 is 18× above that. A stated σ² of 1e10 gives a residual of order 1e14.
 */
export const STATED_NOISE_THRESHOLD = 0.05;

/** inspect's verdict: the weights (fitted noise, as in every command) and the stated noise. */
function verdictOf(check: ConsistencyReport): { verdict: 'consistent' | 'inconsistent'; noiseVerdict: 'consistent' | 'inconsistent'; note: string } {
  const noiseOk = check.relativeResidual <= STATED_NOISE_THRESHOLD;
  const note = noiseOk
    ? ''
    : `; the stated noise ${check.noise} (from '# ${check.noiseFrom}') does not belong to these weights (relative residual ${check.relativeResidual.toExponential(2)} with it, threshold ${STATED_NOISE_THRESHOLD}; the weights imply ${check.fittedNoise.toExponential(2)})`;
  return { verdict: check.verdict === 'consistent' && noiseOk ? 'consistent' : 'inconsistent', noiseVerdict: noiseOk ? 'consistent' : 'inconsistent', note };
}

const HELP = `usage: atomgp inspect [options] MODEL_FILE|MODEL_DIR

Summarise GP .model files: system, atom, ALF, features, kernels, prior mean, training points,
metadata, and the self-consistency check (do the stored weights reproduce the stored training
targets, and under which periodic-kernel convention).

options:
  --json                      one JSON object per model per line
  --property NAME             with a folder: the property to read (default iqa)
  --periodic-convention 2|4   check under a forced convention
  -h, --help                  this help
`;

function range(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  return [lo, hi];
}

function describe(model: GpModel, check: ConsistencyReport) {
  const mean =
    model.mean.type === 'constant'
      ? { type: 'constant', value: model.mean.value }
      : model.mean.type === 'zero'
        ? { type: 'zero' }
        : { type: model.mean.type, y_min: model.mean.yMin, beta: Array.from(model.mean.beta), x_min: Array.from(model.mean.xMin) };
  const [yLo, yHi] = range(model.trainY);
  const v = verdictOf(check);
  return {
    source: model.source ?? null,
    system: model.systemName,
    atom: model.atom,
    property: model.property,
    alf: model.alf,
    n_atoms: model.nAtoms,
    n_features: model.nFeatures,
    n_train: model.nTrain,
    program: metadataValue(model, 'program') ?? null,
    prior_mean: metadataValue(model, 'prior_mean') ?? null,
    mean,
    composition: model.compositionText,
    kernels: model.kernels.map((k) => ({ name: k.name, type: k.type, active_dimensions: k.activeDims, theta: k.theta })),
    train_y_range_Ha: [yLo, yHi],
    consistency: {
      verdict: v.verdict,
      weights_verdict: check.verdict,
      noise_verdict: v.noiseVerdict,
      relative_residual: check.relativeResidual,
      max_abs_residual: check.maxAbsResidual,
      noise: check.noise,
      noise_from: check.noiseFrom,
      periodic_convention: check.hasPeriodic ? check.periodicPrefactor : null,
      forced: check.forced,
      residuals: check.residuals.map((r) => ({ periodic_prefactor: r.periodicPrefactor, relative_residual: r.relativeResidual })),
      summary: v.verdict === check.verdict ? check.summary : `${check.summary.replace(': consistent;', ': inconsistent (stated noise);')}${v.note}`,
    },
  };
}

function text(d: ReturnType<typeof describe> & { added_repulsion: RepulsionKind }): string {
  const lines = [
    `${d.source ?? `${d.system} ${d.atom}`}`,
    `  system ${d.system}, atom ${d.atom}, property ${d.property}, ALF ${d.alf.join(' ')}`,
    `  ${d.n_atoms} atoms, ${d.n_features} features, ${d.n_train} training points, targets ${d.train_y_range_Ha[0]} .. ${d.train_y_range_Ha[1]}`,
    `  program ${d.program ?? 'unknown'}${d.prior_mean ? `, prior mean ${d.prior_mean}` : ''}`,
    `  mean ${d.mean.type}${'value' in d.mean ? ` ${d.mean.value}` : 'y_min' in d.mean ? ` (y_min ${d.mean.y_min})` : ''}`,
    `  kernel ${d.composition}`,
  ];
  for (const k of d.kernels) {
    const [lo, hi] = range(k.theta);
    lines.push(`    ${k.name}: ${k.type}, dims ${compactDims(k.active_dimensions)}, theta ${lo.toExponential(3)} .. ${hi.toExponential(3)}`);
  }
  if (d.added_repulsion !== 'none') lines.push(`  run with the ${d.added_repulsion.toUpperCase()} repulsive prior term beyond the training data (the folder's potential.json)`);
  lines.push(`  check: ${d.consistency.summary}`);
  return lines.join('\n');
}

function compactDims(dims: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < dims.length) {
    let j = i;
    while (j + 1 < dims.length && dims[j + 1] === dims[j]! + 1) j++;
    parts.push(j > i + 1 ? `${dims[i]}-${dims[j]}` : dims.slice(i, j + 1).join(' '));
    i = j + 1;
  }
  return parts.join(' ');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      property: { type: 'string', default: 'iqa' },
      'periodic-convention': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new AtomgpError('expected one model file or folder');
  const path = positionals[0]!;
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw new AtomgpError(`'${path}' does not exist`);
  }
  const periodicPrefactor = parsePeriodicConvention(values['periodic-convention']);
  const items: Array<ReturnType<typeof describe>> = [];
  if (stat.isDirectory()) {
    // every model is reported with its verdict (exit 1), not only the first inconsistent one
    const set = loadModelSet(path, { property: values.property!, periodicPrefactor, check: false });
    for (const m of set.models) items.push(describe(m, checkConsistency(m, periodicPrefactor ? { periodicPrefactor } : {})));
  } else {
    const model = readModel(path);
    items.push(describe(model, checkConsistency(model, periodicPrefactor ? { periodicPrefactor } : {})));
  }
  // The terms atomgp adds to these models when the folder is run (potential.json; energy models only).
  const repulsion = values.property === 'iqa' ? readModelSetTerms(stat.isDirectory() ? path : dirname(path)).repulsion : 'none';
  for (const d of items) {
    const out = { ...d, added_repulsion: repulsion };
    process.stdout.write((values.json ? JSON.stringify(out) : text(out)) + '\n');
  }
  return items.some((d) => d.consistency.verdict !== 'consistent') ? 1 : 0;
}
