/**
 * The report in a real browser: Debian's headless Chromium (driven by playwright-core, which
 * brings no browser of its own) opens the HTML from a file:// URL. Skipped with a reason when
 * /usr/bin/chromium is absent, except under CI=true, where absence is a failure (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { writeReport } from '../../src/report/report.js';
import { writeDemo, writeMdRun, writeStudy } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const skip = !present && !inCi ? `${CHROMIUM} not installed (apt-get install chromium); required when CI=true` : false;

const root = mkdtempSync(join(tmpdir(), 'atomgp-chromium-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface PageCheck {
  figures: { width: number; height: number; xLabel: string; yLabel: string; text: string }[];
  tables: number;
  tableRows: number;
  title: string;
}

describe('report in headless Chromium', { skip }, () => {
  it('loads every report layout with sized figures, labelled axes, tables and no errors', { timeout: 60_000 }, async () => {
    assert.ok(present, `${CHROMIUM} is missing but CI=true: .ci/run must install the Debian package 'chromium'`);
    const { chromium } = await import('playwright-core');
    writeMdRun(join(root, 'md'), { rows: 2000, temperatureK: 300, failAtRow: 1500 });
    writeMdRun(join(root, 'ens', 'T300_r00'), { rows: 500, temperatureK: 300, label: 'T300_r00' });
    writeMdRun(join(root, 'ens', 'T600_r00'), { rows: 500, temperatureK: 600, label: 'T600_r00' });
    writeStudy(join(root, 'study'), 300);
    writeDemo(join(root, 'demo'), 300, 400);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
    try {
      for (const name of ['md', 'ens', 'study', 'demo']) {
        const { path, report } = writeReport(join(root, name));
        const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
        const requests: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        const response = await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
        assert.ok(response === null || response.ok(), `${name}: page did not load`);
        const check = (await page.evaluate(`(() => {
          const label = (svg, which) => {
            const g = svg.querySelector('g[aria-label="' + which + '-axis label"]');
            return g ? g.textContent.trim() : '';
          };
          const figures = [...document.querySelectorAll('svg.atomgp-figure')].map((svg) => {
            const r = svg.getBoundingClientRect();
            return { width: r.width, height: r.height, xLabel: label(svg, 'x'), yLabel: label(svg, 'y'), text: svg.textContent };
          });
          return {
            figures,
            tables: document.querySelectorAll('table').length,
            tableRows: document.querySelectorAll('table tbody tr').length,
            title: document.title,
          };
        })()`)) as PageCheck;
        assert.deepEqual(problems, [], `${name}: console or page errors`);
        assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], `${name}: the report must not touch the network`);
        assert.equal(check.title, report.title);
        assert.equal(check.figures.length, report.figures.length, `${name}: figure count`);
        assert.ok(check.figures.length >= 2, `${name}: at least two figures`);
        for (const [k, f] of check.figures.entries()) {
          assert.ok(f.width > 200 && f.height > 100, `${name} figure ${k + 1}: rendered size ${f.width} × ${f.height}`);
          // Both axes labelled; quantities carry units ('time / ps', '|error| / kcal mol⁻¹', …), only
          // categorical axes ('prior mean') do not — and every figure has at least one quantity.
          assert.ok(f.xLabel.length > 0 && f.yLabel.length > 0, `${name} figure ${k + 1}: axis labels '${f.xLabel}', '${f.yLabel}'`);
          assert.ok(/ \/ \S/.test(f.xLabel) || / \/ \S/.test(f.yLabel), `${name} figure ${k + 1}: no axis with a unit ('${f.xLabel}', '${f.yLabel}')`);
          if (!['prior mean', 'model'].includes(f.xLabel)) assert.match(f.xLabel, / \/ \S/, `${name} figure ${k + 1}: x unit`);
          if (!['prior mean', 'model'].includes(f.yLabel)) assert.match(f.yLabel, / \/ \S/, `${name} figure ${k + 1}: y unit`);
        }
        assert.ok(check.tables >= 1 && check.tableRows >= 2, `${name}: tables present`);
        if (name === 'study') {
          assert.match(check.figures[0]!.text, /2\/3/);
          assert.equal(check.figures[0]!.yLabel, 'prior mean');
        }
        if (name === 'md') assert.ok(check.figures.every((f) => f.yLabel.includes(' / ')), 'md: y units');
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
