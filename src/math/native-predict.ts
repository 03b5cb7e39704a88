/**
 * The native prediction kernel (native/predict-kernel.c, built by scripts/build-native.mjs into
 * native/build/), called through koffi on the same memory layout and with the same arguments as
 * the WebAssembly kernel (wasm/predict-kernel.wat): a drop-in `KernelPredict`.
 *
 * Why: the kernel is bound by its arithmetic (docs/benchmarks.md, issue 18); WebAssembly has
 * 2-wide vectors and no fused multiply-add, the native build 4-wide (AVX2, AVX-512 where the CPU
 * has it) with FMAs: an aspirin-size energy + forces call costs about half.
 *
 * Loaded once per thread, on first use, from native/build/ beside the package (this module runs
 * from src/ or dist/src/), and used only when the library confirms that this CPU has every
 * extension it was built for (`-march=native` on the build machine). Whether it is current with its
 * source is the build's business (`npm run build` rebuilds it when the source changed; a test
 * compares the sha256 the library carries with the source). No file is read here: koffi loads the
 * library, as for OpenBLAS (native-lapack.ts). Selection (`predictSetting()`,
 * ATOMGP_PREDICT_BACKEND): `auto` uses it when it loads, else WebAssembly, silently; `native`
 * requires it (an error naming why not); `wasm` and `ts` never use it.
 */
import { fileURLToPath } from 'node:url';
import { type KoffiLibrary, loadPinnedLibrary, requireKoffi } from '../util/ffi.js';
import type { KernelPredict } from './wasm/predict-kernel.js';

/** The library's function: the WebAssembly kernel's arguments after the memory they refer to. */
type NativePredict = (base: Float64Array, ...args: Parameters<KernelPredict>) => number;

/** Where `npm run build` puts the library, seen from src/math/ and from dist/src/math/. */
export function nativeLibraryCandidates(): string[] {
  return ['../../native/build/libatomgp-predict.so', '../../../native/build/libatomgp-predict.so'].map((r) => fileURLToPath(new URL(r, import.meta.url)));
}

export interface NativePredictLoad {
  predict?: NativePredict;
  reason: string;
  /** Compiler and flags of the build. */
  description?: string;
  /** sha256 of the source the library was built from. */
  sourceSha256?: string;
  /** The file loaded. */
  path?: string;
}

let cached: NativePredictLoad | undefined;

/** The native kernel, or the reason it is not available (the library is loaded on first call). */
export function nativePredictStatus(): { available: boolean; reason: string; description?: string } {
  cached ??= loadNativePredict(nativeLibraryCandidates());
  return { available: cached.predict !== undefined, reason: cached.reason, ...(cached.description ? { description: cached.description } : {}) };
}

/**
 * The kernel from the first of `paths` that loads, or the reason none can be used. Exported for
 * tests; the process uses the package's own (cached).
 */
export function loadNativePredict(paths: readonly string[]): NativePredictLoad {
  const { koffi, reason } = requireKoffi();
  if (!koffi) return { reason: reason! };
  let lib: KoffiLibrary | undefined;
  let path: string | undefined;
  for (const p of paths) {
    try {
      lib = loadPinnedLibrary(koffi, p);
      path = p;
      break;
    } catch {
      // not there (or not loadable): the next candidate
    }
  }
  if (!lib || !path) return { reason: 'not built (npm run build builds it; it needs a C compiler)' };
  try {
    const ok = lib.func('int32_t atomgp_predict_cpu_ok(void)') as () => number;
    const sha = (lib.func('const char *atomgp_predict_source_sha256(void)') as () => string)();
    const build = (lib.func('const char *atomgp_predict_build(void)') as () => string)();
    if (ok() !== 1) return { reason: `${path} was built for instructions this CPU lacks (rebuild: npm run build)`, sourceSha256: sha, path };
    const predict = lib.func(
      'double atomgp_predict(void *base, int32_t pY, int32_t nBlocks, int32_t endY, int32_t endW, int32_t pNorm, int32_t pW, int32_t pV, int32_t pC, int32_t pAcc, double s0, int32_t withGrad)',
    ) as NativePredict;
    return { predict, reason: 'loaded', description: build, sourceSha256: sha, path };
  } catch (e) {
    return { reason: `${path} is not atomgp's prediction kernel (${(e as Error).message.split('\n')[0]}; rebuild: npm run build)`, path };
  }
}

/**
 * The native kernel bound to a memory (the kernel's byte offsets are relative to its start), or
 * undefined when the library is not available. Works on shared memories (any thread).
 */
export function nativeKernelOn(buffer: ArrayBufferLike): KernelPredict | undefined {
  cached ??= loadNativePredict(nativeLibraryCandidates());
  const fn = cached.predict;
  if (!fn) return undefined;
  const base = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
  return (pY, nBlocks, endY, endW, pNorm, pW, pV, pC, pAcc, s0, withGrad) => fn(base, pY, nBlocks, endY, endW, pNorm, pW, pV, pC, pAcc, s0, withGrad);
}
