/**
 * Trainer benchmark on the FEREBUS-v7 benchmark sets (../shared/data/ferebus-benchmark or
 * $ATOMGP_DATA): for each set and likelihood, our wall time and optimised likelihood, our objective
 * at FEREBUS's θ (from its .model), and the validation MAE of our model and of FEREBUS's.
 * Usage: node dist/bench/train.js [water,ammonia,methanol,glycine] [marginal,concentrated] [lbfgsb|pso]
 * Also prints the time of one likelihood evaluation with and without gradient at FEREBUS's θ.
 *
 * More sets in the same layout (ferebus-paper-data's likelihood/<set>: `{SYS}_{ATOM}_TRAINING_SET.csv`
 * and `_VALIDATION_SET.csv` beside `marginal/` and `concentrated/`, each with FEREBUS's ferebus.toml
 * and .model) are added by directory: ATOMGP_BENCH_SETS=/path/nma,/path/ibuprofen. The kernel and
 * the likelihood come from each folder's ferebus.toml when it has one (rbf and the folder's name
 * otherwise), as `atomgp train --config` reads them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LikelihoodEvaluator } from '../src/gp/fit/likelihood.js';
import type { KernelType } from '../src/gp/model/model.js';
import { type OptimiserKind, setupKernel, trainAtomModel } from '../src/gp/fit/train.js';
import { validateModel } from '../src/gp/assess/validate.js';
import { readPropertyCsv } from '../src/io/csv.js';
import { readFerebusConfig } from '../src/io/ferebus-toml.js';
import { readModel } from '../src/io/model.js';

const root = process.env.ATOMGP_DATA ? resolve(process.env.ATOMGP_DATA) : resolve(process.cwd(), '..', 'shared', 'data');
const BUILT_IN = ['water', 'ammonia', 'methanol', 'glycine'];
const which = (process.argv[2] ?? 'water,ammonia,methanol').split(',');
const dirs = [
  ...BUILT_IN.filter((s) => which.includes(s)).map((s) => join(root, 'ferebus-benchmark', s)),
  ...(process.env.ATOMGP_BENCH_SETS ?? '').split(',').filter((d) => d !== '').map((d) => resolve(d)),
];
const kinds = (process.argv[3] ?? 'marginal,concentrated').split(',') as Array<'marginal' | 'concentrated'>;
const optimiser = (process.argv[4] ?? 'lbfgsb') as OptimiserKind;
const KJ = 2625.4996394799;

console.log(`optimiser ${optimiser}`);
console.log('| set | likelihood, kernel | n × K | one evaluation: value / value+gradient (s) | our time (s) | evaluations (full-set equivalent) | our log L | our objective at FEREBUS θ | FEREBUS log L (file) | our MAE (kJ/mol) | FEREBUS MAE (kJ/mol) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const base of dirs) {
  const dir = basename(base);
  const training = existsSync(base) ? readdirSync(base).find((f) => /^[^_]+_[^_]+_TRAINING_SET\.csv$/.test(f)) : undefined;
  if (!training) {
    console.log(`| ${dir} | missing data: no *_TRAINING_SET.csv in ${base} |`);
    continue;
  }
  const [sys, atom] = training.split('_') as [string, string];
  const ts = readPropertyCsv(join(base, training));
  const vs = readPropertyCsv(join(base, `${sys}_${atom}_VALIDATION_SET.csv`), { rejectDuplicates: false });
  for (const folder of kinds) {
    const modelPath = join(base, folder, `${sys}_iqa_${atom}.model`);
    const tomlPath = join(base, folder, 'ferebus.toml');
    const cfg = existsSync(tomlPath) ? readFerebusConfig(tomlPath) : undefined;
    // ferebus-paper-data's nma/marginal/ferebus.toml asks for the concentrated likelihood: follow the file.
    const kind = cfg?.likelihood ?? folder;
    const kernel: KernelType = cfg?.kernels.length === 1 && !cfg.kernels[0]!.activeDims ? cfg.kernels[0]!.type : 'rbf';
    const fm = readModel(modelPath);
    const recorded = /# likelihood (\S+)/.exec(readFileSync(modelPath, 'utf8'))?.[1] ?? '?';
    const K = ts.nFeatures;
    const fTheta = fm.kernels[0]!.theta;
    const meanValue = fm.mean.type === 'constant' ? fm.mean.value : 0;
    const ks = setupKernel(kernel, K, 4);
    const evaluator = new LikelihoodEvaluator({
      x: ts.x, y: ts.y, n: ts.n, nFeatures: K,
      terms: ks.problemTerms, prefactor: ks.prefactor, kind, meanValues: new Float64Array(ts.n).fill(meanValue),
      glsConstantMean: kind === 'concentrated', noise: 1e-10, optimiseNoise: false,
    });
    // FEREBUS's θ may be exactly 0 (a switched-off feature): evaluated as given, not via log θ.
    let t = performance.now();
    const atTheirs = evaluator.evaluateTheta(fTheta).value;
    const valueS = (performance.now() - t) / 1000;
    t = performance.now();
    evaluator.evaluate(Float64Array.from(fTheta, (v) => Math.log(Math.max(v, 1e-12))), new Float64Array(K));
    const gradS = (performance.now() - t) / 1000;
    const r = trainAtomModel({
      x: ts.x, y: ts.y, nFeatures: K, kernel, prior: 'mean', likelihood: kind,
      glsConstantMean: kind === 'concentrated', seed: 1, optimiser,
    });
    const opt = r.model.metadata.find((m) => m.startsWith('optimiser')) ?? '';
    const fullEq = /full_equivalent=(\S+)/.exec(opt)?.[1];
    const ours = validateModel(r.model, vs.x, vs.y);
    const theirs = validateModel(fm, vs.x, vs.y);
    console.log(
      `| ${dir} ${atom} | ${kind}${kind !== folder ? ` (${folder}/)` : ''}, ${kernel} | ${ts.n} × ${K} | ${valueS.toFixed(3)} / ${gradS.toFixed(3)} | ${r.wallTimeS.toFixed(2)} | ${r.evaluations}${fullEq ? ` (${fullEq})` : ''} | ${r.logLikelihood.toFixed(3)} | ${atTheirs.toFixed(3)} | ${Number(recorded).toFixed(3)} | ${(ours.mae_Ha * KJ).toFixed(4)} | ${(theirs.mae_Ha * KJ).toFixed(4)} |`,
    );
  }
}
