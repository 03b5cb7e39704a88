/**
 * Seeded fuzz test of the CLI: a few hundred mutated inputs per command, made from the real
 * example (examples/water-morse) and the shared data (FEREBUS water set and model). Every command
 * runs in-process through `main`, so a bug shows as a thrown error (what the CLI would print with
 * a stack trace). Asserted for every input: the exit status is 0, 1 or 2; nothing escapes as an
 * exception; stderr holds no stack trace and every error is one line; an exit 0 prints no
 * non-finite number. Figures (counts per exit status, time) are printed and recorded in
 * docs/reliability.md.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { Rng } from '../../src/util/rng.js';

const EXAMPLE = 'examples/water-morse';
const SHARED_WATER = '../shared/data/ferebus-benchmark/water';
const SHARED_MODEL = join(SHARED_WATER, 'marginal', 'WATER_iqa_O1.model');
const SHARED_CSV = join(SHARED_WATER, 'WATER_O1_VALIDATION_SET.csv');
const SHARED_TRAIN_CSV = join(SHARED_WATER, 'WATER_O1_TRAINING_SET.csv');
const hasShared = existsSync(SHARED_MODEL) && existsSync(SHARED_CSV) && existsSync(SHARED_TRAIN_CSV);

const root = mkdtempSync(join(tmpdir(), 'atomgp-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Cases per command; FUZZ_SCALE=4 (say) for a longer local run. */
const SCALE = Number(process.env['FUZZ_SCALE'] ?? '1');

interface Outcome {
  code: number;
  out: string;
  err: string;
  thrown?: string;
}

/** Run every argument list in one child process (test/helpers/fuzz-driver.ts). */
function runBatch(cases: string[][], name: string): Outcome[] {
  const input = join(root, `${name}.cases.json`);
  const output = join(root, `${name}.results.json`);
  writeFileSync(input, JSON.stringify(cases));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/fuzz-driver.ts', input, output], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `fuzz driver failed (${r.status}, ${r.signal}): ${r.stderr.slice(0, 4000)}`);
  return JSON.parse(readFileSync(output, 'utf8')) as Outcome[];
}

const NASTY_NUMBERS = ['NaN', 'nan', 'Infinity', '-inf', '1e300', '-1e300', '1e8', '1e20', '0x10', '', '1e-320', '-0', '9'.repeat(400), '1,5', '1.2.3', '+', '.', 'e5', '1d400', '0b11', '1_000'];
const NASTY_TEXT = ['\u0000\u0001\u0002', '\uFFFD\uFFFD', 'x'.repeat(3000), '"', '[', 'Properties=species:S:1:pos:R:3:idx:I:1', '=', '\r', '\t\t'];

/** One random mutation of a text file (line-, token- or byte-level). */
function mutate(text: string, rng: Rng): string {
  const lines = text.split('\n');
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const li = rng.int(lines.length);
  switch (rng.int(12)) {
    case 0: // truncate anywhere
      return text.slice(0, rng.int(text.length + 1));
    case 1: {
      // flip one bit of one byte
      const bytes = Buffer.from(text, 'utf8');
      const at = rng.int(bytes.length);
      bytes[at] = bytes[at]! ^ (1 << rng.int(8));
      return bytes.toString('utf8');
    }
    case 2:
    case 3: {
      // replace one whitespace/comma-separated token by a nasty number
      const tokens = lines[li]!.split(/([\s,]+)/);
      const idx = tokens.map((t, i) => (/[\s,]/.test(t) || t === '' ? -1 : i)).filter((i) => i >= 0);
      if (idx.length === 0) return text;
      tokens[pick(idx)] = pick(NASTY_NUMBERS);
      lines[li] = tokens.join('');
      return lines.join('\n');
    }
    case 4: // delete a line
      lines.splice(li, 1);
      return lines.join('\n');
    case 5: // duplicate a line
      lines.splice(li, 0, lines[li]!);
      return lines.join('\n');
    case 6: {
      // swap two lines
      const lj = rng.int(lines.length);
      [lines[li], lines[lj]] = [lines[lj]!, lines[li]!];
      return lines.join('\n');
    }
    case 7: // insert nasty text
      lines.splice(li, 0, pick(NASTY_TEXT));
      return lines.join('\n');
    case 8: // an extra column
      lines[li] = `${lines[li]} ${rng.int(5)}`;
      return lines.join('\n');
    case 9: {
      // an index column after the first token
      const t = lines[li]!.trim().split(/\s+/);
      t.splice(1, 0, String(li));
      lines[li] = t.join(' ');
      return lines.join('\n');
    }
    case 10: // binary noise
      return text.slice(0, rng.int(text.length)) + String.fromCharCode(...Array.from({ length: 16 }, () => rng.int(256)));
    default: {
      // scale every number on a line (absurd but finite values)
      const f = pick([1e6, 1e12, -1, 0, 1e-12]);
      lines[li] = lines[li]!.replace(/-?\d+\.\d+(e[+-]?\d+)?/gi, (m) => String(Number(m) * f));
      return lines.join('\n');
    }
  }
}

/** 1-3 mutations. */
function mutated(text: string, rng: Rng): string {
  let t = text;
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) t = mutate(t, rng);
  return t;
}

interface Tally {
  command: string;
  cases: number;
  byCode: Record<string, number>;
  ms: number;
}
const tallies: Tally[] = [];

after(() => {
  const lines = tallies.map((t) => `  ${t.command.padEnd(22)} ${String(t.cases).padStart(4)} inputs  exit ${JSON.stringify(t.byCode)}  ${(t.ms / 1000).toFixed(1)} s`);
  process.stderr.write(`fuzz (seeded, scale ${SCALE}):\n${lines.join('\n')}\n`);
});

/** Run `cases` generated argument lists, asserting the invariants on each. */
async function fuzz(command: string, cases: number, make: (i: number, rng: Rng) => string[], seed: number): Promise<void> {
  const rng = new Rng(seed);
  const tally: Tally = { command, cases: 0, byCode: {}, ms: 0 };
  const t0 = performance.now();
  const argLists = Array.from({ length: cases * SCALE }, (_, i) => make(i, rng));
  const results = runBatch(argLists, command.replace(/\W+/g, '-'));
  for (const [i, r] of results.entries()) {
    const args = argLists[i]!;
    const what = `case ${i} (seed ${seed}): atomgp ${args.map((a) => (a.length > 80 ? `${a.slice(0, 80)}…` : a)).join(' ')}`;
    if (r.thrown !== undefined) assert.fail(`${what} threw (a stack trace for the user): ${r.thrown}`);
    assert.ok([0, 1, 2].includes(r.code), `${what}: exit ${r.code}`);
    assert.doesNotMatch(r.err, /\n\s+at |Error: .*\n.*node:/, `${what}: stack trace on stderr:\n${r.err}`);
    for (const line of r.err.split('\n')) {
      if (/error:/.test(line)) assert.ok(line.length <= 520, `${what}: error line of ${line.length} characters`);
    }
    if (r.code === 2) assert.match(r.err, /error: /, `${what}: exit 2 without an error message`);
    if (r.code === 0) assert.doesNotMatch(r.out, /\bNaN\b|Infinity/, `${what}: exit 0 with non-finite numbers in the output:\n${r.out.slice(0, 2000)}`);
    tally.byCode[r.code] = (tally.byCode[r.code] ?? 0) + 1;
    tally.cases++;
  }
  tally.ms = performance.now() - t0;
  tallies.push(tally);
  // The mutations must reach past the parsers sometimes (else the fuzz tests only the first line).
  assert.ok(tally.cases === 0 || (tally.byCode['2'] ?? 0) < tally.cases, `${command}: every input was refused`);
}

const waterXyz = readFileSync(join(EXAMPLE, 'water.xyz'), 'utf8');
const exampleModels = readdirSync(EXAMPLE).filter((f) => f.endsWith('.model'));

test('fuzz: predict on mutated XYZ files', async () => {
  await fuzz('predict (xyz)', 200, (i, rng) => {
    const f = join(root, `p${i}.xyz`);
    writeFileSync(f, mutated(waterXyz, rng));
    return ['predict', '--models', EXAMPLE, ...(rng.int(2) ? ['--json'] : []), f];
  }, 17);
});

test('fuzz: predict and inspect with one mutated model file', async () => {
  await fuzz('predict (model)', 100, (i, rng) => {
    const dir = join(root, `pm${i}`);
    mkdirSync(dir);
    for (const m of exampleModels) copyFileSync(join(EXAMPLE, m), join(dir, m));
    const victim = exampleModels[rng.int(exampleModels.length)]!;
    writeFileSync(join(dir, victim), mutated(readFileSync(join(EXAMPLE, victim), 'utf8'), rng));
    return ['predict', '--models', dir, join(EXAMPLE, 'water.xyz')];
  }, 23);
  await fuzz('inspect', 100, (i, rng) => {
    const victim = exampleModels[rng.int(exampleModels.length)]!;
    const f = join(root, `i${i}.model`);
    writeFileSync(f, mutated(readFileSync(join(EXAMPLE, victim), 'utf8'), rng));
    return ['inspect', ...(rng.int(2) ? ['--json'] : []), f];
  }, 29);
});

test('fuzz: validate with a mutated model or a mutated CSV set (shared FEREBUS water data)', { skip: !hasShared && 'shared data not found' }, async () => {
  const model = readFileSync(SHARED_MODEL, 'utf8');
  const csv = readFileSync(SHARED_CSV, 'utf8').split('\n').slice(0, 120).join('\n');
  await fuzz('validate', 200, (i, rng) => {
    const m = join(root, `v${i}.model`);
    const c = join(root, `v${i}.csv`);
    const which = rng.int(2);
    writeFileSync(m, which === 0 ? mutated(model, rng) : model);
    writeFileSync(c, which === 1 ? mutated(csv, rng) : csv);
    return ['validate', '--model', m, '--set', c, ...(rng.int(2) ? ['--json'] : [])];
  }, 31);
});

test('fuzz: train on mutated CSV sets (shared FEREBUS water data)', { skip: !hasShared && 'shared data not found' }, async () => {
  const csv = readFileSync(SHARED_TRAIN_CSV, 'utf8').split('\n').slice(0, 31).join('\n');
  await fuzz('train', 40, (i, rng) => {
    const c = join(root, `t${i}.csv`);
    writeFileSync(c, mutated(csv, rng));
    return ['train', '--csv', c, '--atom', 'O1', '--kernel', 'rbf', '--restarts', '1', '--budget', '0', '--quiet', '--out', join(root, `t${i}`)];
  }, 37);
});

const FLAG_VALUES = ['-5', '0', '1', '0x10', 'Infinity', 'NaN', '', '1e400', '2.5', '1e9', 'abc', '-0'];

test('fuzz: md and opt from mutated start geometries and flag values', async () => {
  await fuzz('md', 120, (i, rng) => {
    const f = join(root, `m${i}.xyz`);
    const mutateStart = rng.int(3) > 0;
    writeFileSync(f, mutateStart ? mutated(waterXyz, rng) : waterXyz);
    const flags: string[] = [];
    if (!mutateStart || rng.int(2)) {
      const flag = ['--temperature-K', '--timestep-fs', '--seed', '--log-every', '--traj-stride', '--checkpoint-every', '--tau-fs', '--chain-length', '--bond-stretch-factor', '--friction-per-ps'][rng.int(10)]!;
      const v = FLAG_VALUES[rng.int(FLAG_VALUES.length)]!;
      flags.push(rng.int(2) ? `${flag}=${v}` : flag, ...(rng.int(2) ? [] : [v]));
      if (flags.length === 1) flags[0] = `${flag}=${v}`;
    }
    const ensemble = ['nve', 'nvt', 'langevin'][rng.int(3)]!;
    return ['md', '--models', EXAMPLE, '--start', f, '--steps', String(rng.int(30)), '--ensemble', ensemble, '--out', join(root, `m${i}`), ...flags];
  }, 41);
  await fuzz('opt', 60, (i, rng) => {
    const f = join(root, `o${i}.xyz`);
    writeFileSync(f, mutated(waterXyz, rng));
    return ['opt', '--models', EXAMPLE, '--start', f, '--max-steps', '50', '--out', join(root, `o${i}`)];
  }, 43);
});
