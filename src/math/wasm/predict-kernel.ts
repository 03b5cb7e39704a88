/**
 * Loader of the WebAssembly SIMD prediction kernel (kernel.wat, assembled into kernel-bytes.ts by
 * scripts/gen-wasm.ts). The module is compiled once per process, on first use; each atomic GP
 * gets its own instance and linear memory, laid out once when the model is loaded.
 *
 * Backend choice: `predictSetting()` (ATOMGP_PREDICT_BACKEND=ts or ATOMGP_NO_WASM=1; see
 * ../backend.ts) or the `backend: 'ts'` option of AtomGp forces the TypeScript path; where
 * WebAssembly SIMD is unavailable the TypeScript path is used silently.
 */
import { AtomgpError } from '../../errors.js';
import { type PredictSetting, predictSetting } from '../backend.js';
import { nativeKernelOn, nativePredictStatus } from '../native-predict.js';
import { KERNEL_SHARED_WASM_BASE64, KERNEL_WASM_BASE64 } from './predict-kernel-bytes.js';

/** Signature of the exported `predict` (see kernel.wat for the meaning of each argument). */
export type KernelPredict = (
  pY: number,
  nBlocks: number,
  endYBytes: number,
  endWBytes: number,
  pNorm: number,
  pW: number,
  pV: number,
  pC: number,
  pAcc: number,
  s0: number,
  withGrad: number,
) => number;

export interface KernelInstance {
  /** The instance's linear memory (never grown after instantiation, so views stay valid). */
  buffer: ArrayBuffer;
  predict: KernelPredict;
  /** Which kernel `predict` is: the native one (../native-predict.ts) or WebAssembly's. */
  kind: 'native' | 'wasm';
}

// The few WebAssembly JS-API members used here (the project compiles without the DOM lib).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum?: number }) => { buffer: ArrayBuffer };
  validate(bytes: Uint8Array): boolean;
}

const PAGE_BYTES = 65536;
const compiled: (object | null | undefined)[] = [undefined, undefined];

function api(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

/**
 * The compiled module, or null when this runtime cannot run it (no WebAssembly or no SIMD).
 * `shared`: the variant importing a shared memory (a team of threads over one memory).
 */
export function kernelModule(shared = false): object | null {
  const key = shared ? 1 : 0;
  if (compiled[key] === undefined) {
    const wa = api();
    try {
      const bytes = Uint8Array.from(Buffer.from(shared ? KERNEL_SHARED_WASM_BASE64 : KERNEL_WASM_BASE64, 'base64'));
      compiled[key] = wa?.validate(bytes) ? new wa.Module(bytes) : null;
    } catch {
      compiled[key] = null;
    }
  }
  return compiled[key] ?? null;
}

/** Prediction backend of the settings (backend.ts): 'ts' forces the TypeScript path. */
export function backendFromEnv(): PredictSetting {
  return predictSetting();
}

/**
 * The native kernel on `buffer` when the settings allow it and it loads; undefined for
 * WebAssembly. With ATOMGP_PREDICT_BACKEND=native an unavailable library is an error saying why.
 */
function nativeChoice(buffer: ArrayBufferLike): KernelPredict | undefined {
  const setting = backendFromEnv();
  if (setting !== 'auto' && setting !== 'native') return undefined;
  const k = nativeKernelOn(buffer);
  if (!k && setting === 'native') throw new AtomgpError(`ATOMGP_PREDICT_BACKEND=native: the native prediction kernel is not available: ${nativePredictStatus().reason}`);
  return k;
}

/** A fresh instance with at least `bytes` of linear memory, or null without WebAssembly SIMD. */
export function instantiateKernel(bytes: number): KernelInstance | null {
  const mod = kernelModule();
  const wa = api();
  if (!mod || !wa) return null;
  const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
  const memory = new wa.Memory({ initial: pages, maximum: pages });
  const native = nativeChoice(memory.buffer);
  if (native) return { buffer: memory.buffer, predict: native, kind: 'native' };
  const inst = new wa.Instance(mod, { env: { memory } });
  return { buffer: memory.buffer, predict: inst.exports.predict as KernelPredict, kind: 'wasm' };
}

/**
 * The kernel's `predict` bound to an existing shared memory (any thread), or null without support:
 * `kind` when given (a team's workers run what its owner chose), else the native kernel where the
 * settings allow it and it loads, else WebAssembly's.
 */
export function kernelOnSharedMemory(memory: { buffer: ArrayBufferLike }, kind?: 'native' | 'wasm'): { predict: KernelPredict; kind: 'native' | 'wasm' } | null {
  const mod = kernelModule(true);
  const wa = api();
  if (!mod || !wa) return null;
  if (kind === 'native') {
    const k = nativeKernelOn(memory.buffer);
    if (!k) throw new AtomgpError(`the native prediction kernel is not available on this thread: ${nativePredictStatus().reason}`);
    return { predict: k, kind };
  }
  const native = kind === 'wasm' ? undefined : nativeChoice(memory.buffer);
  if (native) return { predict: native, kind: 'native' };
  const inst = new wa.Instance(mod, { env: { memory } });
  return { predict: inst.exports.predict as KernelPredict, kind: 'wasm' };
}
