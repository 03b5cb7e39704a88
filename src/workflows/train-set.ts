/**
 * Training plan of `atomgp train`: a FEREBUS config, an ichor CSV or a folder of `.model` files
 * (refit) plus the training settings turned into one training task per atom and property, each
 * with its output file, validation set and header line. Reads the config and the CSV files (io/);
 * training itself is gp/fit (`runTrainTasks`).
 *
 * FEREBUS configs ask for its particle swarm (`[model] optimiser = "pso"`, also its default). We
 * still use L-BFGS-B with analytic gradients unless the PSO optimiser is asked for explicitly and
 * say so in one note. With PSO the config's swarm size, iterations, weights, stopping rule and
 * search box are used (FEREBUS searches θ in [search_min, search_max]; our swarm searches log θ, so
 * the box becomes θ ∈ [max(search_min, 1e-6), search_max], and σ² ∈ [1e-12, 1e-6] as FEREBUS when
 * optimise_noise); explicit settings override them. The settings used are written to the model as
 * a `# pso_settings …` metadata line.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AtomgpError } from '../errors.js';
import { DEFAULT_PRIOR } from '../gp/fit/priors.js';
import type { KernelChoice, OptimiserKind, SearchKind, TrainInput } from '../gp/fit/train.js';
import type { TrainTask } from '../gp/fit/train-parallel.js';
import { readPropertyCsv } from '../io/csv.js';
import { type FerebusConfig, readFerebusConfig } from '../io/ferebus-toml.js';
import { modelFiles, readModelForRefit } from '../io/modelset.js';
import { PSO_DEFAULTS } from '../math/pso.js';

/** Where the training data come from. */
export type TrainSource =
  | { kind: 'config'; path: string }
  | { kind: 'csv'; path: string; atom: string; alf: number[]; system?: string; nAtoms: number }
  | { kind: 'from-model'; path: string; keepHyperparameters: boolean };

export interface TrainPlanRequest {
  source: TrainSource;
  /** Output folder (default '.'; required for a refit). */
  out?: string;
  /** Settings given explicitly; undefined means "the config's / the model's / the default". */
  prior?: string;
  kernel?: KernelChoice;
  likelihood?: 'marginal' | 'concentrated';
  noise?: number;
  optimiseNoise: boolean;
  property?: string;
  valid?: string;
  restarts?: number;
  search?: SearchKind;
  budgetS?: number;
  seed: number;
  optimiser: OptimiserKind;
  /** Whether the optimiser was chosen explicitly (a config's PSO is followed only then). */
  optimiserExplicit: boolean;
  /** Swarm settings given explicitly; they override a config's. */
  pso: PsoSettings;
}

/** One model to train: its task, where it goes and the line announcing it. */
export interface TrainJob {
  label: string;
  task: TrainTask;
  outPath: string;
  valid?: string;
  property: string;
  header: string;
}

export interface TrainPlan {
  jobs: TrainJob[];
  outDir: string;
}

/**
 * The training jobs of a request. `onNote` receives a line the user should see before training
 * (a config asking for FEREBUS's swarm when L-BFGS-B is used), at the point it applies.
 */
export function planTraining(r: TrainPlanRequest, onNote: (line: string) => void = () => {}): TrainPlan {
  const { optimiser } = r;
  const pso = r.pso;
  const psoFlags = r.pso;
  const jobs: TrainJob[] = [];
  const common = {
    ...(r.restarts !== undefined ? { restarts: r.restarts } : {}),
    ...(r.search !== undefined ? { search: r.search } : {}),
    ...(r.budgetS !== undefined ? { budgetMs: r.budgetS * 1000 } : {}),
    seed: r.seed,
    optimiser,
    ...(optimiser === 'pso' && Object.keys(pso).length > 0 ? { pso } : {}),
  };
  // With --optimiser pso and no config: our defaults and the flags, recorded in the model.
  const psoPlain = optimiser === 'pso' ? resolvePso(undefined, psoFlags) : undefined;
  const src = r.source;
  if (src.kind === 'from-model') {
    const files = modelFiles(src.path);
    if (!r.out) throw new AtomgpError('--out DIR is required with --from-model (the refit models keep their file names)');
    const out = r.out;
    for (const file of files) {
      if (resolve(dirname(file)) === resolve(out)) {
        throw new AtomgpError(`--out ${out} is the folder of ${file}: the refit would overwrite the input models; choose another --out`);
      }
    }
    if (src.keepHyperparameters && r.kernel !== undefined) throw new AtomgpError('--keep-hyperparameters keeps the model kernel; do not give --kernel');
    for (const file of files) {
      const model = readModelForRefit(file);
      if (r.property && model.property !== r.property) continue;
      jobs.push({
        label: model.atom,
        property: model.property,
        outPath: join(out, basename(file)),
        ...(r.valid ? { valid: r.valid } : {}),
        header:
          `${model.systemName} ${model.atom} ${model.property}: refit of ${file} (${model.nTrain} points × ${model.nFeatures} features), ` +
          `prior mean ${r.prior ?? `kept (${model.mean.type})`}${src.keepHyperparameters ? ', hyperparameters kept' : ''}`,
        task: {
          kind: 'refit',
          model,
          opts: {
            ...common,
            keepHyperparameters: src.keepHyperparameters,
            ...(r.prior !== undefined ? { prior: r.prior } : {}),
            ...(r.kernel !== undefined ? { kernel: r.kernel } : {}),
            ...(r.likelihood !== undefined ? { likelihood: r.likelihood } : {}),
            ...(r.noise !== undefined ? { noise: r.noise } : {}),
            ...(r.optimiseNoise ? { optimiseNoise: true } : {}),
          },
        },
      });
    }
    if (jobs.length === 0) throw new AtomgpError(`${src.path}: no '${r.property}' models to refit`);
    if (r.valid && jobs.length > 1) throw new AtomgpError('--valid applies to a single model; give --from-model FILE');
  } else {
    const out = r.out ?? '.';
    interface Spec {
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
    const specs: Spec[] = [];
    let psoFromConfig: ResolvedPso | undefined;
    if (src.kind === 'config') {
      const cfg = readFerebusConfig(src.path);
      if (!r.optimiserExplicit) {
        onNote(
          `config asks for optimiser = "${cfg.optimiser.name}"${cfg.optimiser.explicit ? '' : ' (FEREBUS\'s default)'}; using lbfgsb (analytic gradients); --optimiser pso follows the config`,
        );
      } else if (optimiser === 'pso') {
        psoFromConfig = resolvePso(cfg, psoFlags);
      }
      const likelihood = r.likelihood ?? cfg.likelihood;
      const prior = r.prior ?? cfg.prior;
      for (const atom of cfg.atoms) {
        for (const property of r.property ? [r.property] : cfg.properties) {
          const validGuess = join(dirname(atom.trainingSet), basename(atom.trainingSet).replace('_TRAINING_SET', '_VALIDATION_SET'));
          specs.push({
            system: cfg.systemName,
            atom: atom.name,
            alf: atom.alf,
            nAtoms: cfg.nAtoms,
            property,
            csv: atom.trainingSet,
            ...(existsSync(validGuess) ? { valid: validGuess } : {}),
            prior,
            kernel:
              r.kernel ??
              { kernels: cfg.kernels.map((k) => ({ name: k.name, type: k.type, activeDims: k.activeDims ?? [] })), composition: cfg.composition },
            likelihood,
            // FEREBUS's concentrated likelihood re-estimates its constant mean by GLS.
            gls: likelihood === 'concentrated' && prior === 'mean',
            noise: r.noise ?? cfg.noise,
            optimiseNoise: r.optimiseNoise || cfg.optimiseNoise,
            notes: cfg.notes.map(([k, v]) => `${k} = ${v}`),
          });
        }
      }
    } else {
      specs.push({
        system: src.system ?? basename(src.path).split('_')[0] ?? 'SYSTEM',
        atom: src.atom,
        alf: src.alf,
        nAtoms: src.nAtoms,
        property: r.property ?? 'iqa',
        csv: src.path,
        ...(r.valid ? { valid: r.valid } : {}),
        prior: r.prior ?? DEFAULT_PRIOR,
        kernel: r.kernel ?? 'rbf-cyclic',
        likelihood: r.likelihood ?? 'marginal',
        gls: false,
        noise: r.noise ?? 1e-10,
        optimiseNoise: r.optimiseNoise,
        notes: [],
      });
    }
    const psoUsed = psoFromConfig ?? psoPlain;
    for (const s of specs) {
      const set = readPropertyCsv(s.csv, { property: s.property, requireMorePointsThanFeatures: true });
      let kernel = s.kernel;
      if (typeof kernel !== 'string') {
        const all = Array.from({ length: set.nFeatures }, (_, i) => i + 1);
        kernel = { ...kernel, kernels: kernel.kernels.map((k) => ({ ...k, activeDims: k.activeDims.length > 0 ? k.activeDims : all })) };
      }
      jobs.push({
        label: s.atom,
        property: s.property,
        outPath: join(out, `${s.system}_${s.property}_${s.atom}.model`),
        ...(s.valid ? { valid: s.valid } : {}),
        header:
          `${s.system} ${s.atom} ${s.property}: ${set.n} points × ${set.nFeatures} features, prior mean ${s.prior}, ` +
          `${s.likelihood} likelihood${s.gls ? ' (GLS constant mean, as FEREBUS)' : ''}, optimiser ${optimiser}` +
          (psoUsed ? ` (${describePso(psoUsed)})` : ''),
        task: {
          kind: 'train',
          input: {
            x: set.x,
            y: set.y,
            nFeatures: set.nFeatures,
            kernel,
            prior: s.prior,
            likelihood: s.likelihood,
            glsConstantMean: s.gls,
            noise: s.noise,
            optimiseNoise: s.optimiseNoise,
            ...common,
            ...(psoUsed
              ? {
                  pso: psoUsed.options,
                  ...(psoUsed.thetaBounds ? { thetaBounds: psoUsed.thetaBounds } : {}),
                  ...(psoUsed.noiseBounds && s.optimiseNoise ? { noiseBounds: psoUsed.noiseBounds } : {}),
                }
              : {}),
            systemName: s.system,
            atom: s.atom,
            property: s.property,
            alf: s.alf,
            nAtoms: s.nAtoms,
            notes: psoUsed ? [...s.notes, psoSettingsLine(psoUsed, s.optimiseNoise)] : s.notes,
          },
        },
      });
    }
  }
  return { jobs, outDir: r.source.kind === 'from-model' ? r.out! : (r.out ?? '.') };
}

export type PsoSettings = NonNullable<TrainInput['pso']>;

/** Swarm settings actually used, and the search box when it comes from a config. */
export interface ResolvedPso {
  options: Required<Pick<PsoSettings, 'swarmSize' | 'iterations' | 'inertia' | 'cognitive' | 'social' | 'tolerance' | 'stallIterations'>>;
  /** stopping_criteria = "none" (FEREBUS): no early stop (stallIterations = ∞). */
  stopping: 'relative_change' | 'none';
  source: string;
  thetaBounds?: [number, number];
  noiseBounds?: [number, number];
}

/** Lower bound of θ in src/gp/train.ts (its default thetaBounds[0]); FEREBUS's search_min 0 maps to it. */
const THETA_MIN = 1e-6;
/** FEREBUS's σ² search box when optimise_noise (src/model/gpr/gpr.f90 search_min/max). */
const FEREBUS_NOISE_BOUNDS: [number, number] = [1e-12, 1e-6];

/**
 * The swarm settings for a run: a config's [optimiser.pso] (or our defaults without one), each
 * overridden by the flag given. FEREBUS's box on θ becomes thetaBounds (our swarm works in log θ).
 */
export function resolvePso(cfg: FerebusConfig | undefined, flags: PsoSettings): ResolvedPso {
  const base = cfg
    ? {
        swarmSize: cfg.optimiser.pso.swarmSize,
        iterations: cfg.optimiser.pso.iterations,
        inertia: cfg.optimiser.pso.inertiaWeight,
        cognitive: cfg.optimiser.pso.cognitiveLearningRate,
        social: cfg.optimiser.pso.socialLearningRate,
        ...(cfg.optimiser.pso.stopping.kind === 'relative_change'
          ? { tolerance: cfg.optimiser.pso.stopping.tolerance, stallIterations: cfg.optimiser.pso.stopping.stallIterations }
          : { tolerance: 0, stallIterations: Number.POSITIVE_INFINITY }),
      }
    : { ...PSO_DEFAULTS };
  const options = { ...base, ...flags };
  const stopping = Number.isFinite(options.stallIterations) ? 'relative_change' : 'none';
  const withFlags = Object.keys(flags).length > 0 ? '+flags' : '';
  if (!cfg) return { options, stopping, source: `defaults${withFlags}` };
  const lo = Math.max(cfg.optimiser.searchMin, THETA_MIN);
  const hi = cfg.optimiser.searchMax;
  if (!(hi > lo)) throw new AtomgpError(`${cfg.path}: search_max = ${hi} leaves no room above our lower bound on θ (${THETA_MIN})`);
  return { options, stopping, source: `config${withFlags}`, thetaBounds: [lo, hi], noiseBounds: FEREBUS_NOISE_BOUNDS };
}

export function describePso(p: ResolvedPso): string {
  const o = p.options;
  const stop = p.stopping === 'none' ? 'no early stop' : `stop at relative change ≤ ${o.tolerance} for ${o.stallIterations} iterations`;
  const box = p.thetaBounds ? `, θ in [${num(p.thetaBounds[0])}, ${num(p.thetaBounds[1])}]` : '';
  return `swarm ${o.swarmSize}, ≤ ${o.iterations} iterations, w ${o.inertia}, c1 ${o.cognitive}, c2 ${o.social}, ${stop}${box}, from ${p.source.replace('+', ' and ')}`;
}

/** `# pso_settings …` metadata: what the swarm ran with (the `# optimiser pso` line has what it did). */
export function psoSettingsLine(p: ResolvedPso, optimiseNoise: boolean): string {
  const o = p.options;
  return (
    `pso_settings swarm_size=${o.swarmSize} iterations=${o.iterations} inertia_weight=${o.inertia} ` +
    `cognitive_learning_rate=${o.cognitive} social_learning_rate=${o.social} stopping_criteria=${p.stopping}` +
    (p.stopping === 'relative_change' ? ` tolerance=${o.tolerance} stall_iterations=${o.stallIterations}` : '') +
    (p.thetaBounds ? ` theta_bounds=${num(p.thetaBounds[0])},${num(p.thetaBounds[1])}` : '') +
    (p.noiseBounds && optimiseNoise ? ` noise_bounds=${num(p.noiseBounds[0])},${num(p.noiseBounds[1])}` : '') +
    ` source=${p.source}`
  );
}

/** Bounds as written in configs: 1e-6 rather than 0.000001. */
const num = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x));

