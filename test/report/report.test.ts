import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { reportCommand } from '../../src/cli/report.js';
import { AtomgpError } from '../../src/errors.js';
import { aggregateStability, buildReport, logStats, parseMdLog, writeReport } from '../../src/report/report.js';
import { LOG_HEADER, STUDY_TABLE, writeDemo, writeMdRun, writeStudy } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-report-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The value cell next to a quantity in a key/value table. */
function cellAfter(html: string, quantity: string): string {
  const esc = quantity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`<td>${esc}</td><td[^>]*>([^<]*)</td>`).exec(html);
  assert.ok(m, `no row '${quantity}'`);
  return m[1]!;
}

function countFigures(html: string): number {
  return (html.match(/<svg [^>]*class="[^"]*atomgp-figure/g) ?? []).length;
}

describe('MD log parsing and statistics', () => {
  it('reads columns by name and computes known statistics', () => {
    // T = 290, 300, 310, 320 twice: mean 305, population std √125; conserved 1, 1.5, …; E_pot −10 … −3.
    const rows = Array.from({ length: 8 }, (_, i) => `${i},${i * 0.5},${-10 + i},1,${[290, 300, 310, 320][i % 4]},${1 + 0.5 * i},0`);
    const log = parseMdLog([LOG_HEADER, ...rows].join('\n'), 'log.csv');
    const s = logStats(log);
    assert.equal(s.rows, 8);
    assert.equal(s.meanTemperatureK, 305);
    assert.ok(Math.abs(s.stdTemperatureK - Math.sqrt(125)) < 1e-12);
    assert.equal(s.maxTemperatureK, 320);
    assert.equal(s.meanEpotKcalPerMol, -6.5);
    assert.equal(s.conservedDriftKcalPerMol, 3.5);
    assert.equal(s.maxAbsConservedDriftKcalPerMol, 3.5);
    assert.equal(s.durationPs, 0.0035);
  });

  it('tolerates a last line cut short and NaN from an exploded run; rejects garbage with file:line', () => {
    const ok = parseMdLog(`${LOG_HEADER}\n0,0,1,1,300,1,0\n1,0.5,NaN,1,NaN,1,0\n2,1.0,1`, 'run/log.csv');
    assert.equal(ok.timeFs.length, 2);
    assert.ok(ok.truncatedLastLine);
    assert.equal(logStats(ok).meanTemperatureK, 300);
    assert.throws(() => parseMdLog(`${LOG_HEADER}\n0,0,1,1,300,1,0\n1,0.5,abc,1,300,1,0\n2,1,1,1,300,1,0`, 'run/log.csv'), (e: Error) => {
      assert.ok(e instanceof AtomgpError);
      assert.match(e.message, /run\/log\.csv:3: column epot_kcal_per_mol: 'abc'/);
      return true;
    });
    assert.throws(() => parseMdLog('step,time_fs\n0,0', 'x.csv'), /x\.csv:1: header has no column 'temperature_K'/);
  });
});

describe('report of one MD run', () => {
  it('shows the known mean temperature, drift and failure, with two figures', () => {
    const dir = join(root, 'md');
    writeMdRun(dir, { rows: 400, temperatureK: 300 });
    const r = buildReport(dir);
    assert.equal(r.kind, 'md-run');
    assert.equal(r.figures.length, 2);
    assert.equal(countFigures(r.html), 2);
    assert.equal(cellAfter(r.html, 'mean temperature / K (log.csv)'), '305');
    assert.equal(cellAfter(r.html, 'conserved-quantity drift / kcal mol⁻¹ (log.csv, end − start)'), '0.399');
    assert.equal(cellAfter(r.html, 'trajectory frames'), '3');
    assert.equal(cellAfter(r.html, 'survived'), 'yes');
    assert.deepEqual(r.missing, []);
    assert.ok(!/<script|<link|https?:\/\/(?!www\.w3\.org)/i.test(r.html), 'self-contained: no scripts, links or URLs');
    assert.ok(r.figures.every((f) => f.includes('>time / ps<')));
  });

  it('reports a failure and lists missing pieces instead of failing', () => {
    const dir = join(root, 'md-fail');
    writeMdRun(dir, { rows: 400, temperatureK: 300, failAtRow: 300 });
    rmSync(join(dir, 'trajectory.extxyz'));
    const r = buildReport(dir);
    assert.equal(cellAfter(r.html, 'survived'), 'no');
    assert.equal(cellAfter(r.html, 'time to failure / ps'), '0.15');
    assert.match(r.html, /class="failure">Failure at step 300 \(t = 0\.15 ps\): bond-stretch/);
    assert.equal(r.missing.length, 1);
    assert.match(r.missing[0]!, /trajectory\.extxyz/);
    assert.match(r.html, /Not found/);

    const onlyLog = join(root, 'md-log-only');
    mkdirSync(onlyLog);
    writeFileSync(join(onlyLog, 'log.csv'), `${LOG_HEADER}\n0,0,1,1,300,1,0\n1,1,1,1,310,1,0\n`);
    const r2 = buildReport(onlyLog);
    assert.equal(cellAfter(r2.html, 'mean temperature / K (log.csv)'), '305');
    assert.ok(r2.missing.some((m) => m.includes('summary.json')));
  });
});

describe('report of an ensemble', () => {
  it('one table row per run, survival per temperature, overlaid traces', () => {
    const dir = join(root, 'ens');
    writeMdRun(join(dir, 'T300_r00'), { rows: 200, temperatureK: 300, label: 'T300_r00' });
    writeMdRun(join(dir, 'T300_r01'), { rows: 200, temperatureK: 300, label: 'T300_r01' });
    writeMdRun(join(dir, 'T1000_r00'), { rows: 200, temperatureK: 1000, label: 'T1000_r00', failAtRow: 100 });
    const r = buildReport(dir);
    assert.equal(r.kind, 'ensemble');
    const rows = [...r.html.matchAll(/<tr><td>(T\d+_r\d+)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(rows, ['T300_r00', 'T300_r01', 'T1000_r00']);
    assert.equal(r.figures.length, 3); // survival, temperatures, drift
    assert.match(r.figures[0]!, />2\/2</);
    assert.match(r.figures[0]!, />0\/1</);
    // The failed run heats up past 3 × 1000 K: the temperature axis is cut there and the caption says so.
    assert.match(r.html, /axis stops at 3 × the target/);
  });
});

describe('report of a robustness study', () => {
  const dir = join(root, 'study');
  writeStudy(dir, 200);

  it('aggregates the known table into matrix cells', () => {
    const cells = aggregateStability(STUDY_TABLE);
    const get = (p: string, T: number) => cells.find((c) => c.prior === p && c.temperatureK === T)!;
    assert.deepEqual(get('zero', 300), { prior: 'zero', temperatureK: 300, nRuns: 3, nSurvived: 2, medianTimeToFailurePs: 0.8 });
    assert.deepEqual(get('zero', 1000), { prior: 'zero', temperatureK: 1000, nRuns: 3, nSurvived: 0, medianTimeToFailurePs: 0.3 });
    assert.deepEqual(get('physics', 300), { prior: 'physics', temperatureK: 300, nRuns: 3, nSurvived: 3, medianTimeToFailurePs: null });
    assert.deepEqual(get('physics', 1000), { prior: 'physics', temperatureK: 1000, nRuns: 3, nSurvived: 2, medianTimeToFailurePs: 1.5 });
  });

  it('has the stability matrix, S-curves, MAE bars, restoring forces and traces', () => {
    const r = buildReport(dir);
    assert.equal(r.kind, 'robustness');
    assert.equal(r.title, 'Robustness study — water');
    assert.equal(r.figures.length, 4);
    const matrix = r.figures[0]!;
    assert.equal((matrix.match(/<rect[^>]*fill="rgb/g) ?? []).length, 4, 'four matrix cells');
    for (const t of ['2/3', '0/3', '3/3', 'fail 800 fs', 'fail 300 fs', 'fail 1.50 ps']) assert.ok(matrix.includes(t), t);
    assert.match(r.figures[1]!, /\|error\| \/ kcal mol⁻¹/);
    assert.match(r.figures[1]!, /zero \(n = 200\)/);
    assert.match(r.figures[2]!, /MAE \/ kcal mol⁻¹/);
    assert.match(r.figures[3]!, /zero 1000 K r0/);
    assert.match(r.html, /<td>physics<\/td><td>1–2<\/td><td class="num">1\.6<\/td><td class="num">0\.96<\/td><td class="num">-120\.3<\/td><td>yes<\/td>/);
    assert.match(r.html, /<td>replicas<\/td><td class="num">3<\/td>/);
    assert.deepEqual(r.missing, []);
  });

  it('shows per-run bond relaxation times and their per-cell summary', () => {
    const d = join(root, 'study-relax');
    mkdirSync(d, { recursive: true });
    const t = [
      { prior: 'max', temperature_K: 1000, replica: 0, survived: true, time_to_failure_ps: null, relaxation_time_ps: { 'O1-H2': 0.004, 'O1-H3': 0.006 } },
      { prior: 'max', temperature_K: 1000, replica: 1, survived: true, time_to_failure_ps: null, relaxation_time_ps: { 'O1-H2': 0.002, 'O1-H3': null } },
      { prior: 'max', temperature_K: 1000, replica: 2, survived: false, time_to_failure_ps: 0.5, relaxation_time_ps: { 'O1-H2': 0.003, 'O1-H3': 0.01 } },
    ];
    writeFileSync(join(d, 'study.json'), JSON.stringify({ kind: 'robustness', molecule: 'water', table: t }));
    const r = buildReport(d);
    assert.match(r.html, /<th>O1-H2 relaxed at \/ ps<\/th><th>O1-H3 relaxed at \/ ps<\/th>/);
    assert.match(r.html, /<td class="num">0\.002<\/td><td>never<\/td>/, 'replica 1: O1-H3 never came back');
    // summary: O1-H2 back in 3/3 runs, median 0.003 ps; O1-H3 in 2/3, median (0.006 + 0.01)/2 = 0.008
    assert.match(r.html, /<td>O1-H2<\/td><td>3\/3<\/td><td class="num">0\.003<\/td>/);
    assert.match(r.html, /<td>O1-H3<\/td><td>2\/3<\/td><td class="num">0\.008<\/td>/);
  });

  it('names the file and the bad field of a malformed study', () => {
    const bad = join(root, 'bad-study');
    mkdirSync(bad);
    writeFileSync(join(bad, 'study.json'), JSON.stringify({ kind: 'robustness', table: [{ prior: 'zero', temperature_K: 300 }] }));
    assert.throws(() => buildReport(bad), /study\.json: table\[0\]\.survived must be true or false/);
    writeFileSync(join(bad, 'study.json'), '{"kind": "robustness",\n "table": [}');
    assert.throws(() => buildReport(bad), /study\.json(:2)?: not valid JSON/);
    writeFileSync(join(bad, 'study.json'), JSON.stringify({ kind: 'demo', table: [] }));
    assert.throws(() => buildReport(bad), /kind must be 'robustness'/);
  });

  it('lists run folders that the study names but that are gone', () => {
    const partial = join(root, 'study-partial');
    writeStudy(partial, 50);
    rmSync(join(partial, 'runs', 'zero_T1000_r01'), { recursive: true });
    const r = buildReport(partial);
    assert.ok(r.missing.some((m) => m.includes('zero_T1000_r01')));
    assert.equal(r.figures.length, 4);
  });
});

describe('report of a demo run', () => {
  it('summary, S-curve, run traces and a φ/ψ coverage map in degrees', () => {
    const dir = join(root, 'demo');
    writeDemo(dir, 200, 600);
    const r = buildReport(dir);
    assert.equal(r.kind, 'demo');
    assert.equal(cellAfter(r.html, 'training points'), '300');
    assert.equal(cellAfter(r.html, 'validation MAE / kcal mol⁻¹'), '0.42');
    assert.equal(r.figures.length, 4); // S-curve, temperature, energies, coverage
    const cov = r.figures[3]!;
    assert.match(cov, />phi \/ degree</);
    assert.match(cov, />psi \/ degree</);
    // φ = −2 … −0.8 rad = −114.6° … −45.8° → 10° bins 6 … 13 (8 columns); ψ = 2.5 … 1.35 rad =
    // 143.2° … 77.3° → bins 25 … 32 (8 rows); steps of 0.05 rad (2.9°) leave no bin between empty.
    const cells = (/<g aria-label="rect">([\s\S]*?)<\/g>/.exec(cov)![1]!.match(/<rect/g) ?? []).length;
    assert.equal(cells, 8 * 8);
    assert.match(r.html, /600 sampled frames; collective variables: phi, psi\./);
  });
});

describe('errors, writing and the CLI', () => {
  it('an unknown folder names the files it expected', () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    assert.throws(() => buildReport(empty), (e: Error) => {
      assert.ok(e instanceof AtomgpError);
      for (const f of ['study.json', 'demo.json', 'log.csv', 'summary.json', 'T300_r00']) assert.ok(e.message.includes(f), f);
      return true;
    });
    assert.throws(() => buildReport(join(root, 'nope')), /does not exist/);
  });

  it('writes DIR/report.html by default, --out elsewhere, and prints the path', async () => {
    const dir = join(root, 'cli');
    writeMdRun(dir, { rows: 50, temperatureK: 300 });
    const { path } = writeReport(dir);
    assert.equal(path, join(dir, 'report.html'));
    assert.match(readFileSync(path, 'utf8'), /^<!doctype html>/);
    const out = join(root, 'cli-out.html');
    const written: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      written.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    try {
      assert.equal(await reportCommand([dir, '--out', out]), 0);
    } finally {
      process.stdout.write = orig;
    }
    assert.equal(written.join(''), `${out}\n`);
    assert.ok(existsSync(out));
    await assert.rejects(reportCommand([]), AtomgpError);
  });
});
