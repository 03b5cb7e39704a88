/**
 * A WebAssembly SIMD kernel for the dense linear algebra of GP training (linalg.ts): the 4 × 2
 * block of dot products Σ_k x_r[k] v_c[k] (four rows against two) that the blocked Cholesky, the
 * triangular inverse and the inverse product spend their time in. f64x2 lanes halve the
 * instruction count and wasm memory accesses carry no bounds checks (docs/benchmarks.md compares
 * it with the JavaScript loop). Results differ from the JavaScript path only by summation
 * order (lane-pairwise), i.e. at the rounding level.
 *
 * The module (≈300 bytes) is assembled here from its opcodes, so there is no build step and no
 * binary file. It works on a caller-provided `WebAssembly.Memory`: matrices that should take the
 * fast path are allocated with `allocateMatrices`, as views into one memory sized up front (a
 * memory that grows would detach the views). Plain Float64Arrays take the JavaScript path.
 * `backendSettings().wasm` (ATOMGP_NO_WASM=1) disables the kernel (for comparisons).
 *
 * With `{ shared: true }` the memory is a shared one (its buffer is a SharedArrayBuffer) so that
 * the worker threads of linalg-team.ts can instantiate the same module on it: each thread has its
 * own 8-double result slot (`out`) at the start of the memory, before the matrices.
 */
import { backendSettings, MAX_THREADS } from './backend.js';

export { MAX_THREADS } from './backend.js';

/** The 4 × 2 dot kernel bound to one memory. */
export interface Dot42Kernel {
  /** Byte offset of element 0 of the arrays' buffer within the wasm memory (always 0 here). */
  run: (p0: number, p1: number, p2: number, p3: number, q0: number, q1: number, pairs: number, out: number) => void;
  /** The eight sums of the last call: s00 s01 s10 s11 s20 s21 s30 s31 (row r, column c). */
  out: Float64Array;
  /** Byte offset of `out` in the memory. */
  outOffset: number;
  /** The memory the kernel is bound to (for handing it to other threads). */
  memory: WasmMemory;
  /** Whether `memory` is shared (a SharedArrayBuffer that worker threads can use). */
  shared: boolean;
  /** row[b] += (c·(xa − col[b]))·(xa − col[b]) for b < 2·pairs (byte offsets): a kernel-matrix row update. */
  sqAccumulate: (row: number, col: number, pairs: number, xa: number, c: number) => void;
  /** Σ_{b < 2·pairs} (w[b]·(xa − col[b]))·(xa − col[b]) (byte offsets): a gradient trace term. */
  weightedSquares: (w: number, col: number, pairs: number, xa: number) => number;
}

/** The part of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const kernels = new WeakMap<ArrayBufferLike, Dot42Kernel>();

function leb(n: number): number[] {
  const o: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
}

const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const name = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/**
 * d(p0, p1, p2, p3, q0, q1, pairs, out): for k < 2·pairs, s_rc = Σ_k P_r[k] Q_c[k] over f64 at
 * byte offsets p_r, q_c; stores s00 s01 s10 s11 s20 s21 s30 s31 as f64 at `out`.
 */
function moduleBytes(shared: boolean): Uint8Array {
  const lg = (i: number) => [0x20, ...leb(i)];
  const ls = (i: number) => [0x21, ...leb(i)];
  const lt = (i: number) => [0x22, ...leb(i)];
  const simd = (op: number) => [0xfd, ...leb(op)];
  const load = [...simd(0), 3, 0]; // v128.load align=8 offset=0
  const add = simd(240); // f64x2.add
  const mul = simd(242); // f64x2.mul
  const lane = (l: number) => [...simd(33), l]; // f64x2.extract_lane
  // params 0-3 p_r, 4-5 q_c, 6 pairs, 7 out; locals 8 k (bytes), 9 end; 10-17 accumulators; 18 v0, 19 v1, 20 x
  const b: number[] = [];
  b.push(...lg(6), 0x41, 4, 0x74, ...ls(9)); // end = pairs << 4
  b.push(0x02, 0x40, 0x03, 0x40); // block loop
  b.push(...lg(8), ...lg(9), 0x4f, 0x0d, 1); // if k >= end break
  b.push(...lg(4), ...lg(8), 0x6a, ...load, ...ls(18));
  b.push(...lg(5), ...lg(8), 0x6a, ...load, ...ls(19));
  for (let r = 0; r < 4; r++) {
    b.push(...lg(r), ...lg(8), 0x6a, ...load, ...lt(20));
    b.push(...lg(18), ...mul, ...lg(10 + 2 * r), ...add, ...ls(10 + 2 * r));
    b.push(...lg(20), ...lg(19), ...mul, ...lg(11 + 2 * r), ...add, ...ls(11 + 2 * r));
  }
  b.push(...lg(8), 0x41, 16, 0x6a, ...ls(8), 0x0c, 0, 0x0b, 0x0b); // k += 16; br loop; end end
  for (let a = 0; a < 8; a++) b.push(...lg(7), ...lg(10 + a), ...lane(0), ...lg(10 + a), ...lane(1), 0xa0, 0x39, 3, ...leb(8 * a));
  b.push(0x0b);
  const body = [...vec([[...leb(2), 0x7f], [...leb(11), 0x7b]]), ...b];

  const store = [...simd(11), 3, 0]; // v128.store align=8 offset=0
  const sub = simd(241); // f64x2.sub
  const splat = simd(20); // f64x2.splat
  // s(row, col, pairs, xa, c): params 0 row, 1 col, 2 pairs, 3 xa, 4 c; locals 5 k, 6 end, 7 vx, 8 vc, 9 d
  const s: number[] = [];
  s.push(...lg(3), ...splat, ...ls(7), ...lg(4), ...splat, ...ls(8));
  s.push(...lg(2), 0x41, 4, 0x74, ...ls(6));
  s.push(0x02, 0x40, 0x03, 0x40, ...lg(5), ...lg(6), 0x4f, 0x0d, 1);
  s.push(...lg(7), ...lg(1), ...lg(5), 0x6a, ...load, ...sub, ...ls(9)); // d = vx − col[k]
  s.push(...lg(0), ...lg(5), 0x6a); // address row + k
  s.push(...lg(0), ...lg(5), 0x6a, ...load, ...lg(8), ...lg(9), ...mul, ...lg(9), ...mul, ...add, ...store);
  s.push(...lg(5), 0x41, 16, 0x6a, ...ls(5), 0x0c, 0, 0x0b, 0x0b, 0x0b);
  const sBody = [...vec([[...leb(2), 0x7f], [...leb(3), 0x7b]]), ...s];
  // w(wp, col, pairs, xa) → f64: params 0 wp, 1 col, 2 pairs, 3 xa; locals 4 k, 5 end, 6 vx, 7 acc, 8 d
  const w: number[] = [];
  w.push(...lg(3), ...splat, ...ls(6));
  w.push(0x44, 0, 0, 0, 0, 0, 0, 0, 0, ...splat, ...ls(7)); // acc = (0, 0)
  w.push(...lg(2), 0x41, 4, 0x74, ...ls(5));
  w.push(0x02, 0x40, 0x03, 0x40, ...lg(4), ...lg(5), 0x4f, 0x0d, 1);
  w.push(...lg(6), ...lg(1), ...lg(4), 0x6a, ...load, ...sub, ...ls(8));
  w.push(...lg(0), ...lg(4), 0x6a, ...load, ...lg(8), ...mul, ...lg(8), ...mul, ...lg(7), ...add, ...ls(7));
  w.push(...lg(4), 0x41, 16, 0x6a, ...ls(4), 0x0c, 0, 0x0b, 0x0b);
  w.push(...lg(7), ...lane(0), ...lg(7), ...lane(1), 0xa0, 0x0b);
  const wBody = [...vec([[...leb(2), 0x7f], [...leb(3), 0x7b]]), ...w];
  const I32 = [0x7f];
  const F64 = [0x7c];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([
      [0x60, ...vec(Array.from({ length: 8 }, () => I32)), 0],
      [0x60, ...vec([I32, I32, I32, F64, F64]), 0],
      [0x60, ...vec([I32, I32, I32, F64]), ...vec([F64])],
    ])),
    // Memory import: limits {min 0} or, shared, {min 0, max MAX_PAGES} (flag 3: shared with max).
    ...section(2, vec([[...name('e'), ...name('m'), 0x02, ...(shared ? [0x03, 0x00, ...leb(MAX_PAGES)] : [0x00, 0x00])]])),
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, vec([[...name('d'), 0x00, 0], [...name('s'), 0x00, 1], [...name('w'), 0x00, 2]])),
    ...section(10, vec([[...leb(body.length), ...body], [...leb(sBody.length), ...sBody], [...leb(wBody.length), ...wBody]])),
  ]);
}

/** Largest memory asked for: 2 GiB (≈ 8000 × 8000 × 4 doubles); beyond that, plain arrays. */
const MAX_PAGES = 32768;
/** Result slots (8 doubles each) at the start of every memory: one per thread of a team (MAX_THREADS). */
const SLOTS_BYTES = MAX_THREADS * 64;

const compiled: Array<WasmModule | null | undefined> = [undefined, undefined];

function wasmModule(shared = false): WasmModule | null {
  const key = shared ? 1 : 0;
  const have = compiled[key];
  if (have !== undefined) return have;
  let mod: WasmModule | null;
  try {
    mod = !backendSettings().wasm || !WA ? null : new WA.Module(moduleBytes(shared));
  } catch {
    mod = null; // no SIMD (or no shared memory) support: the JavaScript path is used
  }
  compiled[key] = mod;
  return mod;
}

/** Instantiates the module on `memory` and registers the kernel of thread `slot` for its buffer. */
function bindKernel(mod: WasmModule, memory: WasmMemory, slot: number, shared: boolean): Dot42Kernel {
  const instance = new WA!.Instance(mod, { e: { m: memory } });
  const outOffset = slot * 64;
  const kernel: Dot42Kernel = {
    run: instance.exports.d as Dot42Kernel['run'],
    out: new Float64Array(memory.buffer, outOffset, 8),
    outOffset,
    sqAccumulate: instance.exports.s as Dot42Kernel['sqAccumulate'],
    weightedSquares: instance.exports.w as Dot42Kernel['weightedSquares'],
    memory,
    shared,
  };
  kernels.set(memory.buffer, kernel);
  return kernel;
}

/**
 * In a worker thread of a team: binds the kernel (with the result slot of thread `slot`) to a
 * shared memory received from the thread that allocated it, and returns the memory's buffer.
 */
export function attachSharedMemory(memory: WasmMemory, slot: number): ArrayBufferLike {
  const mod = wasmModule(true);
  if (!mod) throw new Error('linalg-wasm: a shared memory was handed to a thread without wasm SIMD');
  if (!(slot >= 0 && slot < MAX_THREADS)) throw new Error(`linalg-wasm: no result slot ${slot}`);
  return bindKernel(mod, memory, slot, true).memory.buffer;
}

/** Whether the SIMD kernel is available (and not disabled). */
export function wasmAvailable(): boolean {
  return wasmModule() !== null;
}

/** Whether shared wasm memories (for multi-threaded linear algebra) are available. */
export function sharedWasmAvailable(): boolean {
  return wasmModule(true) !== null;
}

/**
 * `count` Float64Arrays of the given lengths, as views into one wasm memory with the SIMD kernel
 * bound to it (plain Float64Arrays when wasm SIMD is unavailable). Views stay valid for the life
 * of the arrays: the memory never grows. `shared`: a shared memory that linalg-team.ts can hand
 * to its worker threads (falls back to an unshared one, then to plain arrays).
 */
export function allocateMatrices(lengths: number[], opts: { shared?: boolean } = {}): Float64Array[] {
  const total = lengths.reduce((s, l) => s + l, 0);
  const bytes = SLOTS_BYTES + total * 8;
  const plain = () => lengths.map((l) => new Float64Array(l));
  if (bytes > MAX_PAGES * 65536) return plain();
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  let kernel: Dot42Kernel | undefined;
  for (const shared of opts.shared ? [true, false] : [false]) {
    const mod = wasmModule(shared);
    if (!mod) continue;
    try {
      const memory = new WA!.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages, maximum: pages });
      kernel = bindKernel(mod, memory, 0, shared);
      break;
    } catch {
      // out of memory or no shared memories: try the next option
    }
  }
  if (!kernel) return plain();
  const buffer = kernel.memory.buffer;
  const views: Float64Array[] = [];
  let offset = SLOTS_BYTES;
  for (const l of lengths) {
    views.push(new Float64Array(buffer, offset, l));
    offset += l * 8;
  }
  return views;
}

/** The kernel for an array allocated by `allocateMatrices`, if every array given shares its memory. */
export function kernelFor(...arrays: Float64Array[]): Dot42Kernel | undefined {
  const k = kernels.get(arrays[0]!.buffer);
  if (!k) return undefined;
  for (const a of arrays) if (a.buffer !== arrays[0]!.buffer) return undefined;
  return k;
}
