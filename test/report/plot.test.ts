import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { cellText } from '../../src/report/html.js';
import {
  barPlot,
  downsampleIndices,
  FIGURE_CLASS,
  heatmap2d,
  histogram,
  histogram2d,
  histogramPlot,
  linePlot,
  scurvePlot,
  stabilityMatrixPlot,
} from '../../src/report/plot.js';

/**
 * Strict-enough XML check for our SVG: every tag closes in order, attributes are quoted, text has
 * no stray '<' or bare '&'. Returns how many times each element occurs.
 */
export function checkXml(xml: string): Map<string, number> {
  const counts = new Map<string, number>();
  const stack: string[] = [];
  const tag = /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(text), `bare & in text near ${JSON.stringify(text.slice(0, 40))}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    assert.ok(m, `malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`);
    i = tag.lastIndex;
    if (m[0].startsWith('<!--')) continue;
    const [, close, name, , selfClose] = m;
    if (close) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else {
      counts.set(name!, (counts.get(name!) ?? 0) + 1);
      if (!selfClose) stack.push(name!);
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  return counts;
}

/** Inner markup of Plot's mark group with this aria-label. */
function markGroup(svg: string, label: string): string {
  const m = new RegExp(`<g[^>]*aria-label="${label}"[^>]*>([\\s\\S]*?)</g>`).exec(svg);
  assert.ok(m, `no '${label}' group`);
  return m[1]!;
}

function pathVertices(d: string): number {
  return (d.match(/[ML]/g) ?? []).length;
}

function axisLabel(svg: string, axis: 'x' | 'y'): string {
  return markGroup(svg, `${axis}-axis label`).replace(/<[^>]+>/g, '');
}

describe('linePlot', () => {
  const svg = linePlot({
    series: [
      { label: 'run A', x: [0, 1, 2, 3, 4], y: [300, 310, 290, 305, 300] },
      { label: 'run B', x: [0, 1, 2], y: [1000, 990, 1010] },
    ],
    xLabel: 'time / ps',
    yLabel: 'temperature / K',
    title: 'Temperature <test> & co',
    rules: [{ y: 300, label: 'target 300 K' }],
  });

  it('is well-formed SVG with our class, namespace and escaped title', () => {
    const counts = checkXml(svg);
    assert.equal(counts.get('svg'), 1);
    assert.match(svg, /^<svg /);
    assert.match(svg, new RegExp(`class="[^"]*${FIGURE_CLASS}`));
    assert.match(svg, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes('Temperature &lt;test&gt; &amp; co'));
  });

  it('labels both axes with their units', () => {
    assert.equal(axisLabel(svg, 'x'), 'time / ps');
    assert.equal(axisLabel(svg, 'y'), 'temperature / K');
  });

  it('draws one path per series with one vertex per point, and a legend entry each', () => {
    const paths = [...markGroup(svg, 'line').matchAll(/ d="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(paths.length, 2);
    assert.deepEqual(paths.map(pathVertices).sort(), [3, 5]);
    assert.ok(svg.includes('>run A<') && svg.includes('>run B<'));
    assert.ok(svg.includes('>target 300 K<'));
  });

  it('drops non-finite points and rejects mismatched series', () => {
    const s = linePlot({ series: [{ label: 'a', x: [0, 1, 2, 3], y: [1, Number.NaN, Number.POSITIVE_INFINITY, 2] }], xLabel: 'time / ps', yLabel: 'E / kcal mol⁻¹' });
    const d = / d="([^"]+)"/.exec(markGroup(s, 'line'))![1]!;
    assert.equal(pathVertices(d), 2);
    assert.throws(() => linePlot({ series: [{ label: 'a', x: [0, 1], y: [1] }], xLabel: 'x / Å', yLabel: 'y / Å' }), AtomgpError);
  });

  it('downsamples a 100 000-point series to ≤ 2000 vertices and stays small', () => {
    const n = 100_000;
    const x = Float64Array.from({ length: n }, (_, i) => i * 0.0005);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 300) + (i === 54_321 ? 50 : 0));
    const big = linePlot({ series: [{ label: 'E', x, y }], xLabel: 'time / ps', yLabel: 'E / kcal mol⁻¹' });
    const d = / d="([^"]+)"/.exec(markGroup(big, 'line'))![1]!;
    const v = pathVertices(d);
    assert.ok(v <= 2000 && v > 1500, `vertices ${v}`);
    assert.ok(big.length < 80_000, `svg ${big.length} bytes`);
    // The spike survives: the highest point is drawn at the top of the y range (50 + 1 → nice 55).
    const ys = [...d.matchAll(/[ML][\d.-]+,([\d.-]+)/g)].map((m) => Number(m[1]));
    assert.ok(Math.min(...ys) < 40, 'spike kept');
  });

  it('shares the point budget between many series (≤ 8000 vertices in all)', () => {
    const n = 5000;
    const series = Array.from({ length: 20 }, (_, k) => ({ label: `r${k}`, x: Array.from({ length: n }, (_, i) => i), y: Array.from({ length: n }, (_, i) => Math.cos(i / 10 + k)) }));
    const s = linePlot({ series, xLabel: 'step / 1', yLabel: 'T / K' });
    const total = [...markGroup(s, 'line').matchAll(/ d="([^"]+)"/g)].reduce((a, m) => a + pathVertices(m[1]!), 0);
    assert.ok(total <= 8000, `total ${total}`);
    assert.ok(s.includes('… 4 more'), 'legend capped at 16 entries');
  });
});

describe('downsampleIndices', () => {
  it('keeps first, last, every bucket extreme, in order, within budget', () => {
    const y = Array.from({ length: 10_001 }, (_, i) => Math.sin(i / 37) * (i % 977 === 0 ? 5 : 1));
    const idx = downsampleIndices(y, 500);
    assert.ok(idx.length <= 500);
    assert.equal(idx[0], 0);
    assert.equal(idx[idx.length - 1], 10_000);
    for (let k = 1; k < idx.length; k++) assert.ok(idx[k]! > idx[k - 1]!);
    const argmax = y.indexOf(Math.max(...y));
    const argmin = y.indexOf(Math.min(...y));
    assert.ok(idx.includes(argmax) && idx.includes(argmin));
  });
  it('returns everything when under budget and refuses budgets below 4', () => {
    assert.deepEqual(downsampleIndices([3, 1, 2], 10), [0, 1, 2]);
    assert.throws(() => downsampleIndices([1, 2, 3, 4, 5], 3), AtomgpError);
  });
});

describe('scurvePlot', () => {
  it('is a log-x step curve from the smallest to the largest error, reaching 100 %', () => {
    const errs = [0.02, 0.5, 0.1, 3, 1];
    const svg = scurvePlot([{ label: 'zero', absErrors: errs }], 'kcal mol⁻¹');
    checkXml(svg);
    assert.equal(axisLabel(svg, 'x'), '|error| / kcal mol⁻¹');
    assert.match(axisLabel(svg, 'y'), /%$/);
    const d = / d="([^"]+)"/.exec(markGroup(svg, 'line'))![1]!;
    assert.equal(pathVertices(d), 2 * errs.length - 1); // step-after: a riser and a tread per point
    assert.ok(svg.includes('zero (n = 5)'));
    assert.ok(/>0\.1</.test(svg) && />1</.test(svg), 'decade tick labels');
  });
});

describe('heatmap2d and histograms', () => {
  it('bins (x, y) pairs and draws one rect per non-empty bin', () => {
    const xs = [-170, -170, 10, 175, 500];
    const ys = [-170, -165, 20, 179, 0];
    const h = histogram2d(xs, ys, [-180, 180], [-180, 180], 36, 36);
    assert.equal(h.xEdges.length, 37);
    assert.equal(h.counts[1]![1], 2); // −170 is the lower edge of the second bin
    assert.equal(h.counts[19]![20], 1);
    assert.equal(h.counts[35]![35], 1);
    assert.equal(h.counts.flat().reduce((a, b) => a + b, 0), 4, 'out-of-range point ignored');
    const svg = heatmap2d({ ...h, xLabel: 'φ / degree', yLabel: 'ψ / degree', title: 'coverage', xTicks: [-180, 0, 180] });
    checkXml(svg);
    assert.equal((markGroup(svg, 'rect').match(/<rect/g) ?? []).length, 3);
    assert.equal(axisLabel(svg, 'x'), 'φ / degree');
    assert.ok(svg.includes('frames per bin'), 'colour legend label');
    assert.throws(() => heatmap2d({ counts: [[1]], xEdges: [0, 1, 2], yEdges: [0, 1], xLabel: 'a / Å', yLabel: 'b / Å' }), AtomgpError);
  });

  it('1-D histogram counts and bars', () => {
    const h = histogram([0.1, 0.2, 0.9, 1.0, 1.5, -1], 0, 1, 4);
    assert.deepEqual(h.counts, [2, 0, 0, 2]);
    assert.deepEqual(h.edges, [0, 0.25, 0.5, 0.75, 1]);
    const svg = histogramPlot({ ...h, xLabel: 'r / Å' });
    checkXml(svg);
    assert.equal((markGroup(svg, 'rect').match(/<rect/g) ?? []).length, 4);
  });
});

describe('stabilityMatrixPlot and barPlot', () => {
  it('one coloured cell per prior × temperature, annotated', () => {
    const svg = stabilityMatrixPlot([
      { prior: 'zero', temperatureK: 300, nRuns: 3, nSurvived: 2, medianTimeToFailurePs: 0.3 },
      { prior: 'zero', temperatureK: 1000, nRuns: 3, nSurvived: 0, medianTimeToFailurePs: 1.5 },
      { prior: 'physics', temperatureK: 300, nRuns: 3, nSurvived: 3, medianTimeToFailurePs: null },
      { prior: 'physics', temperatureK: 1000, nRuns: 3, nSurvived: 3, medianTimeToFailurePs: null },
    ]);
    checkXml(svg);
    const fills = [...markGroup(svg, 'cell').matchAll(/<rect[^>]*fill="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(fills.length, 4);
    assert.equal(new Set(fills).size, 3, '67 %, 0 % and 100 % get different colours');
    const text = markGroup(svg, 'text').replace(/<[^>]+>/g, ' ');
    for (const t of ['2/3', '0/3', '3/3', 'fail 300 fs', 'fail 1.50 ps']) assert.ok(text.includes(t), t);
    assert.equal(axisLabel(svg, 'x'), 'temperature / K');
    assert.throws(() => stabilityMatrixPlot([]), AtomgpError);
  });

  it('one bar per category with its value printed', () => {
    const svg = barPlot({ bars: [{ label: 'zero', value: 0.9 }, { label: 'physics', value: 0.4 }, { label: 'mean', value: 0.55 }], valueLabel: 'MAE / kcal mol⁻¹', categoryLabel: 'prior mean' });
    checkXml(svg);
    assert.equal((markGroup(svg, 'bar').match(/<rect/g) ?? []).length, 3);
    assert.equal(axisLabel(svg, 'y'), 'MAE / kcal mol⁻¹');
    assert.ok(svg.includes('>0.55<'));
  });
});

test('table cells print counts exactly and other numbers to 4 significant digits', () => {
  assert.equal(cellText(10001), '10001');
  assert.equal(cellText(250000), '250000');
  assert.equal(cellText(-3), '-3');
  assert.equal(cellText(0.657123), '0.6571');
  assert.equal(cellText(123456.7), '1.23e+5');
  assert.equal(cellText(null), '–');
  assert.equal(cellText(true), 'yes');
});
