/**
 * `atomgp study`: the pipeline on a list of molecules with the prior-mean family and the NVT matrix,
 * then fidelity against the reference along every trajectory → DIR/study.json and study.html.
 * Thin: parses flags (over an optional settings file), calls src/workflows/study, prints the table.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AtomgpError } from '../errors.js';
import { lockOutputDir, removeStaleTempFiles } from '../io/lock.js';
import type { ReferenceKind } from '../workflows/pipeline/index.js';
import { distortionRows } from '../workflows/study/distortions.js';
import { readStudyConfig, runStudy, STUDY_DEFAULTS, type StudySettings, type StudySummary } from '../workflows/study/index.js';
import { flagFrames, flagInteger, flagNumber, stderrProgress } from './common.js';
import { abortOnSignals, EXECUTOR_HELP, EXECUTOR_OPTIONS, executorFromFlags, formatBatchStatus } from './executor-flags.js';

const d = STUDY_DEFAULTS;
const HELP = `usage: atomgp study [--molecules LIST] [--reference builtin|xtb] [--config study.toml] --out DIR [options]

The paper's experiment on a list of molecules, checked against the reference: per molecule the
pipeline (WTMetaD sampling on the reference, ${d.pipeline.nTrain} training + ${d.pipeline.nValid} validation geometries, one model
set per prior mean, validation, NVT runs over priors × temperatures × replicas), then every run's
trajectory re-evaluated on the reference (fidelity). Writes DIR/study.json and DIR/study.html;
each molecule's folder DIR/<molecule>/ holds its pipeline output and report.

  --molecules LIST           built-in molecules (default ${d.molecules.join(',')})
  --reference builtin|xtb    reference potential (default ${d.reference})
  --config FILE              settings file (TOML: molecules, reference, [pipeline] with any pipeline
                             flag without dashes, [fidelity], [observables], [distortions],
                             [optimisation]); flags given here override it
  --out DIR                  output folder (required)
  --resume | --overwrite     continue an interrupted study (refuses changed settings), or start over
  --priors LIST              prior means (default ${d.pipeline.priors.join(',')})
  --temperatures-K LIST      NVT temperatures (default ${d.pipeline.mdTemperaturesK.join(',')})
  --replicas R               runs per prior and temperature (default ${d.pipeline.replicas})
  --md-time-ps T             length of each run, ps (default ${d.pipeline.mdTimePs})
  --n-train N, --n-valid N   training / validation geometries (default ${d.pipeline.nTrain} / ${d.pipeline.nValid})
  --sample-steps N           WTMetaD steps (default ${d.pipeline.sampleSteps})
  --active-rounds R          active-learning rounds on the model's own MD (default ${d.pipeline.activeRounds}; 0: none;
                             the other active-* settings in [pipeline], see atomgp pipeline --help)
  --repulsion none|zbl       the models' repulsive prior term in every stage after training: the ZBL
                             nuclear repulsion of pairs closer than in any training geometry, beyond
                             its tangent there (docs/repulsion.md; default ${d.pipeline.repulsion})
  --seed S                   seed of every random choice (default ${d.pipeline.seed})
  --workers N                worker threads for training and MD (default ${d.pipeline.workers})
  --fidelity-frames N|all    frames per run re-evaluated on the reference, spread evenly along its
                             trajectory (default all: every saved frame, ≤ 10 001 per run); a
                             changed value is allowed on --resume and redoes only the fidelity
  --observables-temperature-K T  the reference's own NVT run at T (one of the temperatures) and the
                             model runs at T compared with it: h(r), E_pot − E_min, bond deviations
                             (default ${d.observablesTemperatureK}; 0: none)
  --refine-rounds R          peptides (total-energy labels): rounds of refinement of the default
                             prior's model at the conformer minima it predicts: its optimisation
                             paths (a frame every ${d.optimisationPathStride} steps, [optimisation] path-stride) and minima
                             labelled on the reference, the model refit with θ kept (default ${d.optimisationRefineRounds}; 0: none;
                             the unrefined model's table is always reported)
  --json                     print study.json's summary on stdout; progress stays on stderr
  --quiet                    no progress on stderr

The pipeline's per-atom training and NVT runs go through the executor (the reference's own NVT run,
the fidelity stage and the distorted starts' short runs run on this machine); ${EXECUTOR_HELP}`;

/** The study's table as text: one block per molecule. */
export function formatStudy(s: StudySummary, htmlPath: string): string {
  const lines: string[] = [];
  const f = (v: number | null, digits = 2): string => (v === null ? '–' : v.toFixed(digits));
  for (const m of s.molecules) {
    lines.push(`${m.molecule} (${m.formula}, ${m.n_atoms} atoms, ${m.labels} labels${s.settings.pipeline.repulsion === 'zbl' ? '; models with the ZBL repulsive prior term' : ''})`);
    for (const v of m.validation) lines.push(`  validation ${v.prior}: MAE ${f(v.mae_kcal_per_mol)} kcal/mol (max ${f(v.max_abs_kcal_per_mol, 1)})`);
    lines.push('  prior         T/K  survived  faithful  traj. MAE  traj. max  signed  (kcal/mol)  faithful to their end, all runs');
    for (const c of m.table) {
      lines.push(`  ${c.prior.padEnd(12)} ${String(c.temperature_K).padStart(5)}  ${`${c.survived}/${c.runs}`.padStart(8)}  ${`${c.faithful}/${c.runs}`.padStart(8)}  ${f(c.energy_mae_kcal_per_mol).padStart(9)}  ${f(c.energy_max_abs_kcal_per_mol, 1).padStart(9)}  ${f(c.energy_mean_signed_kcal_per_mol).padStart(6)}              ${c.faithful_to_end}/${c.runs}`);
    }
    if (m.observables) lines.push(`  the reference's own NVT at ${m.observables.temperature_K} K under the same criteria: ${m.observables.reference_survived ? 'survived' : 'stopped by the monitor'}`);
  }
  for (const m of s.molecules) {
    const rows = distortionRows(m.distortions);
    if (rows.length === 0) continue;
    lines.push(`${m.molecule}: distorted starts (${s.settings.distortionTemperatureK} K, ${s.settings.distortionTimePs} ps)`);
    for (const r of rows) {
      lines.push(`  ${r.distortion} ${r.prior}: ${r.bonds_moved} bond(s), rise ${f(r.energy_rise_kcal_per_mol, 1)} kcal/mol, restoring ${r.restoring}, max force ${f(r.max_abs_force_kcal_per_mol_per_A, 0)} kcal/mol/Å, survived ${r.survived}/${r.runs}, relaxed ${r.relaxed}/${r.runs} (median ${f(r.median_relaxation_ps, 3)} ps)`);
    }
  }
  for (const m of s.molecules) {
    const op = m.optimisation;
    if (!op) continue;
    lines.push(`${m.molecule}: conformers optimised (${op.optimiser ?? 'L-BFGS'}) on ${op.prior} and on the reference: ΔE(C5 − C7eq) ${f(op.delta_e_model_kcal_per_mol)} vs ${f(op.delta_e_reference_kcal_per_mol)} kcal/mol, wall time ratio ${f(op.wall_time_ratio, 3)}`);
    for (const e of op.entries) {
      lines.push(`  ${e.start}: model ${e.model.steps_to_fmax_1 ?? '–'} steps to fmax < 1, (${e.model.phi_deg.toFixed(0)}°, ${e.model.psi_deg.toFixed(0)}°); reference ${e.reference.steps_to_fmax_1 ?? '–'} steps, (${e.reference.phi_deg.toFixed(0)}°, ${e.reference.psi_deg.toFixed(0)}°); RMSD ${e.rmsd_A.toFixed(3)} Å (heavy atoms ${e.rmsd_heavy_A === undefined ? '–' : e.rmsd_heavy_A.toFixed(3)} Å)`);
    }
    for (const r of m.refinement ?? []) {
      const o = r.optimisation;
      lines.push(`  refinement round ${r.round} (${r.frames_added} reference frames, ${r.n_train} training geometries): ΔE(C5 − C7eq) ${f(o.delta_e_model_kcal_per_mol)} vs ${f(o.delta_e_reference_kcal_per_mol)} kcal/mol, RMSD ${o.entries.map((e) => e.rmsd_A.toFixed(3)).join(', ')} Å, steps to fmax < 1 ${o.entries.map((e) => e.model.steps_to_fmax_1 ?? '–').join(', ')}`);
    }
  }
  for (const m of s.molecules) {
    const o = m.observables;
    if (!o) continue;
    lines.push(`${m.molecule} at ${o.temperature_K} K against the reference's own run: E_pot − E_min ${f(o.reference_energy.mean_kcal_per_mol)} ± ${f(o.reference_energy.sd_kcal_per_mol)} kcal/mol`);
    for (const r of o.runs) {
      lines.push(`  ${r.run_dir}: h(r) MAE ${f(r.h_r_mae, 3)}, E_pot − E_min ${f(r.energy.mean_kcal_per_mol)} ± ${f(r.energy.sd_kcal_per_mol)}, largest bond deviation ${f(r.max_bond_deviation_A)} Å${r.fu_stable ? '' : ' (unstable by Fu et al.)'}`);
    }
  }
  lines.push(`report: ${htmlPath}`);
  return `${lines.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      molecules: { type: 'string' },
      reference: { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      overwrite: { type: 'boolean', default: false },
      priors: { type: 'string' },
      'temperatures-K': { type: 'string' },
      replicas: { type: 'string' },
      'md-time-ps': { type: 'string' },
      'n-train': { type: 'string' },
      'n-valid': { type: 'string' },
      'sample-steps': { type: 'string' },
      'active-rounds': { type: 'string' },
      repulsion: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      'fidelity-frames': { type: 'string' },
      'observables-temperature-K': { type: 'string' },
      'refine-rounds': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...EXECUTOR_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new AtomgpError(`unexpected argument '${positionals[0]}' (see atomgp study --help)`);
  if (values.resume && values.overwrite) throw new AtomgpError('--resume and --overwrite exclude each other');
  if (!values.out) throw new AtomgpError('--out DIR is required');
  const base: StudySettings = values.config ? readStudyConfig(values.config) : structuredClone(STUDY_DEFAULTS);
  const p = base.pipeline;
  const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  const s: StudySettings = {
    ...base,
    molecules: values.molecules ? list(values.molecules) : base.molecules,
    reference: (values.reference ?? base.reference) as ReferenceKind,
    fidelityFrames: flagFrames('fidelity-frames', values['fidelity-frames'], base.fidelityFrames),
    observablesTemperatureK: flagNumber('observables-temperature-K', values['observables-temperature-K'], base.observablesTemperatureK),
    optimisationRefineRounds: flagInteger('refine-rounds', values['refine-rounds'], base.optimisationRefineRounds, 0),
    pipeline: {
      ...p,
      priors: values.priors ? list(values.priors) : p.priors,
      mdTemperaturesK: values['temperatures-K'] ? list(values['temperatures-K']).map((t) => flagNumber('temperatures-K', t, 0)) : p.mdTemperaturesK,
      replicas: flagInteger('replicas', values.replicas, p.replicas, 1),
      mdTimePs: flagNumber('md-time-ps', values['md-time-ps'], p.mdTimePs),
      nTrain: flagInteger('n-train', values['n-train'], p.nTrain, 2),
      nValid: flagInteger('n-valid', values['n-valid'], p.nValid, 1),
      sampleSteps: flagInteger('sample-steps', values['sample-steps'], p.sampleSteps, 1),
      activeRounds: flagInteger('active-rounds', values['active-rounds'], p.activeRounds, 0),
      repulsion: (values.repulsion ?? p.repulsion) as StudySettings['pipeline']['repulsion'],
      seed: flagInteger('seed', values.seed, p.seed, Number.MIN_SAFE_INTEGER),
      workers: flagInteger('workers', values.workers, p.workers, 1),
    },
  };
  if (s.reference !== 'builtin' && s.reference !== 'xtb') throw new AtomgpError(`--reference must be builtin or xtb, got '${s.reference}'`);
  const out = resolve(values.out);
  const mode = values.resume ? 'resume' : values.overwrite ? 'overwrite' : 'new';
  const executor = executorFromFlags(values, s.pipeline.workers);
  if (executor.kind === 'slurm' && executor.slurm.detach) throw new AtomgpError('--detach applies to atomgp md and train; the study needs each stage before the next');
  const { log, progress } = stderrProgress(values.quiet);
  const lock = lockOutputDir(out, { command: 'atomgp study', warn: (m) => process.stderr.write(`atomgp study: warning: ${m}\n`) });
  let summary: StudySummary;
  // SIGINT/SIGTERM stop the run (see atomgp pipeline); finished stages stay for --resume.
  const abort = abortOnSignals(executor, { local: true });
  try {
    removeStaleTempFiles(out);
    summary = await runStudy(s, out, mode, { log, progress, executor, signal: abort.signal, onBatchStatus: (st) => progress('slurm', (st.done + st.failed) / st.total, formatBatchStatus(st)) });
  } finally {
    abort.release();
    lock.release();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(formatStudy(summary, resolve(out, 'study.html')));
  return 0;
}
