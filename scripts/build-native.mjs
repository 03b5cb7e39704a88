#!/usr/bin/env node
/**
 * Builds the native prediction kernel (native/predict-kernel.c) into
 * native/build/libatomgp-predict.so for the machine it runs on (-march=native). The library carries
 * the sha256 of its source (atomgp_predict_source_sha256; a test compares it with the source) and
 * refuses, through atomgp_predict_cpu_ok, a CPU without the extensions it was built for; this
 * script's record (native/build/build.json: sha, flags, CPU flags) only decides whether to rebuild.
 *
 * Run by `npm run build` (and so by `npm install`). Without a C compiler it prints one line and
 * exits 0: prediction then uses the WebAssembly kernel. `CC` picks the compiler (default `cc`).
 * `--force` rebuilds even when the record says the library is current.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'predict-kernel.c');
const outDir = join(root, 'native', 'build');
const lib = join(outDir, 'libatomgp-predict.so');
const record = join(outDir, 'build.json');
const cc = process.env.CC?.trim() || 'cc';
// -march=native: the library is built where it runs (npm install/build, CI); build.json's CPU
// flags keep it from being loaded on another CPU. No -ffast-math: only contraction into FMAs.
const flags = ['-O3', '-march=native', '-ffp-contract=fast', '-fno-math-errno', '-fPIC', '-shared', '-Wall', '-Wextra'];

/** The CPU's feature flags (Linux /proc/cpuinfo), sorted; empty elsewhere. */
function cpuFlags() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^(flags|Features)\s*:/.test(l));
    return line ? [...new Set(line.split(':')[1].trim().split(/\s+/))].sort() : [];
  } catch {
    return [];
  }
}

const sha = createHash('sha256').update(readFileSync(source)).digest('hex');
const cpu = cpuFlags();
if (!process.argv.includes('--force') && existsSync(lib) && existsSync(record)) {
  try {
    const r = JSON.parse(readFileSync(record, 'utf8'));
    if (r.sourceSha256 === sha && JSON.stringify(r.cpuFlags) === JSON.stringify(cpu) && r.flags.join(' ') === flags.join(' ')) process.exit(0);
  } catch {
    // rebuild
  }
}
const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  console.error(`atomgp: no C compiler ('${cc}'): the native prediction kernel is not built; prediction uses the WebAssembly kernel (on Debian: apt-get install gcc libc6-dev)`);
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const tmp = `${lib}.${process.pid}.tmp`;
const compiler = version.stdout.split('\n')[0];
const defines = [`-DATOMGP_SOURCE_SHA256="${sha}"`, `-DATOMGP_BUILD="${compiler.replace(/["\\]/g, '')}, ${flags.filter((f) => f.startsWith('-O') || f.startsWith('-m')).join(' ')}"`];
const r = spawnSync(cc, [...flags, ...defines, '-o', tmp, source], { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  console.error(`atomgp: building the native prediction kernel failed (${cc}):\n${r.stderr}`);
  process.exit(1);
}
if (r.stderr.trim()) process.stderr.write(r.stderr);
renameSync(tmp, lib);
const info = { sourceSha256: sha, compiler, flags, cpuFlags: cpu, built: new Date().toISOString() };
writeFileSync(`${record}.tmp`, `${JSON.stringify(info, null, 1)}\n`);
renameSync(`${record}.tmp`, record);
console.error(`atomgp: native prediction kernel built (${info.compiler}, ${flags.join(' ')})`);
