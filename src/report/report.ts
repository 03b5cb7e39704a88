/**
 * `atomgp report DIR`: one self-contained HTML file (inline SVG figures, inline CSS, no scripts,
 * no network) describing whatever atomgp left in DIR. Recognised layouts, by the files present:
 *   study.json {kind:'robustness'}  prior × temperature stability study
 *   demo.json  {kind:'demo'}        demo / pipeline run (sampling, training, validation, MD)
 *   log.csv / summary.json          one MD run (src/dynamics/run.ts)
 *   subfolders holding MD runs      an ensemble (src/dynamics/ensemble.ts, T300_r00/ …)
 * Missing pieces (a run folder without its log, a study without validation) are listed in the
 * report rather than failing it; malformed files are errors naming the file and line.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { VERSION } from '../version.js';
import { escapeHtml, ReportBuilder } from './html.js';
import { readJson } from './md-output.js';
import { FIGURE_CLASS } from './plot.js';
import { buildEnsemble, buildMdRun, findRunDirs } from './runs.js';
import { buildDemo, buildRobustness, isObj, want } from './studies.js';

/** The shared aggregation (analysis/stability.ts), re-exported for report users. */
export { aggregateStability, type StabilityRow } from '../analysis/stability.js';
export { escapeHtml } from './html.js';
export { loadRun, type LogStats, logStats, type MdLog, parseMdLog, type RunData } from './md-output.js';
export { findRunDirs } from './runs.js';

export type ReportKind = 'md-run' | 'ensemble' | 'robustness' | 'demo';

export interface ReportResult {
  html: string;
  /** The SVG figures, in the order they appear. */
  figures: string[];
  kind: ReportKind;
  title: string;
  /** What was expected but not found (also listed in the report). */
  missing: string[];
}

const EXPECTED =
  'expected one of: study.json (robustness study), demo.json (demo / pipeline run), log.csv and summary.json (an MD run), or subfolders such as T300_r00/ holding MD runs (an ensemble)';

function findNamed(dir: string, name: string, maxDepth = 2): string | undefined {
  const here = join(dir, name);
  if (existsSync(here)) return here;
  if (maxDepth === 0) return undefined;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (e.startsWith('.') || e === 'node_modules') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      const f = findNamed(p, name, maxDepth - 1);
      if (f) return f;
    }
  }
  return undefined;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:980px;margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
caption{text-align:left;font-weight:600;padding-bottom:.3em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
.failure{background:#fdecea;border-left:4px solid #c0392b;padding:.5em .8em}
.missing{background:#fff8e1;border-left:4px solid #f0ad4e;padding:.5em .8em}
.missing li{font-family:ui-monospace,monospace;font-size:.85em}
`;

/** Build the report for DIR without writing anything. */
export function buildReport(dir: string): ReportResult {
  if (!existsSync(dir)) throw new AtomgpError(`folder '${dir}' does not exist`);
  if (!statSync(dir).isDirectory()) throw new AtomgpError(`'${dir}' is not a folder (atomgp report takes the output folder of a run, ensemble, study or demo)`);
  const b = new ReportBuilder();
  let kind: ReportKind;
  let title: string;
  let source: string;
  const study = findNamed(dir, 'study.json');
  const demo = study ? undefined : findNamed(dir, 'demo.json');
  if (study || demo) {
    const file = (study ?? demo)!;
    const base = resolve(file, '..');
    const data = readJson(file);
    want(isObj(data), file, "expected a JSON object with a 'kind' field");
    const k = (data as Record<string, unknown>).kind;
    if (study) {
      want(k === 'robustness', file, `kind must be 'robustness', got ${JSON.stringify(k)}`);
      kind = 'robustness';
      title = buildRobustness(b, base, file, data as Record<string, unknown>);
    } else {
      want(k === 'demo', file, `kind must be 'demo', got ${JSON.stringify(k)}`);
      kind = 'demo';
      title = buildDemo(b, base, file, data as Record<string, unknown>);
    }
    source = file;
  } else if (existsSync(join(dir, 'log.csv')) || existsSync(join(dir, 'summary.json'))) {
    kind = 'md-run';
    title = buildMdRun(b, dir);
    source = dir;
  } else {
    const runs = findRunDirs(dir);
    if (runs.length === 0) throw new AtomgpError(`${dir}: no atomgp results found; ${EXPECTED}`);
    if (runs.length === 1) {
      kind = 'md-run';
      title = buildMdRun(b, runs[0]!);
    } else {
      kind = 'ensemble';
      title = buildEnsemble(b, dir, runs);
    }
    source = dir;
  }
  const missing = [...new Set(b.missing)];
  const missingHtml =
    missing.length > 0
      ? `<div class="missing"><strong>Not found (the report shows everything else):</strong><ul>${missing.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul></div>`
      : '';
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="atomgp ${VERSION}">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Made by atomgp ${VERSION} on ${new Date().toISOString().slice(0, 19).replace('T', ' ')} UTC from ${escapeHtml(resolve(source))}. ${b.figures.length} figures (class ${FIGURE_CLASS}).</p>
${missingHtml}
${b.parts.join('\n')}
</body>
</html>
`;
  return { html, figures: b.figures, kind, title, missing };
}

/** Build the report and write it atomically to `outFile` (default DIR/report.html); returns the path. */
export function writeReport(dir: string, outFile?: string): { path: string; report: ReportResult } {
  const report = buildReport(dir);
  const path = outFile ?? join(dir, 'report.html');
  writeFileAtomic(path, report.html);
  return { path, report };
}
