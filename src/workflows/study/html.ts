/**
 * study.html: the study's table (validation, survival and fidelity per prior and temperature for
 * every molecule), linking each molecule's own report. Self-contained, no scripts.
 */
import { aggregateStability } from '../../analysis/stability.js';
import { escapeHtml, table } from '../../report/html.js';
import { heatmap2d, stabilityMatrixPlot } from '../../report/plot.js';
import { VERSION } from '../../version.js';
import { distortionRows } from './distortions.js';
import type { StudySummary } from './run.js';

const CSS = `body{font-family:"DejaVu Sans",sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #bbb;padding:0.25em 0.6em}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:bold;padding:0.3em 0}
.meta{color:#555}.maps{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0.5em 0;max-width:440px}figcaption{font-size:0.85em;color:#444}`;

const f2 = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);

export function studyHtml(s: StudySummary): string {
  const b = s.settings.fidelity;
  const parts = s.molecules.map((m) => {
    const valid = table(
      ['prior mean', 'validation MAE', 'RMSE', 'max |error|'],
      m.validation.map((v) => [v.prior, f2(v.mae_kcal_per_mol), f2(v.rmse_kcal_per_mol), f2(v.max_abs_kcal_per_mol)]),
      'Validation of the molecular energy (kcal/mol)',
    );
    const runs = table(
      ['prior mean', 'T (K)', 'runs', 'survived', 'survived and faithful', 'faithful to their end (all runs)', 'median time to failure (ps)', 'energy MAE along trajectories (kcal/mol)', 'max |error| (kcal/mol)', 'mean signed error, model − reference (kcal/mol)'],
      m.table.map((c) => [c.prior, c.temperature_K, c.runs, c.survived, c.faithful, c.faithful_to_end, f2(c.median_time_to_failure_ps), f2(c.energy_mae_kcal_per_mol), f2(c.energy_max_abs_kcal_per_mol), f2(c.energy_mean_signed_kcal_per_mol)]),
      'NVT runs: survival (the monitor never stopped the run) and fidelity (the reference re-evaluated along the trajectory)',
    );
    const o = m.observables;
    const obs = o
      ? table(
          ['run', 'h(r) MAE vs reference', 'E_pot − E_min mean ± sd (kcal/mol)', 'largest bond deviation (Å)', 'Fu et al. stable (≤ 0.5 Å)'],
          [
            [`reference (${o.reference_survived ? 'survived' : 'stopped'})`, 0, `${o.reference_energy.mean_kcal_per_mol.toFixed(2)} ± ${o.reference_energy.sd_kcal_per_mol.toFixed(2)}`, f2(o.reference_max_bond_deviation_A), o.reference_max_bond_deviation_A <= 0.5],
            ...o.runs.map((r) => [r.run_dir, f2(r.h_r_mae), `${r.energy.mean_kcal_per_mol.toFixed(2)} ± ${r.energy.sd_kcal_per_mol.toFixed(2)}`, f2(r.max_bond_deviation_A), r.fu_stable]),
          ],
          `Observables at ${o.temperature_K} K against the reference's own NVT run (Fu et al., TMLR 2023): h(r) is the distribution of interatomic distances, its MAE ∫|h − h_ref| dr lies between 0 and 2`,
        )
      : '';
    const popRows = o
      ? [
          ...(o.reference_proton_sites ?? []).map((p) => ['reference', p] as const),
          ...o.runs.flatMap((r) => (r.proton_sites ?? []).map((p) => [r.run_dir, p] as const)),
        ]
      : [];
    const pops = popRows.length
      ? table(
          ['run', 'hydrogen', 'sites (donor first)', 'fraction of frames on each site (± block standard error)', 'site changes', 'frames'],
          popRows.map(([run, p]) => [run, p.hydrogen, p.sites.join(', '), p.fractions.map((v, k) => `${v.toFixed(3)} ± ${p.standard_errors[k]!.toFixed(3)}`).join(', '), p.switches, p.frames]),
          `Where each labile hydrogen spends the run at ${o!.temperature_K} K (nearest site per frame; standard errors from ${popRows[0]![1].blocks} consecutive blocks). Sites related by the molecule's symmetry must be populated equally over a long run`,
        )
      : '';
    const dist = m.distortions.length
      ? table(
          ['distortion', 'prior mean', 'bonds moved', 'energy rise (kcal/mol)', 'restoring bonds', 'largest bond force (kcal/mol/Å)', 'runs', 'survived', 'relaxed', 'median relaxation time (ps)'],
          distortionRows(m.distortions).map((r) => [r.distortion, r.prior, r.bonds_moved, f2(r.energy_rise_kcal_per_mol), r.restoring, f2(r.max_abs_force_kcal_per_mol_per_A), r.runs, r.survived, r.relaxed, f2(r.median_relaxation_ps)]),
          `Distorted starts: forces at the start and NVT at ${s.settings.distortionTemperatureK} K for ${s.settings.distortionTimePs} ps (a bond has relaxed when back within 0.1 Å of its length at the minimum)`,
        )
      : '';
    const rama = (m.ramachandran ?? [])
      .map((r) => {
        const edges = Array.from({ length: r.bins + 1 }, (_, i) => -180 + (360 * i) / r.bins);
        const counts = Array.from({ length: r.bins }, (_, i) => r.counts.slice(i * r.bins, (i + 1) * r.bins));
        const regions = Object.entries(r.regions)
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${(100 * v).toFixed(0)} %`)
          .join(', ');
        const ticks = [-180, -120, -60, 0, 60, 120, 180];
        return `<figure>${heatmap2d({ xEdges: edges, yEdges: edges, counts, xLabel: 'φ / degrees', yLabel: 'ψ / degrees', xTicks: ticks, yTicks: ticks, width: 420 })}<figcaption><strong>${escapeHtml(r.label)}</strong>, ${r.frames} frames: ${escapeHtml(regions)}</figcaption></figure>`;
      })
      .join('\n');
    const survival = m.runs.length ? `<figure>${stabilityMatrixPlot(aggregateStability(m.runs))}<figcaption>Runs that survived, per prior mean and temperature (median time to failure of the others).</figcaption></figure>` : '';
    const op = m.optimisation;
    const opt = op
      ? table(
          ['start', 'model: steps to fmax < 1', 'model E (kcal/mol)', 'model (φ, ψ)', 'reference: steps to fmax < 1', 'reference E (kcal/mol)', 'reference (φ, ψ)', 'RMSD model vs reference (Å)', 'heavy-atom RMSD (Å)'],
          op.entries.map((e) => [e.start, e.model.steps_to_fmax_1, f2(e.model.energy_kcal_per_mol), `(${e.model.phi_deg.toFixed(0)}°, ${e.model.psi_deg.toFixed(0)}°)`, e.reference.steps_to_fmax_1, f2(e.reference.energy_kcal_per_mol), `(${e.reference.phi_deg.toFixed(0)}°, ${e.reference.psi_deg.toFixed(0)}°)`, e.rmsd_A.toFixed(3), e.rmsd_heavy_A === undefined ? '–' : e.rmsd_heavy_A.toFixed(3)]),
          `Conformer optimisation (${op.optimiser ?? 'L-BFGS'} to fmax 0.05 kcal/mol/Å, ${op.prior}): ΔE(C5 − C7eq) model ${op.delta_e_model_kcal_per_mol.toFixed(2)}, reference ${op.delta_e_reference_kcal_per_mol.toFixed(2)} kcal/mol; wall time model/reference ${op.wall_time_ratio.toFixed(3)}; energies relative to each surface's minimum from the C7eq start`,
        )
      : '';
    const rounds = m.refinement ?? [];
    const refine =
      op && rounds.length > 0
        ? table(
            ['model', 'reference calls', 'training geometries', 'ΔE(C5 − C7eq) model (kcal/mol)', 'reference (kcal/mol)', 'RMSD per start (Å)', 'steps to fmax < 1', 'reference max |F| at the model minima (kcal/mol/Å)'],
            [{ round: 0, frames_added: 0, n_train: null as number | null, optimisation: op }, ...rounds].map((r) => [
              r.round === 0 ? 'trained (sampling only)' : `refinement round ${r.round}`,
              r.frames_added,
              r.n_train ?? '–',
              f2(r.optimisation.delta_e_model_kcal_per_mol),
              f2(r.optimisation.delta_e_reference_kcal_per_mol),
              r.optimisation.entries.map((e) => e.rmsd_A.toFixed(3)).join(', '),
              r.optimisation.entries.map((e) => e.model.steps_to_fmax_1 ?? '–').join(', '),
              r.optimisation.entries.map((e) => (e.reference_fmax_at_model_minimum_kcal_per_mol_per_A === undefined ? '–' : e.reference_fmax_at_model_minimum_kcal_per_mol_per_A.toFixed(2))).join(', '),
            ]),
            `Refinement at the conformer minima: each round labels the model's optimisation paths (a frame every ${s.settings.optimisationPathStride ?? 3} steps) and minima on the reference and refits the model (θ kept); starts in the order of the table above`,
          )
        : '';
    return `<h2>${escapeHtml(m.molecule)} (${escapeHtml(m.formula)}, ${m.n_atoms} atoms)</h2>
<p>Reference: ${escapeHtml(m.reference)}; labels: ${m.labels === 'atomic' ? 'atomic energies' : 'total energies (additive GP)'}. <a href="${encodeURI(m.folder)}/report.html">The molecule's report</a>.</p>
${valid}
${survival}
${runs}
${dist}
${opt}
${refine}
${obs}
${pops}
${rama ? `<h3>Ramachandran maps (first residue)</h3><div class="maps">${rama}</div>` : ''}`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="atomgp ${VERSION}">
<title>atomgp study</title>
<style>${CSS}</style>
</head>
<body>
<h1>atomgp study: ${escapeHtml(s.molecules.map((m) => m.molecule).join(', '))}</h1>
<p class="meta">atomgp ${VERSION}. A run is faithful when, on ${s.settings.fidelityFrames === 0 ? 'every saved frame of its trajectory' : `${s.settings.fidelityFrames} frames spread along its trajectory`}, its energy error relative to the minimum has MAE ≤ ${b.energyMaeKcalPerMol} kcal/mol and ≥ ${(100 * b.withinFraction).toFixed(0)} % of frames lie within ${b.bandKcalPerMol} kcal/mol of the reference.${s.settings.pipeline.repulsion === 'zbl' ? ' Every model ran with the ZBL repulsive prior term beyond its training data (docs/repulsion.md).' : ''}</p>
${parts.join('\n')}
</body>
</html>
`;
}
