/**
 * GFN2-xTB reference benchmark: milliseconds per energy + gradient call for water,
 * malondialdehyde (9 atoms) and aspirin (21 atoms), library driver (libxtb through koffi) and
 * program driver (the xtb executable per call), one thread, geometry changed every call.
 * Usage: npm run build && node dist/bench/xtb.js [--seconds S] [--accuracy A,B,…]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createResult, type Potential } from '../src/potentials/potential.js';
import { XtbPotential, xtbAvailable } from '../src/potentials/xtb.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Number(arg('--seconds') ?? 2);
const ACCURACIES = (arg('--accuracy') ?? '1').split(',').map(Number);

/** GFN2-xTB minima (xtb 6.5.1 --opt), Å. */
const MOLECULES: Array<{ name: string; symbols: string[]; positionsA: number[] }> = [
  { name: 'water', symbols: ['O', 'H', 'H'], positionsA: [0, 0, 0.1193, 0, 0.7632, -0.4770, 0, -0.7632, -0.4770] },
  {
    name: 'malondialdehyde',
    symbols: ['C', 'C', 'C', 'O', 'O', 'H', 'H', 'H', 'H'],
    positionsA: [
      -1.2275, -0.0217, 0, 0.0111, 0.7017, 0, 1.1869, 0.0244, 0, -1.3122, -1.2443, 0, 1.2868, -1.2826, 0, 0.3587, -1.6525, 0, -2.1429, 0.5917, 0, -0.0044, 1.7766, 0, 2.1433,
      0.5367, 0,
    ],
  },
  {
    name: 'aspirin',
    symbols: ['C', 'C', 'C', 'C', 'C', 'C', 'C', 'O', 'O', 'H', 'O', 'C', 'O', 'C', 'H', 'H', 'H', 'H', 'H', 'H', 'H'],
    positionsA: [
      0.105, 1.3215, 0.0583, 1.2547, 0.5276, -0.0499, 1.1453, -0.8502, -0.1652, -0.105, -1.4429, -0.1769, -1.2493, -0.6664, -0.0886, -1.1445, 0.7062, 0.0264, 0.2199, 2.7865,
      0.249, 1.2088, 3.3773, 0.6004, -0.9364, 3.4273, 0.0075, -0.8186, 4.3777, 0.1612, 2.4792, 1.1564, -0.1008, 3.4639, 0.8098, 0.7537, 3.3806, -0.0797, 1.5533, 4.6414, 1.7198,
      0.5564, 5.4486, 1.4286, 1.2199, 4.3246, 2.7377, 0.771, 4.9679, 1.6798, -0.479, 2.0397, -1.4485, -0.2385, -0.1832, -2.5163, -0.2593, -2.2226, -1.1323, -0.1042, -2.0279, 1.32,
      0.1056,
    ],
  },
];

/**
 * Wall and CPU milliseconds per call. CPU time (this process + waited-for children) is the better
 * figure on a shared machine; the program driver's child CPU time comes from getrusage.
 */
function timeCalls(pot: Potential, positionsA: Float64Array, seconds: number): { ms: number; cpuMs: number; calls: number } {
  const out = createResult(pot.nAtoms);
  const x = Float64Array.from(positionsA);
  // Small deterministic jiggle (±0.01 Å) so every call sees a new geometry, as in MD.
  const jiggle = (k: number) => {
    for (let i = 0; i < x.length; i++) x[i] = positionsA[i]! + 0.01 * Math.sin(0.7 * k + 1.3 * i);
  };
  for (let k = 0; k < 3; k++) {
    jiggle(k);
    pot.compute(x, out);
  }
  let calls = 0;
  const c0 = cpuMs();
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000 || calls < 5) {
    jiggle(calls + 3);
    pot.compute(x, out);
    calls++;
    t = performance.now();
  }
  return { ms: (t - t0) / calls, cpuMs: (cpuMs() - c0) / calls, calls };
}

function cpuMs(): number {
  const self = process.resourceUsage();
  const kids = childCpu();
  return (self.userCPUTime + self.systemCPUTime) / 1000 + kids;
}

/** CPU ms of terminated, waited-for children (from /proc/self/stat, fields cutime + cstime). */
function childCpu(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // clock ticks, USER_HZ = 100 on Linux
  } catch {
    return 0;
  }
}

const avail = xtbAvailable();
console.log(`# atomgp xtb benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? 'cpu'} — node ${process.version} — xtb ${avail.version ?? '?'}`);
console.log(`# ms per energy + gradient call, 1 thread, geometry changed every call; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
if (!avail.library && !avail.program) {
  console.log(`# xtb unavailable: ${avail.reason}`);
  process.exit(0);
}
for (const accuracy of ACCURACIES) {
  for (const m of MOLECULES) {
    const cells: string[] = [];
    for (const driver of ['library', 'program'] as const) {
      if (!avail[driver]) {
        cells.push(`${driver} n/a`);
        continue;
      }
      const pot = new XtbPotential({ symbols: m.symbols, driver, accuracy });
      try {
        const r = timeCalls(pot, Float64Array.from(m.positionsA), SECONDS);
        cells.push(`${driver} ${r.ms.toFixed(2).padStart(7)} ms wall ${r.cpuMs.toFixed(2).padStart(7)} ms cpu (${r.calls} calls)`);
      } finally {
        pot.dispose();
      }
    }
    console.log(`acc ${String(accuracy).padEnd(5)} ${m.name.padEnd(16)} ${String(m.symbols.length).padStart(2)} atoms   ${cells.join('   ')}`);
  }
}
