/**
 * `atomgp train`: fit atomic GP models from a FEREBUS config or an ichor CSV and write `.model`
 * files. Prints the prior mean used, the optimised likelihood, the wall time and, when a
 * validation set is given or found beside the training set, its errors.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import type { KernelChoice } from '../gp/train.js';
import { trainAtomModel } from '../gp/train.js';
import { formatReport, validateModel } from '../gp/validate.js';
import { readPropertyCsv } from '../io/csv.js';
import { readFerebusConfig } from '../io/ferebus-toml.js';
import { writeModel } from '../io/model.js';
import { DEFAULT_PRIOR } from '../gp/priors.js';

const HELP = `usage: atomgp train --config ferebus.toml [options]
       atomgp train --csv FILE --atom O1 [--alf 1,2,3] [--system NAME] [--natoms N] [options]
options:
  --prior P          zero | mean | min | max | shift:<Ha> | shift:<k>sd | linear | quadratic
                     (default ${DEFAULT_PRIOR}; with --config the config's mean unless given)
  --kernel K         rbf | rbf-cyclic | periodic (default rbf-cyclic; with --config the config's)
  --likelihood L     marginal | concentrated (default marginal)
  --noise S2         σ² on the diagonal (default 1e-10)   --optimise-noise
  --restarts N       optimiser starts (default 4)          --seed N (default 1)
  --property NAME    CSV column to fit (default iqa; with --config every listed property)
  --valid CSV        validation set (single atom; with --config *_VALIDATION_SET.csv is used if present)
  --out DIR          output folder (default .)
  --jobs N           accepted; atoms are currently trained one after another
  --quiet            no progress lines`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      csv: { type: 'string' },
      atom: { type: 'string' },
      alf: { type: 'string' },
      system: { type: 'string' },
      natoms: { type: 'string' },
      prior: { type: 'string' },
      kernel: { type: 'string' },
      likelihood: { type: 'string' },
      noise: { type: 'string' },
      'optimise-noise': { type: 'boolean', default: false },
      restarts: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      property: { type: 'string' },
      valid: { type: 'string' },
      out: { type: 'string', default: '.' },
      jobs: { type: 'string', default: '1' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const int = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new AtomgpError(`--${flag} must be a non-negative integer, got '${v}'`);
    return n;
  };
  const restarts = Math.max(1, int(values.restarts!, 'restarts'));
  const seed = int(values.seed!, 'seed');
  const likelihoodFlag = values.likelihood;
  if (likelihoodFlag !== undefined && likelihoodFlag !== 'marginal' && likelihoodFlag !== 'concentrated') {
    throw new AtomgpError(`--likelihood must be marginal or concentrated, got '${likelihoodFlag}'`);
  }
  const noiseFlag = values.noise === undefined ? undefined : Number(values.noise);
  if (noiseFlag !== undefined && !(noiseFlag >= 0)) throw new AtomgpError(`--noise must be a number ≥ 0, got '${values.noise}'`);
  const out = values.out!;
  mkdirSync(out, { recursive: true });

  interface Job {
    system: string;
    atom: string;
    alf: number[];
    nAtoms: number;
    property: string;
    csv: string;
    valid?: string;
    prior: string;
    kernel: KernelChoice;
    likelihood: 'marginal' | 'concentrated';
    gls: boolean;
    noise: number;
    optimiseNoise: boolean;
    notes: string[];
  }
  const jobs: Job[] = [];
  if (values.config) {
    const cfg = readFerebusConfig(values.config);
    const likelihood = (likelihoodFlag as Job['likelihood']) ?? cfg.likelihood;
    const prior = values.prior ?? cfg.prior;
    for (const atom of cfg.atoms) {
      for (const property of values.property ? [values.property] : cfg.properties) {
        const validGuess = join(dirname(atom.trainingSet), basename(atom.trainingSet).replace('_TRAINING_SET', '_VALIDATION_SET'));
        jobs.push({
          system: cfg.systemName,
          atom: atom.name,
          alf: atom.alf,
          nAtoms: cfg.nAtoms,
          property,
          csv: atom.trainingSet,
          ...(existsSync(validGuess) ? { valid: validGuess } : {}),
          prior,
          kernel: (values.kernel as KernelChoice) ?? { kernels: cfg.kernels.map((k) => ({ name: k.name, type: k.type, activeDims: k.activeDims ?? [] })), composition: cfg.composition },
          likelihood,
          // FEREBUS's concentrated likelihood re-estimates its constant mean by GLS.
          gls: likelihood === 'concentrated' && prior === 'mean',
          noise: noiseFlag ?? cfg.noise,
          optimiseNoise: values['optimise-noise'] || cfg.optimiseNoise,
          notes: cfg.notes.map(([k, v]) => `${k} = ${v}`),
        });
      }
    }
  } else if (values.csv) {
    if (!values.atom) throw new AtomgpError('--atom is required with --csv (e.g. --atom O1)');
    const alf = values.alf ? values.alf.split(',').map((s) => Number(s.trim())) : [];
    if (alf.some((a) => !Number.isInteger(a) || a < 1)) throw new AtomgpError(`--alf must be 1-based atom indices like 1,2,3, got '${values.alf}'`);
    jobs.push({
      system: values.system ?? basename(values.csv).split('_')[0] ?? 'SYSTEM',
      atom: values.atom,
      alf,
      nAtoms: values.natoms ? int(values.natoms, 'natoms') : 0,
      property: values.property ?? 'iqa',
      csv: values.csv,
      ...(values.valid ? { valid: values.valid } : {}),
      prior: values.prior ?? DEFAULT_PRIOR,
      kernel: (values.kernel as KernelChoice) ?? 'rbf-cyclic',
      likelihood: (likelihoodFlag as Job['likelihood']) ?? 'marginal',
      gls: false,
      noise: noiseFlag ?? 1e-10,
      optimiseNoise: values['optimise-noise']!,
      notes: [],
    });
  } else {
    throw new AtomgpError(`give --config ferebus.toml or --csv FILE\n${HELP}`);
  }

  for (const job of jobs) {
    const set = readPropertyCsv(job.csv, { property: job.property, requireMorePointsThanFeatures: true });
    let kernel = job.kernel;
    if (typeof kernel !== 'string') {
      const all = Array.from({ length: set.nFeatures }, (_, i) => i + 1);
      kernel = { ...kernel, kernels: kernel.kernels.map((k) => ({ ...k, activeDims: k.activeDims.length > 0 ? k.activeDims : all })) };
    }
    process.stdout.write(
      `${job.system} ${job.atom} ${job.property}: ${set.n} points × ${set.nFeatures} features, prior mean ${job.prior}, ` +
        `${job.likelihood} likelihood${job.gls ? ' (GLS constant mean, as FEREBUS)' : ''}\n`,
    );
    const t0 = Date.now();
    const r = trainAtomModel({
      x: set.x,
      y: set.y,
      nFeatures: set.nFeatures,
      kernel,
      prior: job.prior,
      likelihood: job.likelihood,
      glsConstantMean: job.gls,
      noise: job.noise,
      optimiseNoise: job.optimiseNoise,
      restarts,
      seed,
      systemName: job.system,
      atom: job.atom,
      property: job.property,
      alf: job.alf,
      nAtoms: job.nAtoms,
      notes: job.notes,
      onProgress: values.quiet
        ? undefined
        : (p) => {
            if (p.iteration % 5 === 0) {
              const s = ((Date.now() - t0) / 1000).toFixed(1);
              process.stderr.write(`\r  ${p.phase} ${p.start}/${p.starts}  iteration ${p.iteration}  log L ${p.logLikelihood.toFixed(4)}  ${s} s   `);
            }
          },
    });
    if (!values.quiet) process.stderr.write('\n');
    const path = join(out, `${job.system}_${job.property}_${job.atom}.model`);
    writeModel(path, r.model);
    process.stdout.write(
      `  log likelihood ${r.logLikelihood.toFixed(6)}  θ ${Array.from(r.theta, (t) => t.toPrecision(4)).join(' ')}  ` +
        `${r.evaluations} evaluations  ${r.wallTimeS.toFixed(2)} s\n  wrote ${path}\n`,
    );
    if (job.valid) {
      const vs = readPropertyCsv(job.valid, { property: job.property, rejectDuplicates: false });
      process.stdout.write(formatReport(validateModel(r.model, vs.x, vs.y), `  validation ${job.valid}: `) + '\n');
    }
  }
  return 0;
}
