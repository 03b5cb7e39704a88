/**
 * The native prediction kernel (native/predict-kernel.c, built by scripts/build-native.mjs into
 * native/build/), called through koffi on the same memory layout and with the same arguments as
 * the WebAssembly kernel (wasm/predict-kernel.wat): a drop-in `KernelPredict`.
 *
 * Why: the kernel is bound by its arithmetic (docs/benchmarks.md, issue 18); WebAssembly has
 * 2-wide vectors and no fused multiply-add, the native build 4-wide (AVX2, AVX-512 where the CPU
 * has it) with FMAs: an aspirin-size energy + forces call costs about half.
 *
 * Loaded once per thread, on first use, only when native/build/build.json says the library was
 * built from the current source and for a CPU whose flags this CPU has (`-march=native`), and the
 * library confirms it. Selection (`predictSetting()`, ATOMGP_PREDICT_BACKEND): `auto`
 * uses it when it loads, else WebAssembly, silently; `native` requires it (an error naming why
 * not); `wasm` and `ts` never use it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelPredict } from './wasm/predict-kernel.js';

interface KoffiLib {
  func(definition: string): (...args: unknown[]) => unknown;
}
interface Koffi {
  load(path: string): KoffiLib;
}

/** The library's function: the WebAssembly kernel's arguments after the memory they refer to. */
type NativePredict = (base: Float64Array, ...args: Parameters<KernelPredict>) => number;

/** The package's root: the nearest folder above this module holding native/predict-kernel.c. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'native', 'predict-kernel.c'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** The CPU's feature flags (Linux /proc/cpuinfo); undefined where there is no such file. */
function cpuFlags(): Set<string> | undefined {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^(flags|Features)\s*:/.test(l));
    return line ? new Set(line.split(':')[1]!.trim().split(/\s+/)) : undefined;
  } catch {
    return undefined;
  }
}

let cached: { predict?: NativePredict; reason: string; description?: string } | undefined;

/** The native kernel, or the reason it is not available (the library is loaded on first call). */
export function nativePredictStatus(): { available: boolean; reason: string; description?: string } {
  cached ??= load();
  return { available: cached.predict !== undefined, reason: cached.reason, ...(cached.description ? { description: cached.description } : {}) };
}

function load(): { predict?: NativePredict; reason: string; description?: string } {
  const root = packageRoot();
  if (!root) return { reason: 'native/predict-kernel.c not found beside the package' };
  return loadNativePredict(root);
}

/**
 * The kernel built under `root` (root/native/build/ from root/native/predict-kernel.c), or the
 * reason it cannot be used. Exported for tests; the process uses the package's own (cached).
 */
export function loadNativePredict(root: string): { predict?: NativePredict; reason: string; description?: string } {
  const lib = join(root, 'native', 'build', 'libatomgp-predict.so');
  const recordFile = join(root, 'native', 'build', 'build.json');
  if (!existsSync(lib) || !existsSync(recordFile)) return { reason: 'not built (npm run build; it needs a C compiler)' };
  let record: { sourceSha256?: string; cpuFlags?: string[]; compiler?: string; flags?: string[] };
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as typeof record;
  } catch {
    return { reason: `${recordFile} is not readable JSON (rebuild: npm run build)` };
  }
  const sha = createHash('sha256').update(readFileSync(join(root, 'native', 'predict-kernel.c'))).digest('hex');
  if (record.sourceSha256 !== sha) return { reason: 'built from another version of native/predict-kernel.c (rebuild: npm run build)' };
  const here = cpuFlags();
  if (here && Array.isArray(record.cpuFlags)) {
    const missing = record.cpuFlags.filter((f) => !here.has(f));
    if (missing.length > 0) return { reason: `built for a CPU with ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}, which this one lacks (rebuild: npm run build)` };
  }
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    return { reason: `the npm package 'koffi' (FFI) cannot be loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    const l = koffi.load(lib);
    const ok = l.func('int32_t atomgp_predict_cpu_ok(void)') as () => number;
    if (ok() !== 1) return { reason: 'the library was built for instructions this CPU lacks (rebuild: npm run build)' };
    const predict = l.func(
      'double atomgp_predict(void *base, int32_t pY, int32_t nBlocks, int32_t endY, int32_t endW, int32_t pNorm, int32_t pW, int32_t pV, int32_t pC, int32_t pAcc, double s0, int32_t withGrad)',
    ) as NativePredict;
    return { predict, reason: 'loaded', description: `${record.compiler ?? 'cc'} ${(record.flags ?? []).filter((f) => f.startsWith('-O') || f.startsWith('-march')).join(' ')}` };
  } catch (e) {
    return { reason: `${lib} cannot be loaded (${(e as Error).message.split('\n')[0]})` };
  }
}

/**
 * The native kernel bound to a memory (the kernel's byte offsets are relative to its start), or
 * undefined when the library is not available. Works on shared memories (any thread).
 */
export function nativeKernelOn(buffer: ArrayBufferLike): KernelPredict | undefined {
  cached ??= load();
  const fn = cached.predict;
  if (!fn) return undefined;
  const base = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
  return (pY, nBlocks, endY, endW, pNorm, pW, pV, pC, pAcc, s0, withGrad) => fn(base, pY, nBlocks, endY, endW, pNorm, pW, pV, pC, pAcc, s0, withGrad);
}
